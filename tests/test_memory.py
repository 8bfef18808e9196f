"""The memory budget of a job: machine, cgroup (v1 and v2) and Slurm allocation, the smallest wins."""

from pathlib import Path

import pytest

from mblnn import memory
from mblnn.errors import MemoryBudgetError
from mblnn.solve.dense import check_dense_fits

GiB = 2**30


def fake_cgroup(tmp_path: Path, version: int, limit: str, usage: int) -> tuple[Path, Path]:
    proc = tmp_path / "cgroup"
    if version == 2:
        proc.write_text("0::/slurm/job_7/step_0\n")
        folder = tmp_path / "fs/slurm/job_7/step_0"
        files = ("memory.max", "memory.current")
    else:
        proc.write_text("5:cpuset:/slurm\n4:memory:/slurm/uid_0/job_7\n0::/\n")
        folder = tmp_path / "fs/memory/slurm/uid_0/job_7"
        files = ("memory.limit_in_bytes", "memory.usage_in_bytes")
    folder.mkdir(parents=True)
    (folder / files[0]).write_text(limit + "\n")
    (folder / files[1]).write_text(f"{usage}\n")
    return proc, tmp_path / "fs"


@pytest.mark.parametrize("version", [1, 2])
def test_cgroup_limit_minus_usage(tmp_path, version):
    proc, root = fake_cgroup(tmp_path, version, str(8 * GiB), 3 * GiB)
    assert memory.cgroup_free_bytes(proc, root) == 5 * GiB


@pytest.mark.parametrize("version, unlimited", [(2, "max"), (1, str(2**63 - 4096))])
def test_cgroup_without_a_limit_is_no_bound(tmp_path, version, unlimited):
    proc, root = fake_cgroup(tmp_path, version, unlimited, GiB)
    assert memory.cgroup_free_bytes(proc, root) is None
    assert memory.cgroup_free_bytes(tmp_path / "absent", root) is None


def test_slurm_allocation_per_node_and_per_cpu():
    assert memory.slurm_allocation_bytes({"SLURM_MEM_PER_NODE": "4000"}) == 4000 * 2**20
    assert memory.slurm_allocation_bytes({"SLURM_MEM_PER_CPU": "1500", "SLURM_CPUS_ON_NODE": "4"}) == 6000 * 2**20
    assert memory.slurm_allocation_bytes({}) is None


SCONTROL = ("JobId=7 JobName=x UserId=root(0) JobState=RUNNING NumNodes=1 NumCPUs=2 NumTasks=2 CPUs/Task=1 "
            "ReqTRES=cpu=2,mem=1500M,node=1,billing=2 TRES=cpu=2,mem=1500M,node=1,billing=2 MinMemoryNode=1500M")


def test_slurm_allocation_from_scontrol_when_the_job_step_stripped_the_environment():
    """Snakemake's job step keeps only SLURM_JOB_ID and the like: the allocation then comes from scontrol."""
    asked = []
    found = memory.slurm_allocation_bytes({"SLURM_JOB_ID": "7"}, ask_slurm=lambda job: asked.append(job) or 5)
    assert found == 5 and asked == ["7"]
    assert memory.parse_job_memory(SCONTROL) == 1500 * 2**20
    assert memory.parse_job_memory(SCONTROL.replace("mem=1500M", "mem=2G")) == 2 * 2**30
    assert memory.parse_job_memory("JobId=7 TRES=cpu=2,node=1") is None


def test_the_smallest_bound_is_the_budget_and_the_log_names_it(monkeypatch):
    monkeypatch.setattr(memory, "_meminfo_available", lambda: 200 * GiB)  # a large node
    monkeypatch.setattr(memory, "cgroup_free_bytes", lambda: None)
    monkeypatch.setattr(memory, "_resident_bytes", lambda: GiB // 2)
    slurm = {"SLURM_MEM_PER_NODE": str(4 * 1024)}
    assert memory.available_memory_bytes(slurm) == 4 * GiB - GiB // 2
    assert memory.describe_memory_budget(slurm) == "3.5 GiB (slurm; machine 200.0 GiB)"
    assert memory.available_memory_bytes({}) == 200 * GiB
    monkeypatch.setattr(memory, "cgroup_free_bytes", lambda: 2 * GiB)
    assert memory.available_memory_bytes(slurm) == 2 * GiB
    assert memory.describe_memory_budget(slurm).startswith("2.0 GiB (cgroup; machine 200.0 GiB, slurm 3.5 GiB)")


def test_a_dense_solve_beyond_the_slurm_allocation_fails_before_any_work(monkeypatch):
    monkeypatch.setattr(memory, "_resident_bytes", lambda: 200 * 2**20)  # not the test process's (TensorFlow loaded)
    monkeypatch.setenv("SLURM_MEM_PER_NODE", "1000")  # 1000 MB: N = 16's 5.3 GB does not fit
    with pytest.raises(MemoryBudgetError, match="memory budget is"):
        check_dense_fits(12870)
    check_dense_fits(924)  # N = 12: 27 MB
