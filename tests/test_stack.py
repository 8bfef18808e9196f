"""Which software a campaign needs, and the one line it gets where the MPI stack is missing (the stack is made
unimportable by a package of the same name first on PYTHONPATH that raises ImportError, as on a machine where only
`make setup` ran)."""

import subprocess
import sys
from pathlib import Path

import pytest

from mblnn.config import load_config, validate_config
from mblnn.config import mpi_sizes
from mblnn.stack import MPI_PACKAGES

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture
def without_mpi_stack(tmp_path):
    """An environment in which petsc4py, slepc4py and mpi4py do not import."""
    blocked = tmp_path / "blocked"
    for name in MPI_PACKAGES:
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed (test)')\n")
    import os

    return {**os.environ, "PYTHONPATH": f"{blocked}{os.pathsep}{REPO / 'src'}", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def test_which_campaigns_need_the_mpi_stack():
    assert mpi_sizes(load_config(), 24 * 2**30) == []  # the default campaign: dense LAPACK only
    assert mpi_sizes(load_config(REPO / "config/mobility_edge_local.yaml"), 24 * 2**30) == [12, 14, 16]
    assert mpi_sizes(load_config(REPO / "config/single_realization_n18.yaml"), 24 * 2**30) == [18]
    auto = validate_config({"sizes": [12, 18], "hbar": [0.25, 3.0, 12.0], "solver": {"default": "auto"}})
    assert mpi_sizes(auto, 200 * 2**30) == [] and mpi_sizes(auto, 24 * 2**30) == [18]  # dense N = 18: ~76 GB


def test_commands_without_mpi_import_nothing_of_it_and_mpi_solvers_say_how_to_install_it(tmp_path, without_mpi_stack):
    script = ("import sys; from mblnn.cli import main; code = main(sys.argv[1:]); "
              "print('imported:', sorted(set(sys.modules) & {'petsc4py', 'slepc4py', 'mpi4py'})); sys.exit(code)")
    dense = subprocess.run([sys.executable, "-c", script, "spectrum", "--N", "8", "--hbar", "3", "--cuts", "4",
                            "--out", str(tmp_path / "dense.zarr")], capture_output=True, text=True, env=without_mpi_stack)
    assert dense.returncode == 0 and "imported: []" in dense.stdout, dense.stderr
    stack = subprocess.run([str(BIN / "mblnn"), "check-config", "--stack"], capture_output=True, text=True, env=without_mpi_stack)
    assert stack.stdout == "python\n"
    interior = subprocess.run([str(BIN / "mblnn"), "spectrum", "--N", "8", "--hbar", "3", "--cuts", "4", "--solver",
                               "shift_invert", "--config", '{"shift_invert": {"targets": [0.5], "nev": 10}}',
                               "--out", str(tmp_path / "si.zarr")], capture_output=True, text=True, env=without_mpi_stack)
    assert interior.returncode == 2 and "Traceback" not in interior.stderr
    assert "needs the MPI stack, and petsc4py, slepc4py, mpi4py are not installed: install it with `make setup-mpi`" \
        in interior.stderr and "about 16-20 minutes" in interior.stderr
    assert not (tmp_path / "si.zarr").exists() and not list(tmp_path.glob(".si.zarr*"))


@pytest.mark.workflow
def test_a_campaign_under_mpi_without_the_stack_stops_before_any_job_but_plans(tmp_path, without_mpi_stack):
    """Snakemake on a shift-invert campaign where only the Python stack is installed: the dry-run plans it (a cluster
    plan needs no MPI here); the run stops before its first job with the one line naming `make setup-mpi`."""
    import yaml

    config = tmp_path / "campaign.yaml"
    config.write_text(yaml.safe_dump({"sizes": [8], "hbar": [0.25, 3.0, 12.0], "solver": {"default": "shift_invert"},
                                      "shift_invert": {"targets": [0.5], "nev": 10}, "dreaming": {"targets": []}}))
    command = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(tmp_path / "run"), "--configfile",
               str(config), "--cores", "2"]
    plan = subprocess.run([*command, "-n"], capture_output=True, text=True, env=without_mpi_stack)
    assert plan.returncode == 0 and "diagonalize_mpi_N8" in plan.stdout, plan.stderr
    run = subprocess.run(command, capture_output=True, text=True, env=without_mpi_stack)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "mblnn: this campaign (the samples of N = 8) needs the MPI stack" in run.stderr
    assert "install it with `make setup-mpi`" in run.stderr
    assert not (tmp_path / "run/results/samples").exists()
