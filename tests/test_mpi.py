"""The SLEPc/ScaLAPACK solvers, run for real under mpirun."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mblnn.store.samples import open_sample_store, read_sample

HERE = Path(__file__).parent
PYTHON = sys.executable
MBLNN = str(Path(sys.executable).with_name("mblnn"))

try:
    import petsc4py  # noqa: F401
    import slepc4py  # noqa: F401
    HAVE_PETSC = True
except ImportError:
    HAVE_PETSC = False

pytestmark = pytest.mark.skipif(
    not (HAVE_PETSC and shutil.which("mpirun")),
    reason="petsc4py/slepc4py or mpirun missing: run `make setup` (builds the PETSc/SLEPc stack)",
)


def mpirun(ranks: int, *command: str, timeout: float = 600) -> subprocess.CompletedProcess:
    launcher = ["mpirun", "-n", str(ranks), "--oversubscribe", "-x", "OPENBLAS_NUM_THREADS=1"]
    if os.geteuid() == 0:
        launcher.insert(1, "--allow-run-as-root")
    return subprocess.run(launcher + list(command), capture_output=True, text=True, timeout=timeout)


def spectrum(ranks: int, out: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return mpirun(ranks, MBLNN, "spectrum", "--out", str(out), *args, timeout=timeout)


def settings(seed=None, **shift_invert) -> list[str]:
    """``--config`` of ``mblnn spectrum``: the campaign seed and shift_invert keys."""
    config = {"shift_invert": shift_invert, **({"seed": seed} if seed is not None else {})}
    return ["--config", json.dumps(config)]


@pytest.mark.slow
def test_shift_invert_and_scalapack_match_dense_lapack():
    """N = 10, 12, 14, targets 0.1/0.5/0.9: eigenvalues (1e-9), eigenvectors up to a phase
    (|overlap| > 1 - 1e-9), bounds, ε, entropies, Schmidt gaps and spectra against dense LAPACK; dense_mpi by
    ScaLAPACK and by ELPA (N ≤ 12)."""
    done = mpirun(2, PYTHON, "-m", "mpi4py", str(HERE / "mpi" / "check_solvers.py"), "10,12,14")
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0, done.stdout + done.stderr
    checks = [line for line in lines if "check" in line]
    assert len([c for c in checks if c["check"] == "window"]) == 9
    assert {c["check"] for c in checks} == {"window", "bounds", "shift_invert", "dense_mpi"}
    assert {c["driver"] for c in checks if c["check"] == "dense_mpi"} == {"scalapack", "elpa_1stage"}
    assert all(c["ok"] for c in checks) and lines[-1] == {"failures": 0}


@pytest.mark.parametrize("solver, N, extra", [
    ("shift_invert", 12, settings(seed=4, targets=[0.2, 0.5, 0.8], nev=30)),
    ("dense_mpi", 10, settings(seed=4)),
    ("filter", 12, settings(seed=4, targets=[0.2, 0.5, 0.8], nev=30)),
])
def test_results_do_not_depend_on_the_number_of_ranks(tmp_path, solver, N, extra):
    common = ["--N", str(N), "--hbar", "3.0", "--cuts", f"{N // 2}", "--solver", solver, *extra]
    one, two = tmp_path / "one.zarr", tmp_path / "two.zarr"
    for ranks, out in ((1, one), (2, two)):
        done = spectrum(ranks, out, *common)
        assert done.returncode == 0, done.stderr
    a, b = read_sample(one), read_sample(two)
    assert a.energies.size == b.energies.size
    np.testing.assert_allclose(a.energies, b.energies, atol=1e-10, rtol=0)
    np.testing.assert_allclose(a.cuts[N // 2].entropy, b.cuts[N // 2].entropy, atol=1e-8)
    assert a.solver == b.solver, "ranks belong to the diagnostics, not to the solver options"
    assert (a.diagnostics["ranks"], b.diagnostics["ranks"]) == (1, 2)
    if solver in ("shift_invert", "filter"):
        # one progress line per target, from rank 0 only
        assert done.stdout.count("  target ") == 3 and "target 3/3, eps=0.8: 30 eigenpairs in" in done.stdout
        assert np.all(a.residuals < 1e-8) and list(a.targets) == [0.2, 0.5, 0.8]
        assert open_sample_store(one).group["window"].shape == (90,)


def test_a_model_beyond_eq_5_agrees_between_dense_and_shift_invert(tmp_path):
    """XXZ with J2 on a periodic chain in quasiperiodic fields, N = 12: SLEPc shift-invert on 2 ranks against dense
    LAPACK on one process, both through `mblnn spectrum`: the same fields, eigenvalues to 1e-9, half-chain entropies
    and Schmidt gaps to 1e-8; both stores record the whole model."""
    model = {"delta": 0.6, "J2": 0.3, "boundary": "periodic", "fields": "quasiperiodic"}
    config = {"seed": 4, "model": model, "shift_invert": {"targets": [0.3, 0.7], "nev": 20}}
    common = ["--N", "12", "--hbar", "3.0", "--cuts", "6", "--config", json.dumps(config)]
    dense, interior = tmp_path / "dense.zarr", tmp_path / "si.zarr"
    for ranks, out, solver in ((1, dense, "dense"), (2, interior, "shift_invert")):
        done = spectrum(ranks, out, *common, "--solver", solver)
        assert done.returncode == 0, done.stderr
    a, b = read_sample(dense), read_sample(interior)
    np.testing.assert_array_equal(a.fields, b.fields)
    index = np.abs(a.energies[:, None] - b.energies[None, :]).argmin(axis=0)
    assert b.energies.size == 40 and np.unique(index).size == 40
    np.testing.assert_allclose(b.energies, a.energies[index], atol=1e-9, rtol=0)
    np.testing.assert_allclose(b.cuts[6].entropy, a.cuts[6].entropy[index], atol=1e-8)
    np.testing.assert_allclose(b.cuts[6].schmidt_gap, a.cuts[6].schmidt_gap[index], atol=1e-8)
    for store in (dense, interior):
        assert open_sample_store(store).attrs["model"] == {**model, "beta": (np.sqrt(5) - 1) / 2}


@pytest.mark.parametrize("args, message", [
    (["--N", "8", *settings(nev=71, targets=[0.5])], "asks for more eigenpairs than the sector holds (dimension 70)"),
    (["--N", "8", *settings(nev=10, targets=[0.5, 1.2])], "config key shift_invert.targets[1]: 1.2 is greater than the maximum of 1"),
    (["--N", "8", *settings(nev=10, targets=[-0.1])], "config key shift_invert.targets[0]: -0.1 is less than the minimum of 0"),
    (["--N", "8", *settings(nev=10, targets=[])], "config key shift_invert.targets"),
])
def test_bad_shift_invert_requests_fail_before_work(tmp_path, args, message):
    out = tmp_path / "x.zarr"
    done = spectrum(2, out, "--hbar", "1.0", "--solver", "shift_invert", *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_overlapping_windows_are_reported_not_doubled(tmp_path):
    out = tmp_path / "overlap.zarr"
    done = spectrum(2, out, "--N", "10", "--hbar", "2.0", "--solver", "shift_invert",
                    *settings(targets=[0.5, 0.52], nev=60))
    assert done.returncode == 0, done.stderr
    assert "duplicates of overlapping windows dropped" in done.stderr
    result = read_sample(out)
    assert result.diagnostics["duplicates_dropped"] > 0
    assert np.unique(result.energies).size == result.energies.size == 120 - result.diagnostics["duplicates_dropped"]


def test_solver_failure_aborts_every_rank(tmp_path):
    """An impossible residual tolerance: the job must fail on all ranks (no hang) and write nothing."""
    out = tmp_path / "fail.zarr"
    done = spectrum(2, out, "--N", "10", "--hbar", "2.0", "--solver", "shift_invert", *settings(targets=[0.5], nev=10, residual_tol=1e-30),
                    timeout=120)
    assert done.returncode != 0 and "residual" in done.stderr
    assert not out.exists()


def test_petsc_options_reach_the_solver(tmp_path):
    out = tmp_path / "lu.zarr"
    done = spectrum(2, out, "--N", "10", "--hbar", "2.0", "--solver", "shift_invert", *settings(targets=[0.5], nev=10, petsc_options={"st_pc_type": "lu", "st_mat_mumps_icntl_7": "2",
                                                                  "st_ksp_view": ""}))
    assert done.returncode == 0, done.stderr
    assert "type: lu" in done.stdout and "mumps" in done.stdout, "the KSP view shows the options took effect"
    options = read_sample(out).solver["petsc_options"]
    assert options["st_pc_type"] == "lu" and options["st_mat_mumps_icntl_7"] == "2"
    assert "not used" not in done.stdout + done.stderr


def test_unused_petsc_option_is_refused(tmp_path):
    out = tmp_path / "typo.zarr"
    done = spectrum(2, out, "--N", "10", "--hbar", "2.0", "--solver", "shift_invert", *settings(targets=[0.5], nev=10, petsc_options={"mat_mumps_icntl_7": "2"}), timeout=120)
    assert done.returncode == 2 and "['mat_mumps_icntl_7'] were not used" in done.stderr, done.stderr
    assert not out.exists()


#: the filter polynomials: FILTLAN (the default, degree constant 1.5; and 2.5, the default before 2026-12-06) and
#: SLEPc's Chebyshev expansion (Jackson damping)
FILTERS = {"filtlan": {"polynomial": "filtlan"}, "filtlan c=2.5": {"polynomial": "filtlan", "degree_constant": 2.5},
           "chebyshev": {"polynomial": "chebyshev", "damping": "jackson"}}


# SLEPc's Chebyshev interval filter finds too few pairs at ε = 0.1 for N = 14 (a SolverError: docs/benchmarks.md)
@pytest.mark.parametrize("N,polynomial", [(12, "filtlan"), (14, "filtlan"), (12, "filtlan c=2.5"), (12, "chebyshev")])
def test_filter_matches_dense_lapack(tmp_path, N, polynomial):
    """The polynomial filter's pairs (each polynomial) are the dense spectrum's nev states nearest each target
    (eigenvalues 1e-10, entropies and Schmidt gaps 1e-8), every residual checked, the filtered vectors counted."""
    config = {"seed": 3, "shift_invert": {"targets": [0.1, 0.5, 0.9], "nev": 40}, "filter": FILTERS[polynomial]}
    out, dense = tmp_path / "filter.zarr", tmp_path / "dense.zarr"
    done = spectrum(2, out, "--N", str(N), "--hbar", "2.5", "--cuts", str(N // 2), "--solver", "filter",
                    "--config", json.dumps(config))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("  target ") == 3
    reference = subprocess.run([MBLNN, "spectrum", "--N", str(N), "--hbar", "2.5", "--cuts", str(N // 2), "--config",
                                json.dumps({"seed": 3}), "--out", str(dense)], capture_output=True, text=True)
    assert reference.returncode == 0, reference.stderr
    a, b = read_sample(out), read_sample(dense)
    assert a.solver["name"] == "filter" and a.energies.size == 120 and np.all(a.residuals < 1e-8)
    assert [w["pairs"] >= 40 and w["filtered_vectors"] >= w["pairs"] for w in a.diagnostics["filter_windows"]] == [True] * 3
    assert a.solver["polynomial"] == FILTERS[polynomial]["polynomial"]
    np.testing.assert_allclose([a.diagnostics["e_min"], a.diagnostics["e_max"]], b.energies[[0, -1]], atol=1e-10)
    index = np.concatenate([np.sort(np.argsort(np.abs(b.energies - (b.energies[0] + t * (b.energies[-1] - b.energies[0]))),
                                               kind="stable")[:40]) for t in (0.1, 0.5, 0.9)])
    np.testing.assert_allclose(a.energies, b.energies[index], atol=1e-10, rtol=0)
    np.testing.assert_allclose(a.cuts[N // 2].entropy, b.cuts[N // 2].entropy[index], atol=1e-8)
    np.testing.assert_allclose(a.cuts[N // 2].schmidt_gap, b.cuts[N // 2].schmidt_gap[index], atol=1e-8)


#: a block low-rank factor far too coarse for N = 16 (dropping precision 1e-3): its residuals are ~1e-3
COARSE_BLR = {"16": {"st_mat_mumps_icntl_35": 1, "st_mat_mumps_cntl_7": 1e-3}}


def test_failed_block_low_rank_target_is_solved_again_exactly(tmp_path):
    """The per-N tuning's approximate factorization misses residual_tol: the target is solved again exactly (and
    the next target too), the result equals the exact solver's, and the store counts the re-solve."""
    outs = {}
    for name, tuning in (("blr", COARSE_BLR), ("exact", {})):
        outs[name] = tmp_path / f"{name}.zarr"
        done = spectrum(2, outs[name], "--N", "16", "--hbar", "3.0", "--cuts", "8", "--solver", "shift_invert",
                        *settings(targets=[0.3, 0.5], nev=20, tuning=tuning))
        assert done.returncode == 0, done.stderr
        if name == "blr":
            assert "block low-rank factorization missed residual_tol" in done.stdout + done.stderr, done.stdout
    blr, exact = read_sample(outs["blr"]), read_sample(outs["exact"])
    assert blr.diagnostics["exact_resolves"] == 1 and "exact_resolves" not in exact.diagnostics
    assert blr.solver["petsc_options"]["st_mat_mumps_icntl_35"] == "1", "the store records the options asked for"
    np.testing.assert_allclose(blr.energies, exact.energies, atol=1e-10, rtol=0)
    np.testing.assert_allclose(blr.cuts[8].entropy, exact.cuts[8].entropy, atol=1e-8)
    assert blr.residuals.max() <= 1e-8


