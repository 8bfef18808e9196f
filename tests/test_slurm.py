"""profiles/slurm against a real single-node Slurm cluster (started by tests/slurm/start-cluster.sh).

Needs root on Debian (the script installs slurmctld, slurmd and munge with apt-get); elsewhere the
tests are skipped with the reason. The cluster has no accounting database, so the executor plugin
polls with squeue, as profiles/slurm documents for such sites.
"""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mblnn.store.samples import read_sample

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "OMPI_ALLOW_RUN_AS_ROOT": "1",
       "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"}
# What a user overrides for a site (partition; no accounting here, hence squeue), plus a short
# first status check and kept logs for the assertions.
SITE = ["--default-resources", "slurm_partition=debug", "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "5", "--slurm-keep-successful-logs", "--cores", "2"]
TINY = {"sizes": [8, 10], "hbar": [0.25, 3.0, 12.0], "realizations": 2, "seed": 11,
        "solver": {"by_size": {10: "shift_invert"}, "mpi_ranks": 2},
        "shift_invert": {"targets": [0.3, 0.7], "nev": 12},
        "batching": {"group_max_N": 8},
        "training": {"members": 3, "n_hidden": 64, "steps": 300, "optimizer": "adam", "learning_rate": 3e-3, "threads": 1},
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
    done = snakemake(on_slurm, TINY, "--profile", str(REPO / "profiles/slurm"), *SITE)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "has been submitted with SLURM jobid" in done.stdout + done.stderr
    assert snakemake(local, TINY, "--profile", str(REPO / "profiles/local")).returncode == 0

    # the MPI samples ran as 2 ranks launched by srun inside a 2-task allocation
    sample = read_sample(on_slurm / "results/samples/N10/hbar3.0/r0.zarr")
    assert sample.solver["name"] == "shift_invert" and sample.diagnostics["ranks"] == 2
    mpi_logs = list((on_slurm / ".snakemake/slurm_logs/rule_diagonalize_mpi").glob("*/*.log"))
    assert len(mpi_logs) == 6
    text = mpi_logs[0].read_text()
    assert "tasks=2" in text and "srun -n 2 mblnn spectrum" in text
    # seconds-long N = 8 samples went to Slurm as one group job
    assert list((on_slurm / ".snakemake/slurm_logs").glob("group_diagonalize-small*"))

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


def test_a_job_over_its_time_limit_fails_cleanly_and_reruns(cluster, tmp_path):
    """N = 16 (about 3 minutes) under a 1-minute limit: Slurm kills it, Snakemake reports the
    failure with the Slurm log, no store survives; the rerun with the derived limit completes."""
    config = {"sizes": [16], "hbar": [0.25, 3.0, 12.0], "realizations": 1, "seed": 3}
    target = "results/samples/N16/hbar3.0/r0.zarr"
    killed = snakemake(tmp_path, config, "--profile", str(REPO / "profiles/slurm"), *SITE,
                       "--set-resources", "diagonalize:runtime=1", "--retries", "0", target)
    output = killed.stdout + killed.stderr
    assert killed.returncode != 0
    assert "Error in rule diagonalize" in output and ".snakemake/slurm_logs/rule_diagonalize" in output
    assert not (tmp_path / target).exists()
    state = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%T"], capture_output=True, text=True).stdout
    assert "TIMEOUT" in state

    rerun = snakemake(tmp_path, config, "--profile", str(REPO / "profiles/slurm"), *SITE, "--rerun-incomplete", target)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert read_sample(tmp_path / target).energies.size == 12870
    assert not list((tmp_path / target).parent.glob(".*partial*"))
