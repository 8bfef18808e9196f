"""ELPA's full diagonalization (``dense.driver`` / ``dense.mpi_driver`` elpa_1stage, elpa_2stage) against LAPACK's
dsyevd: eigenvalues to 1e-10, entanglement entropies and Schmidt gaps to 1e-8, on one process and on 2 MPI ranks."""

import ctypes.util
import json
import os
import subprocess

import numpy as np
import pytest

from mblnn.errors import InputError
from mblnn.solve import elpa
from mblnn.solve.dense import diagonalize_dense
from mblnn.store.samples import read_sample
from test_mpi import MBLNN, spectrum

pytestmark = pytest.mark.skipif(
    not (os.environ.get(elpa.LIBRARY_VARIABLE) or ctypes.util.find_library("elpa")),
    reason="libelpa missing: `apt-get install libelpa-dev` (make test installs it)")


@pytest.mark.parametrize("dim, size", [(924, 1), (924, 2), (3432, 3), (70, 4), (64, 2)])
def test_the_block_cyclic_columns_cover_the_matrix_once(dim, size):
    owned = [elpa.owned_columns(dim, rank, size) for rank in range(size)]
    assert np.array_equal(np.sort(np.concatenate(owned)), np.arange(dim))
    for rank, columns in enumerate(owned):
        assert np.all(np.diff(columns) > 0) and np.all((columns // elpa.BLOCK) % size == rank)


def solve(out, N: int, ranks: int, solver: str, dense: dict, model: dict | None = None):
    """`mblnn spectrum` of one sample, under mpirun with ``ranks`` ranks or (0) as a plain process — never in this
    process: MPI initialized here would leak its environment into the mpirun of later tests."""
    args = ["--N", str(N), "--hbar", "2.5", "--realization", "1", "--cuts", f"{N // 2 - 1},{N // 2}", "--solver", solver,
            "--config", json.dumps({"dense": dense, **({"model": model} if model else {})})]
    done = (spectrum(ranks, out, *args) if ranks else
            subprocess.run([MBLNN, "spectrum", "--out", str(out), *args], capture_output=True, text=True, timeout=600))
    assert done.returncode == 0, done.stderr
    return read_sample(out)


def assert_same_sample(reference, sample, N):
    """Energies to 1e-10; entropies, Schmidt gaps and Tr ρ_A of both cuts to 1e-8."""
    np.testing.assert_allclose(sample.energies, reference.energies, atol=1e-10, rtol=0)
    for N_A in (N // 2 - 1, N // 2):
        for name in ("entropy", "schmidt_gap", "trace"):
            np.testing.assert_allclose(getattr(sample.cuts[N_A], name), getattr(reference.cuts[N_A], name), atol=1e-8)


@pytest.mark.parametrize("N", [12, pytest.param(14, marks=pytest.mark.slow)])
@pytest.mark.parametrize("driver", ["elpa_1stage", "elpa_2stage"])
def test_elpa_on_one_process_gives_the_spectrum_of_dsyevd(tmp_path, N, driver):
    """`--solver dense` with ELPA against dsyevd: the random-field chain and, at N = 12, an XXZ chain with J2 on a
    ring (the solver must not care)."""
    for k, model in enumerate([None] + ([{"delta": 0.6, "J2": 0.3, "boundary": "periodic"}] if N == 12 else [])):
        reference = solve(tmp_path / f"evd{k}.zarr", N, 0, "dense", {"driver": "evd"}, model)
        sample = solve(tmp_path / f"elpa{k}.zarr", N, 0, "dense", {"driver": driver}, model)
        assert_same_sample(reference, sample, N)
        assert sample.solver["driver"] == driver


@pytest.mark.parametrize("N", [12, pytest.param(14, marks=pytest.mark.slow)])
@pytest.mark.parametrize("driver", ["elpa_1stage", "elpa_2stage"])
def test_dense_mpi_by_elpa_gives_the_spectrum_of_dsyevd_on_one_and_two_ranks(tmp_path, N, driver):
    """`--solver dense_mpi` with ELPA on 1 and 2 ranks against `--solver dense` (dsyevd), the driver recorded."""
    reference = solve(tmp_path / "evd.zarr", N, 0, "dense", {"driver": "evd"})
    for ranks in (1, 2):
        sample = solve(tmp_path / f"elpa{ranks}.zarr", N, ranks, "dense_mpi", {"mpi_driver": driver})
        assert_same_sample(reference, sample, N)
        assert sample.solver["driver"] == driver and sample.diagnostics["ranks"] == ranks


def test_a_missing_elpa_library_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(elpa.LIBRARY_VARIABLE, "/nonexistent/libelpa.so")
    elpa.library.cache_clear()
    try:
        with pytest.raises(InputError, match=f"could not load ELPA from '/nonexistent/libelpa.so' .{elpa.LIBRARY_VARIABLE}"):
            diagonalize_dense(np.eye(4), driver="elpa_1stage")
    finally:
        elpa.library.cache_clear()
