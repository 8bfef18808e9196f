"""profiles/slurm against a real single-node Slurm cluster (started by tests/slurm/start-cluster.sh).

Needs root on Debian (the script installs slurmctld, slurmd, munge, slurmdbd and MariaDB with apt-get); elsewhere
the tests are skipped with the reason. The cluster keeps accounting in slurmdbd, as a real site does (sacct works;
MBLNN_SLURM_ACCOUNTING=0 starts it without); the executor plugin checks job states with squeue, as profiles/slurm
sets.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mblnn.store.samples import read_sample, verify

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "OMPI_ALLOW_RUN_AS_ROOT": "1",
       "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"}
# What a user overrides for a site (the partition), plus a short first status check and kept logs for the
# assertions. Job states come from squeue, as profiles/slurm sets (with sacct plugin 2.8.0 hangs on a user's
# scancel: test_a_cancelled_job_is_not_retried found it).
SITE = ["--default-resources", "slurm_partition=debug",
        "--slurm-init-seconds-before-status-checks", "5", "--slurm-keep-successful-logs", "--cores", "2"]
TINY = {"sizes": [8, 10], "hbar": [0.25, 3.0, 12.0], "realizations": 2, "seed": 11,
        "solver": {"by_size": {10: "shift_invert"}, "mpi_ranks": 2},
        "shift_invert": {"targets": [0.3, 0.7], "nev": 12},
        # tiny networks on 96 windowed TD spectra at N = 10: one misclassified test spectrum is eta = 0.979
        "training": {"members": 3, "n_hidden": 64, "steps": 300, "optimizer": "adam", "learning_rate": 3e-3, "threads": 1,
                     "min_accuracy": 0.9},
        "dreaming": {"targets": []}, "analysis": {"eps_bins": 4}}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("a Slurm test cluster needs root (apt-get, daemons)")
    state = tmp_path_factory.mktemp("slurm")
    started = subprocess.run([str(REPO / "tests/slurm/start-cluster.sh"), str(state)], capture_output=True, text=True)
    if started.returncode == 77:
        pytest.skip(f"no Slurm test cluster here: {started.stderr.strip()}")
    assert started.returncode == 0, started.stdout + started.stderr
    os.environ["SLURM_CONF"] = ENV["SLURM_CONF"] = str(state / "slurm.conf")
    yield state
    subprocess.run(["scancel", "--user", "root"], capture_output=True)
    os.environ.pop("SLURM_CONF", None)
    subprocess.run([str(REPO / "tests/slurm/stop-cluster.sh"), str(state)], capture_output=True)


def snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    (workdir / "campaign.yaml").write_text(yaml.safe_dump(config))
    return subprocess.run([str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(workdir),
                           "--configfile", str(workdir / "campaign.yaml"), *args],
                          capture_output=True, text=True, env=ENV, timeout=1800)


def test_tiny_campaign_on_slurm_matches_the_local_run(cluster, tmp_path):
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    on_slurm.mkdir(), local.mkdir()
    # the cluster run writes every store as one zip archive (storage.layout: archive), the local run directories:
    # the tables below must not tell them apart
    done = snakemake(on_slurm, {**TINY, "storage": {"layout": "archive"}}, "--profile", str(REPO / "profiles/slurm"), *SITE)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    output = done.stdout + done.stderr
    # few submissions: the six N = 8 samples as one job array, the tables as arrays of those ready together, one
    # job per MPI sample and ensemble; figures and the report run where Snakemake runs (localrules)
    submissions = output.count("has been submitted with SLURM jobid") + output.count("Submitted array job with")
    arrays = re.findall(r"Submitted array job with Snakemake IDs ([\d,]+)", output)
    assert any(len(ids.split(",")) == 6 for ids in arrays), arrays
    jobs = int(re.search(r"^total\s+(\d+)", output, re.M)[1])
    local_jobs = output.count("localrule ")
    assert submissions <= jobs - local_jobs - 5 - 1, (submissions, jobs, local_jobs)
    print(f"tiny campaign: {jobs} jobs, {local_jobs} local, {submissions} sbatch submissions ({len(arrays)} arrays)")
    assert snakemake(local, TINY, "--profile", str(REPO / "profiles/local")).returncode == 0

    # the MPI samples ran as 2 ranks launched by srun inside a 2-task allocation
    sample = read_sample(on_slurm / "results/samples/N10/hbar3.0/r0.zarr.zip")
    assert sample.solver["name"] == "shift_invert" and sample.diagnostics["ranks"] == 2
    assert len(list((on_slurm / ".snakemake/slurm_logs/rule_diagonalize_mpi_N10").glob("*/*.log"))) == 6, "one job each"
    # the environment route: every job ran the .venv of `make setup` on the file system the nodes share
    slurm_output = next((on_slurm / ".snakemake/slurm_logs/rule_train").glob("**/*.log")).read_text()
    assert f"Command: {BIN.parent}/lib/" in slurm_output or str(BIN.parent) in slurm_output, slurm_output[:2000]
    job_log = (on_slurm / "results/logs/diagonalize/N10/hbar3.0/r0.log").read_text()
    assert "on 2 MPI ranks (srun, Slurm job" in job_log, job_log
    assert re.search(r"memory budget at the start: [\d.]+ GiB \(slurm", job_log), "the budget is the allocation: " + job_log
    # the N = 8 samples went to Slurm as one job array: one log per task
    assert len(list((on_slurm / ".snakemake/slurm_logs/rule_diagonalize_N8").glob("**/*.log"))) == 6

    # one file per store (12 samples and the classification stores), none a directory, every one verified
    stores = [p for p in (on_slurm / "results").rglob("*") if ".zarr" in p.name]
    assert stores and all(p.is_file() and p.name.endswith(".zarr.zip") for p in stores), stores
    assert len([p for p in stores if "samples" in p.parts]) == 12
    assert [v.status for v in verify([on_slurm / "results"])] == ["ok"] * len(stores)

    def table(root, name):
        return pd.read_csv(root / "results/tables" / name)
    pd.testing.assert_frame_equal(table(on_slurm, "level_statistics.csv"), table(local, "level_statistics.csv"), rtol=1e-9)
    # dense samples (N = 8) are bit-identical, so is everything computed from them; shift-invert
    # eigenvectors differ at the 1e-15 level between launchers, which moves the smallest resolved
    # Schmidt values (xi ~ 30) and hence the confidences slightly
    slurm_phase, local_phase = table(on_slurm, "phase_diagram.csv"), table(local, "phase_diagram.csv")
    dense = slurm_phase["N"] == 8
    pd.testing.assert_frame_equal(slurm_phase[dense], local_phase[dense], check_exact=True)
    pd.testing.assert_frame_equal(slurm_phase[~dense], local_phase[~dense], check_exact=False, atol=1e-2)


def retried_sample(workdir: Path, N: int, request: dict, retries: int) -> tuple[str, list[int], list[int]]:
    """One sample of N through profiles/slurm with a first request ``request`` for its rule: Snakemake's output
    and the runtime and mem_mb of every attempt."""
    config = {"sizes": [N], "hbar": [0.25, 3.0, 12.0], "realizations": 1, "seed": 3,
              "resources": {"requests": {f"diagonalize_N{N}": request}}}
    done = snakemake(workdir, config, "--profile", str(REPO / "profiles/slurm"), *SITE, "--retries", str(retries),
                     f"results/samples/N{N}/hbar3.0/r0.zarr")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return (output, [int(m) for m in re.findall(r"resources: .*?runtime=(\d+)", output)],
            [int(m) for m in re.findall(r"resources: .*?mem_mb=(\d+)", output)])


def test_a_time_limit_kill_is_retried_with_more_time_and_completes(cluster, tmp_path):
    """N = 16 (about 3 minutes) with a first request of 1 minute: Slurm kills it at its limit, the retry reads the
    cause from the job's Slurm output and asks for twice the time (memory unchanged) until it fits; no half-written
    store is left on the way."""
    target = "results/samples/N16/hbar3.0/r0.zarr"
    output, runtimes, memory = retried_sample(tmp_path, 16, {"runtime": 1}, retries=4)
    assert "SLURM status is: 'TIMEOUT'" in output, output[-4000:]
    assert runtimes[:2] == [1, 2], runtimes
    assert len(set(memory)) == 1, f"a time-limit kill asks for more time, not more memory: {memory}"
    assert read_sample(tmp_path / target).energies.size == 12870
    assert not list((tmp_path / target).parent.glob(".*partial*"))
    if (cluster / "accounting").read_text().strip() == "slurmdbd":  # as on a site: sacct knows every attempt
        states = subprocess.run(["sacct", "-n", "-X", "-o", "State%20", "-S", "now-2hours"], capture_output=True,
                                text=True, env=ENV).stdout.split()
        assert "TIMEOUT" in states and "COMPLETED" in states, states


def test_an_allocation_too_small_is_retried_with_more_memory_and_completes(cluster, tmp_path):
    """N = 14 dense (about 0.4 GB modelled) with a first request of 100 MB: the job reads its allocation
    (from scontrol: Snakemake's job step strips SLURM_MEM_PER_NODE), stops before any work instead of waiting for the OOM killer (this test cluster does not
    enforce memory), and each retry asks for twice the memory, time unchanged, until it fits."""
    target = "results/samples/N14/hbar3.0/r0.zarr"
    _, runtimes, memory = retried_sample(tmp_path, 14, {"mem_mb": 100}, retries=5)
    assert memory[:2] == [100, 200] and all(b == 2 * a for a, b in zip(memory, memory[1:])), memory
    assert len(set(runtimes)) == 1, "more memory, not more time"
    assert read_sample(tmp_path / target).energies.size == 3432
    log = (tmp_path / "results/logs/diagonalize/N14/hbar3.0/r0.log").read_text()
    assert "memory budget at the start:" in log and "(slurm" in log, log


def test_a_cancelled_job_is_not_retried(cluster, tmp_path):
    """A user's scancel of a running sample: Snakemake's retry ends at once with the reason, before any work."""
    config = {"sizes": [16], "hbar": [0.25, 3.0, 12.0], "realizations": 1, "seed": 3}
    target = "results/samples/N16/hbar3.0/r0.zarr"
    (tmp_path / "campaign.yaml").write_text(yaml.safe_dump(config))
    run = subprocess.Popen([str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--configfile",
                            str(tmp_path / "campaign.yaml"), "--profile", str(REPO / "profiles/slurm"), *SITE, target],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    log = tmp_path / "results/logs/diagonalize/N16/hbar3.0/r0.log"
    deadline, jobs = time.time() + 600, []
    while not jobs and time.time() < deadline:
        time.sleep(2)
        jobs = subprocess.run(["squeue", "--noheader", "--states=RUNNING", "--format=%i"], capture_output=True,
                              text=True).stdout.split()
    assert jobs, "the sample never started"
    time.sleep(10)  # into the diagonalization
    subprocess.run(["scancel", *jobs], check=True)
    output, _ = run.communicate(timeout=900)
    assert run.returncode != 0
    assert "cancelled by a user (scancel): not retried" in log.read_text(), log.read_text() + output[-3000:]
    assert "12870 states" not in log.read_text() and not (tmp_path / target).exists()
