"""The real Snakemake workflow, run in a temporary directory on a tiny campaign."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mblnn.store import read_sample

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TINY = {"sizes": [6, 8], "hbar": [0.5, 6.0], "realizations": 2, "seed": 11}


def snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    path = workdir / "campaign.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"}
    return subprocess.run(
        [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--configfile", str(path),
         "--cores", "2", *args],
        capture_output=True, text=True, env=env,
    )


def planned_jobs(done: subprocess.CompletedProcess) -> dict[str, int]:
    """Jobs per rule from Snakemake's own dry-run 'Job stats' table."""
    table = done.stdout.split("Job stats:")[1].split("Reasons")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M) if m[1] != "total"}


@pytest.mark.slow
def test_campaign_runs_and_reruns_only_what_changed(tmp_path):
    done = snakemake(tmp_path, TINY)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "results/tables/level_statistics.csv")
    assert list(table[["N", "hbar"]].itertuples(index=False, name=None)) == [(6, 0.5), (6, 6.0), (8, 0.5), (8, 6.0)]
    assert (table["n_realizations"] == 2).all() and table["r_mean"].between(0, 1).all()
    assert len(list((tmp_path / "results/samples").glob("N*/hbar*/r*.zarr"))) == 8

    nothing = snakemake(tmp_path, TINY, "-n")
    assert "Nothing to be done" in nothing.stdout + nothing.stderr

    window = snakemake(tmp_path, {**TINY, "level_statistics": {"eps_window": [0.2, 0.8]}}, "-n")
    assert planned_jobs(window) == {"level_statistics": 1, "all": 1}

    more = snakemake(tmp_path, {**TINY, "realizations": 3}, "-n")
    assert planned_jobs(more) == {"diagonalize": 4, "level_statistics": 1, "all": 1}

    driver = snakemake(tmp_path, {**TINY, "dense": {"driver": "evr"}}, "-n")
    assert planned_jobs(driver)["diagonalize"] == 8


@pytest.mark.parametrize("change, key", [
    ({"sizes": [7]}, "sizes[0]"),
    ({"hbar": []}, "hbar"),
    ({"typo_key": 3}, "typo_key"),
    ({"realizations": "many"}, "realizations"),
])
def test_invalid_config_fails_before_any_job(tmp_path, change, key):
    done = snakemake(tmp_path, {**TINY, **change})
    assert done.returncode != 0
    assert key in done.stderr and "config key" in done.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_shift_invert_samples_run_under_mpi_in_the_workflow(tmp_path):
    config = {**TINY, "sizes": [6, 10], "solver": {"by_size": {10: "shift_invert"}, "mpi_ranks": 2},
              "shift_invert": {"targets": [0.3, 0.7], "nev": 12}}
    done = snakemake(tmp_path, config)
    assert done.returncode == 0, done.stderr
    sample = read_sample(tmp_path / "results/samples/N10/hbar6.0/r1.zarr")
    assert sample.solver["name"] == "shift_invert" and sample.diagnostics["ranks"] == 2
    assert list(sample.targets) == [0.3, 0.7] and sample.energies.size == 24
    assert read_sample(tmp_path / "results/samples/N6/hbar6.0/r1.zarr").solver["name"] == "dense"
    table = pd.read_csv(tmp_path / "results/tables/level_statistics.csv")
    assert table.loc[table.N == 10, "r_mean"].between(0, 1).all()

    # shift-invert settings rerun the shift-invert samples only; the rank count reruns nothing
    targets = snakemake(tmp_path, {**config, "shift_invert": {"targets": [0.3, 0.6], "nev": 12}}, "-n")
    assert planned_jobs(targets) == {"diagonalize": 4, "level_statistics": 1, "all": 1}
    ranks = snakemake(tmp_path, {**config, "solver": {**config["solver"], "mpi_ranks": 1}}, "-n")
    assert "Nothing to be done" in ranks.stdout + ranks.stderr
