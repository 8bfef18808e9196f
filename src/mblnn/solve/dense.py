"""Full diagonalization of a sector Hamiltonian with LAPACK (scipy), on one process.

Driver choice (measured with ``bench/ed.py --drivers`` on 2 cores, OpenBLAS, see README):
``evd`` (divide and conquer, ``dsyevd``) is the default. For all eigenvectors it beats ``evr``
(MRRR, ``dsyevr``) and ``ev`` (QR, ``dsyev``) at every size we measured; its price is a
workspace of about 2 n² doubles on top of the matrix and the eigenvectors, which the memory check
below accounts for. ``evr`` remains selectable where memory is tighter than time. ``elpa_1stage`` and
``elpa_2stage`` hand the matrix to ELPA (:mod:`mblnn.solve.elpa`) on this one process instead; with Debian's ELPA they
are slower here (docs/solvers.md, "ELPA") and are meant for a site's ELPA built with SIMD kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from mblnn.errors import InputError, MemoryBudgetError
from mblnn.memory import available_memory_bytes
from mblnn.solve.cost import MATRICES_AT_PEAK, dense_memory_bytes
from mblnn.solve.elpa import STAGES as ELPA_STAGES, eigh as elpa_eigh
from mblnn.units import format_bytes

DEFAULT_DRIVER = "evd"

_MATRICES_AT_PEAK = MATRICES_AT_PEAK


def check_dense_fits(dim: int, driver: str = DEFAULT_DRIVER, max_memory: int | None = None) -> None:
    """Raise :class:`MemoryBudgetError` before any work if the dense solve would not fit.

    ``max_memory`` in bytes; ``None`` means what this process may use (:func:`mblnn.memory.available_memory_bytes`:
    the machine's free memory, the cgroup's limit, the Slurm allocation).
    """
    if driver not in _MATRICES_AT_PEAK:
        raise InputError(f"driver must be one of {sorted(_MATRICES_AT_PEAK)}, got driver={driver!r}")
    budget = available_memory_bytes() if max_memory is None else int(max_memory)
    need = dense_memory_bytes(dim, driver)
    if need > budget:
        raise MemoryBudgetError(
            f"dense diagonalization of a {dim}-dimensional sector needs about {format_bytes(need)} "
            f"(driver {driver!r}) but the memory budget is {format_bytes(budget)}; use the "
            f"shift-invert solver (solver: shift_invert) for eigenpairs at target energy densities, "
            f"or the distributed full diagonalization (solver: dense_mpi)"
        )


def energy_density(energies: np.ndarray, e_min: float | None = None, e_max: float | None = None) -> np.ndarray:
    """ε = (E - E_min) / (E_max - E_min), dimensionless in [0, 1].

    ``e_min``/``e_max`` default to the extremes of ``energies`` (the full spectrum of the sector);
    pass them explicitly when ``energies`` is only a window of the spectrum.
    """
    e_min = float(np.min(energies)) if e_min is None else float(e_min)
    e_max = float(np.max(energies)) if e_max is None else float(e_max)
    width = e_max - e_min
    if width <= 0:
        return np.zeros_like(energies, dtype=np.float64)
    return (np.asarray(energies, dtype=np.float64) - e_min) / width


@dataclass(frozen=True)
class DenseSpectrum:
    """All eigenpairs of a sector Hamiltonian.

    Attributes
    ----------
    energies:
        Eigenvalues in units of J, ascending, shape ``(dim,)``.
    vectors:
        Orthonormal eigenvectors as columns, shape ``(dim, dim)`` (Fortran order: column
        ``n`` belongs to ``energies[n]``), in the basis order of :class:`mblnn.model.basis.SectorBasis`.
    energy_density:
        ε of every eigenvalue, shape ``(dim,)``.
    driver:
        The LAPACK driver (or ELPA solver) that produced them.
    """

    energies: np.ndarray
    vectors: np.ndarray
    energy_density: np.ndarray
    driver: str


def diagonalize_dense(
    hamiltonian: sp.spmatrix | np.ndarray,
    driver: str = DEFAULT_DRIVER,
    max_memory: int | None = None,
) -> DenseSpectrum:
    """Full spectrum and eigenvectors of a real symmetric sector Hamiltonian with LAPACK (or ELPA: ``driver``
    ``elpa_1stage``/``elpa_2stage``).

    The memory check runs before the dense matrix is formed. The dense copy is handed to LAPACK
    with ``overwrite_a`` so no second copy of the matrix is made.
    """
    dim = hamiltonian.shape[0]
    check_dense_fits(dim, driver, max_memory)
    # Fortran order is what LAPACK takes: no hidden transposing copy inside the call
    dense = hamiltonian.toarray(order="F") if sp.issparse(hamiltonian) else np.array(hamiltonian, dtype=np.float64, order="F")
    if driver in ELPA_STAGES:
        energies, vectors = elpa_eigh(dense, dim, stage=ELPA_STAGES[driver])
    else:
        energies, vectors = scipy.linalg.eigh(dense, overwrite_a=True, check_finite=False, driver=driver)
    return DenseSpectrum(
        energies=energies, vectors=vectors, energy_density=energy_density(energies), driver=driver
    )