def test_failed_block_low_rank_target_fails_without_exact_resolve(tmp_path):
    out = tmp_path / "blr.zarr"
    done = spectrum(2, out, "--N", "16", "--hbar", "3.0", "--cuts", "8", "--solver", "shift_invert",
                    *settings(targets=[0.5], nev=20, tuning=COARSE_BLR, exact_resolve=False), timeout=120)
    assert done.returncode != 0 and "residual_tol" in done.stderr
    assert not out.exists()


@pytest.mark.slow
def test_filter_matches_shift_invert_at_n16(tmp_path):
    config = {"seed": 5, "shift_invert": {"targets": [0.5], "nev": 30}}
    outs = {}
    for solver in ("filter", "shift_invert"):
        outs[solver] = tmp_path / f"{solver}.zarr"
        done = spectrum(2, outs[solver], "--N", "16", "--hbar", "3.0", "--cuts", "8", "--solver", solver,
                        "--config", json.dumps(config))
        assert done.returncode == 0, done.stderr
    a, b = read_sample(outs["filter"]), read_sample(outs["shift_invert"])
    np.testing.assert_allclose(a.energies, b.energies, atol=1e-10, rtol=0)
    np.testing.assert_allclose(a.cuts[8].entropy, b.cuts[8].entropy, atol=1e-8)
