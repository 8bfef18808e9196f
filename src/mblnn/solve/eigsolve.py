"""One call over every eigensolver: :func:`eigsolve` takes the model (basis, fields, couplings) and the solver settings and
returns one :class:`Spectrum`, whatever the solver (after dynamite's ``H.eigsolve(nev=…, target=…)``).

Solvers: ``dense`` (LAPACK or ELPA, one process, all eigenpairs), ``dense_mpi`` (ScaLAPACK or ELPA under MPI, all
eigenpairs),
``shift_invert`` (SLEPc under MPI, ``nev`` pairs nearest each target energy density), ``filter`` (the same pairs
by SLEPc's polynomial filter, matrix-vector products only). The MPI solvers must be
called on every rank (``mpirun``/``srun``); every PETSc, SLEPc and mpi4py import lives in :mod:`mblnn.solve.mpi` (and
:mod:`mblnn.solve.elpa`).

Eigenvectors stay inside the spectrum: :meth:`Spectrum.entanglement` runs
:func:`mblnn.observables.entanglement.entanglement` on them block by block — on the dense matrix of eigenvectors,
or on full vectors gathered from their distributed rows (each rank a share) — and assembles the result on rank 0.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from mblnn.errors import InputError, MemoryBudgetError
from mblnn.model.basis import SectorBasis
from mblnn.model.hamiltonian import Couplings, hamiltonian
from mblnn.observables.entanglement import CutEntanglement, entanglement
from mblnn.observables.levels import gap_ratio
from mblnn.solve import cost
from mblnn.memory import available_memory_bytes
from mblnn.solve.dense import diagonalize_dense, energy_density
from mblnn.solve.elpa import STAGES as ELPA_STAGES
from mblnn.solve.settings import SOLVERS, SolverSettings

#: Progress of long solves (one line per shift-invert target, on rank 0); `mblnn spectrum` prints it.
logger = logging.getLogger("mblnn.solve")

#: Eigenpairs per block of the distributed full diagonalization (bounds the gathered vectors per rank).
DENSE_MPI_BLOCK = 256


@dataclass
class Spectrum:
    """Eigenpairs of one sample, the same type for every solver.

    ``energies (n,)`` in units of J (ascending; for shift-invert ascending within each window, windows in target
    order), ``energy_density (n,)`` = ε from the spectrum bounds ``e_min``/``e_max``, ``gap_ratio (n,)`` (within
    each window for shift-invert; NaN at the ends), ``residuals``/``targets``/``window`` (shift-invert only,
    else ``None``: ‖Hv − Ev‖ per pair, the target energy densities, the window index of each pair),
    ``diagnostics`` (bounds, ranks, missing and duplicate pairs, largest residual) and ``options`` (the solver's
    name and settings, as recorded in the store). On MPI ranks other than 0 ``is_root`` is false and the
    entanglement comes back as ``None``.
    """

    solver: str
    energies: np.ndarray
    energy_density: np.ndarray
    gap_ratio: np.ndarray
    e_min: float
    e_max: float
    options: dict
    diagnostics: dict = field(default_factory=dict)
    residuals: np.ndarray | None = None
    targets: np.ndarray | None = None
    window: np.ndarray | None = None
    is_root: bool = True
    #: per block of eigenvectors: {N_A: CutEntanglement} on rank 0 (None elsewhere), in energy order
    _blocks: Callable[[Sequence[int], str], Iterator[dict | None]] | None = None
    _close: Callable[[], None] = lambda: None

    def entanglement(self, cuts: Sequence[int], method: str = "svd") -> dict[int, CutEntanglement] | None:
        """Entropy, Schmidt gap, largest-block spectrum and Tr ρ_A of every eigenstate for every cut N_A in ``cuts``
        (:func:`mblnn.observables.entanglement.entanglement`), on rank 0; ``None`` on the other ranks."""
        parts = list(self._blocks(cuts, method))
        if not self.is_root:
            return None
        return {N_A: CutEntanglement(N_A, *(np.concatenate([getattr(p[N_A], name) for p in parts])
                                            for name in ("entropy", "schmidt_gap", "spectrum", "trace")))
                for N_A in cuts}

    def close(self) -> None:
        """Free the solver's matrices and vectors (PETSc objects under MPI)."""
        self._close()

    def __enter__(self) -> "Spectrum":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def eigsolve(basis: SectorBasis, fields: np.ndarray, couplings: Couplings, settings: SolverSettings, *,
             label: str = "") -> Spectrum:
    """The eigenpairs of H(basis, fields, couplings) (:mod:`mblnn.model.hamiltonian`) by ``settings.solver`` (one of :data:`SOLVERS`, ``auto`` resolved by the
    caller, :func:`mblnn.sample.checked_settings`), as a :class:`Spectrum`.

    ``settings.dense.driver``: the LAPACK driver or ELPA solver (dense), ``settings.dense.mpi_driver``: an ELPA solver or
    ScaLAPACK (dense_mpi); ``settings.shift_invert``: the interior solvers' targets
    (validated by the caller, :func:`mblnn.solve.mpi.check_shift_invert_request`), pairs per target, tolerances,
    shift-invert's PETSc options (as given: the caller merges the per-N tuning) and exact re-solve;
    ``settings.filter``: the filter's degree, width factor and PETSc options; ``settings.max_memory`` the budget in
    bytes (``None``: what this process may use), checked before any expensive step; ``label`` names the sample in
    progress lines. Call it on every rank for the MPI solvers.
    """
    solver = settings.solver
    if solver not in SOLVERS:
        raise InputError(f"eigsolve: solver must be one of {SOLVERS}, got {solver!r} (resolve auto first)")
    if solver == "dense":
        return _dense(basis, fields, couplings, settings.dense.driver, settings.max_memory)
    from mblnn.solve import mpi

    comm = mpi.world()
    if solver == "dense_mpi":
        need = cost.dense_mpi_memory_bytes(basis.dim, comm.getSize())
        budget = (available_memory_bytes() // mpi.local_ranks(comm.tompi4py())) if settings.max_memory is None else settings.max_memory
        if need > budget:
            raise MemoryBudgetError(
                f"distributed full diagonalization of {basis.dim} states on {comm.getSize()} ranks needs about "
                f"{need / 2**30:.1f} GiB per rank (budget {budget / 2**30:.1f} GiB): use more ranks or the "
                "shift-invert solver (solver: shift_invert)")
        if settings.dense.mpi_driver in ELPA_STAGES:
            return _dense_mpi_elpa(basis, fields, couplings, settings.dense.mpi_driver)
    H = mpi.DistributedHamiltonian(basis, couplings, comm, dense=(solver == "dense_mpi"))
    try:
        H.set_fields(fields)
        if solver == "dense_mpi":
            return _dense_mpi(H)
        return _interior(H, solver, settings, label)
    except BaseException:
        H.destroy()
        raise


def _dense(basis, fields, couplings, driver, max_memory) -> Spectrum:
    dense = diagonalize_dense(hamiltonian(basis, fields, couplings), driver=driver, max_memory=max_memory)

    def blocks(cuts, method):
        yield entanglement(dense.vectors, basis, cuts, method=method)

    return Spectrum(solver="dense", energies=dense.energies, energy_density=dense.energy_density,
                    gap_ratio=gap_ratio(dense.energies), e_min=float(dense.energies[0]), e_max=float(dense.energies[-1]),
                    options={"name": "dense", "driver": driver}, _blocks=blocks)


def _dense_mpi(H) -> Spectrum:
    from mblnn.solve import mpi

    eps = mpi.scalapack_eigenpairs(H)
    dim = H.basis.dim
    energies = np.array([eps.getEigenvalue(i).real for i in range(dim)])

    def blocks(cuts, method):
        vector = H.matrix.createVecRight()
        try:
            for start in range(0, dim, max(1, min(dim, DENSE_MPI_BLOCK))):
                indices = range(start, min(start + DENSE_MPI_BLOCK, dim))
                local = np.empty((len(indices), H.n_local))
                for row, i in enumerate(indices):
                    eps.getEigenpair(i, vector)
                    local[row] = vector.getArray()
                yield mpi.distributed_entanglement(local, H, cuts, method)
        finally:
            vector.destroy()

    def close():
        eps.destroy()
        H.destroy()

    return _full_spectrum("dense_mpi", energies, {"name": "dense_mpi"}, H.comm.getSize(), H.comm.getRank() == 0,
                          blocks, close)


def _dense_mpi_elpa(basis, fields, couplings, driver: str) -> Spectrum:
    from mblnn.solve import mpi

    comm, energies, vectors, columns = mpi.elpa_eigenpairs(basis, fields, couplings, ELPA_STAGES[driver])

    def blocks(cuts, method):  # every rank holds whole eigenvectors: nothing to gather but the results
        for start in range(0, basis.dim, DENSE_MPI_BLOCK):
            stop = min(start + DENSE_MPI_BLOCK, basis.dim)
            mine = (columns >= start) & (columns < stop)
            yield mpi.entanglement_on_root(vectors[:, mine], columns[mine] - start, stop - start, basis, comm, cuts,
                                           method)

    return _full_spectrum("dense_mpi", energies, {"name": "dense_mpi", "driver": driver}, comm.Get_size(),
                          comm.Get_rank() == 0, blocks)


def _full_spectrum(solver: str, energies, options: dict, ranks: int, is_root: bool, blocks, close=lambda: None):
    """The :class:`Spectrum` of a distributed full diagonalization."""
    return Spectrum(solver=solver, energies=energies, energy_density=energy_density(energies),
                    gap_ratio=gap_ratio(energies), e_min=float(energies[0]), e_max=float(energies[-1]),
                    options=options, diagnostics={"e_min": float(energies[0]), "e_max": float(energies[-1]),
                                                  "ranks": ranks},
                    is_root=is_root, _blocks=blocks, _close=close)


def _interior(H, kind: str, settings: SolverSettings, label: str) -> Spectrum:
    """``nev`` pairs nearest each target energy density (``settings.shift_invert``) by shift-invert or by the
    polynomial filter (``settings.filter``)."""
    from mblnn.solve import mpi

    interior = settings.shift_invert
    targets, nev, tol, residual_tol = interior.targets, interior.nev, interior.tol, interior.residual_tol

    root = H.comm.getRank() == 0
    report = logger.info if root else (lambda *args: None)
    started = time.perf_counter()
    e_min, e_max = mpi.spectrum_bounds(H, tol)
    report("%s: spectrum bounds [%.6g, %.6g] in %.1f s", label, e_min, e_max, time.perf_counter() - started)
    if kind == "filter":
        solver = mpi.FilterSolver(H, (e_min, e_max), tol=tol, residual_tol=residual_tol, settings=settings.filter)
        options = {"name": "filter", "nev": nev, "tol": tol, "residual_tol": residual_tol,
                   **dataclasses.asdict(settings.filter)}
    else:
        solver = mpi.ShiftInvertSolver(H, tol=tol, residual_tol=residual_tol, petsc_options=interior.petsc_options,
                                       exact_resolve=interior.exact_resolve)
        approximate = solver.approximate
        options = {"name": "shift_invert", "nev": nev, "tol": tol, "residual_tol": residual_tol,
                   "petsc_options": {**mpi.SHIFT_INVERT_DEFAULTS, **(interior.petsc_options or {})}}
    try:
        windows = []
        for i, t in enumerate(targets):
            started = time.perf_counter()
            resolves, retries = getattr(solver, "exact_resolves", 0), getattr(solver, "workspace_retries", 0)
            windows.append(solver.window(e_min + t * (e_max - e_min), nev))
            if getattr(solver, "workspace_retries", 0) > retries:
                report("  target %d/%d, eps=%.3g: MUMPS ran out of workspace; solved with %d x more (ICNTL(14))",
                       i + 1, len(targets), t, 3 ** (solver.workspace_retries - retries))
            if getattr(solver, "exact_resolves", 0) > resolves:
                report("  target %d/%d, eps=%.3g: the block low-rank factorization missed residual_tol (%s); "
                       "solved again with the exact factorization, which the remaining targets use too",
                       i + 1, len(targets), t, solver.resolve_reasons[-1])
            report("  target %d/%d, eps=%.3g: %d eigenpairs in %.1f s", i + 1, len(targets), t,
                   windows[-1].energies.size, time.perf_counter() - started)
    finally:
        filter_log = list(getattr(solver, "log", []))
        solver.destroy()
    windows, dropped = mpi.merge_windows(windows, e_min, e_max)
    missing = sum(w.missing for w in windows)
    if root and (missing or dropped):
        warnings.warn(f"{kind.replace('_', '-')} {label}: {missing} requested eigenpairs did not converge, {dropped} duplicates of "
                      "overlapping windows dropped (recorded in the diagnostics)", mpi.SolverWarning, stacklevel=3)
    energies = np.concatenate([w.energies for w in windows])
    residuals = np.concatenate([w.residuals for w in windows])

    def blocks(cuts, method):
        for w in windows:
            yield mpi.distributed_entanglement(w.local_vectors, H, cuts, method)

    diagnostics = {"e_min": e_min, "e_max": e_max, "ranks": H.comm.getSize(), "missing_pairs": missing,
                   "duplicates_dropped": dropped, "max_residual": float(residuals.max()) if residuals.size else None}
    if kind == "shift_invert" and approximate:  # only then: stores of exact solves keep their old diagnostics
        diagnostics["exact_resolves"] = solver.exact_resolves
    if kind == "shift_invert" and solver.workspace_retries:
        diagnostics["mumps_workspace_retries"] = solver.workspace_retries
    if kind == "filter":  # the interval, degree and iterations of each window
        diagnostics["filter_windows"] = [{"interval": [float(a), float(b)], "degree": int(degree), "iterations": int(its),
                                          "pairs": int(found), "filtered_vectors": int(applied)}
                                         for a, b, degree, its, found, applied in filter_log]
    return Spectrum(
        solver=kind, energies=energies, energy_density=energy_density(energies, e_min, e_max),
        gap_ratio=np.concatenate([gap_ratio(w.energies) for w in windows]), e_min=e_min, e_max=e_max,
        options=options, diagnostics=diagnostics,
        residuals=residuals, targets=np.asarray(targets),
        window=np.repeat(np.arange(len(windows)), [w.energies.size for w in windows]),
        is_root=root, _blocks=blocks, _close=H.destroy)
