"""One disorder sample from parameters to physics: fields → basis → H → eigenpairs → entanglement and
level statistics, returned in memory (the writer lives in :mod:`mblnn.store.samples`).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mblnn import __version__
from mblnn.model.basis import SectorBasis, n_up_for_sector, sector_dimension
from mblnn.model.disorder import check_hbar, explicit_fields, random_fields
from mblnn.observables.entanglement import CutEntanglement, check_cuts, entanglement
from mblnn.config import default
from mblnn.errors import InputError, MemoryBudgetError

#: Progress of long solves (one line per shift-invert target, on rank 0); `mblnn spectrum` prints it.
logger = logging.getLogger("mblnn.sample")
from mblnn.model.hamiltonian import hamiltonian
from mblnn.observables.levels import gap_ratio
from mblnn.solve.dense import (
    DEFAULT_DRIVER,
    available_memory_bytes,
    check_dense_fits,
    dense_memory_bytes,
    diagonalize_dense,
    energy_density,
)


@dataclass(frozen=True)
class SampleSpec:
    """Everything that defines one sample of the random-field Heisenberg chain (Eq. 5).

    ``fields`` given explicitly (units of J, shape ``(N,)``) replace the random draw; then ``seed``
    and ``realization`` are only recorded. Otherwise h_r = hbar * u_r with u_r drawn from
    (seed, N, realization), see :mod:`mblnn.model.disorder`.
    """

    N: int
    hbar: float
    seed: int = default("seed")
    realization: int = 0
    cuts: tuple[int, ...] = ()
    J: float = default("model.J")
    sz: float = default("model.sz")
    fields: tuple[float, ...] | None = None

    def validated(self) -> "SampleSpec":
        """Check every parameter (raises :class:`mblnn.errors.InputError` naming it) and fill defaults.

        Default cut: the half chain N_A = N // 2.
        """
        n_up_for_sector(self.N, self.sz)
        check_hbar(self.hbar)
        cuts = check_cuts(self.N, self.cuts or (self.N // 2,))
        fields = None if self.fields is None else tuple(explicit_fields(self.fields, self.N))
        if fields is None:
            random_fields(self.seed, self.N, self.realization, self.hbar)  # validates seed/realization
        return SampleSpec(int(self.N), float(self.hbar), int(self.seed), int(self.realization), cuts, float(self.J), float(self.sz),
                          fields)

    def resolved_fields(self) -> np.ndarray:
        if self.fields is not None:
            return explicit_fields(self.fields, self.N)
        return random_fields(self.seed, self.N, self.realization, self.hbar)


@dataclass(frozen=True)
class SampleResult:
    """The physics of one sample, all eigenstates of the sector.

    Arrays over eigenstates have leading length ``n_states`` (= sector dimension for the dense
    solver) in ascending energy.

    Attributes
    ----------
    spec:
        The validated parameters.
    fields:
        h_1..h_N in units of J, shape ``(N,)``.
    energies:
        Eigenvalues in units of J, ascending, shape ``(n_states,)``.
    energy_density:
        ε = (E - E_min)/(E_max - E_min), shape ``(n_states,)``.
    gap_ratio:
        r_n of Eq. (9), NaN at the two ends, shape ``(n_states,)``.
    cuts:
        ``{N_A: CutEntanglement}`` for every requested cut.
    solver:
        How the eigenpairs were computed: solver name and options (the same for every sample of a
        campaign).
    diagnostics:
        Per-sample solver facts: spectrum bounds, largest residual, missing or duplicate pairs.
    targets, window, residuals:
        Shift-invert only (``None`` for full diagonalization): the target energy densities
        ``(n_targets,)``, the index into ``targets`` of the window each state came from
        ``(n_states,)``, and the residuals ‖Hv - Ev‖ ``(n_states,)``.
    """

    spec: SampleSpec
    fields: np.ndarray
    energies: np.ndarray
    energy_density: np.ndarray
    gap_ratio: np.ndarray
    cuts: dict[int, CutEntanglement]
    solver: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)
    targets: np.ndarray | None = None
    window: np.ndarray | None = None
    residuals: np.ndarray | None = None


SOLVERS = ("dense", "dense_mpi", "shift_invert", "auto")


def choose_solver(spec: SampleSpec, solver: str, driver: str, targets, max_memory: int | None) -> str:
    """Resolve ``solver="auto"``: dense LAPACK when the sector fits this process's memory budget,
    shift-invert at the given targets otherwise."""
    if solver not in SOLVERS:
        raise InputError(f"solver must be one of {SOLVERS}, got solver={solver!r}")
    if solver != "auto":
        return solver
    dim = sector_dimension(spec.N, spec.sz)
    budget = available_memory_bytes() if max_memory is None else max_memory
    if dense_memory_bytes(dim, driver) <= budget:
        return "dense"
    if not targets:
        raise MemoryBudgetError(
            f"solver=auto: N={spec.N} ({dim} states) needs {dense_memory_bytes(dim, driver) / 2**30:.1f} GiB for dense "
            f"diagonalization (budget {budget / 2**30:.1f} GiB); give target energy densities for shift-invert"
        )
    return "shift_invert"


def diagonalize_sample(
    spec: SampleSpec,
    driver: str = default("dense.driver"),
    entanglement_method: str = default("dense.entanglement_method"),
    max_memory: int | None = None,
    solver: str = default("solver.default"),
    targets=(),
    nev: int = default("shift_invert.nev"),
    tol: float = default("shift_invert.tol"),
    residual_tol: float = default("shift_invert.residual_tol"),
    petsc_options: dict | None = None,
) -> SampleResult | None:
    """One sample from parameters to physics: validate, build H, diagonalize, entanglement, r.

    ``solver``: ``"dense"`` (LAPACK, one process, all eigenpairs), ``"dense_mpi"`` (ScaLAPACK under
    MPI, all eigenpairs), ``"shift_invert"`` (SLEPc under MPI, ``nev`` pairs nearest each target
    energy density in ``targets``), or ``"auto"`` (see :func:`choose_solver`). Every check
    (parameters, memory budget in bytes — ``None`` = available memory) runs before any expensive
    step. The MPI solvers must be called on every rank; the result is returned on rank 0 and
    ``None`` elsewhere.
    """
    spec = spec.validated()
    solver = choose_solver(spec, solver, driver, targets, max_memory)
    if solver == "dense":
        return _diagonalize_dense(spec, driver, entanglement_method, max_memory)
    return _diagonalize_mpi(spec, solver, entanglement_method, max_memory, targets, nev, tol, residual_tol, petsc_options)


def _diagonalize_dense(spec: SampleSpec, driver: str, entanglement_method: str, max_memory: int | None) -> SampleResult:
    check_dense_fits(sector_dimension(spec.N, spec.sz), driver, max_memory)
    fields = spec.resolved_fields()
    basis = SectorBasis.build(spec.N, spec.sz)
    spectrum = diagonalize_dense(hamiltonian(basis, fields, spec.J), driver=driver, max_memory=max_memory)
    cuts = entanglement(spectrum.vectors, basis, spec.cuts, method=entanglement_method)
    return SampleResult(
        spec=spec,
        fields=fields,
        energies=spectrum.energies,
        energy_density=spectrum.energy_density,
        gap_ratio=gap_ratio(spectrum.energies),
        cuts=cuts,
        solver={"name": "dense", "driver": driver, "entanglement_method": entanglement_method, "mblnn_version": __version__},
    )


def _diagonalize_mpi(spec, solver, entanglement_method, max_memory, targets, nev, tol, residual_tol, petsc_options):
    from mblnn.solve import mpi

    dim = sector_dimension(spec.N, spec.sz)
    if solver == "shift_invert":
        targets = mpi.check_shift_invert_request(spec.N, spec.sz, targets, nev)
    PETSc, _ = mpi._petsc()
    comm = PETSc.COMM_WORLD
    ranks = comm.getSize()
    options = {"entanglement_method": entanglement_method, "mblnn_version": __version__}
    if solver == "dense_mpi":
        need = mpi.dense_mpi_memory_bytes(dim, ranks)
        budget = (available_memory_bytes() // mpi._local_ranks(comm)) if max_memory is None else max_memory
        if need > budget:
            raise MemoryBudgetError(
                f"distributed full diagonalization of {dim} states on {ranks} ranks needs about {need / 2**30:.1f} GiB "
                f"per rank (budget {budget / 2**30:.1f} GiB): use more ranks or the shift-invert solver (solver: shift_invert)"
            )
    fields = spec.resolved_fields()  # every rank draws the same disorder from (seed, N, realization)
    basis = SectorBasis.build(spec.N, spec.sz)
    H = mpi.DistributedHamiltonian(basis, spec.J, comm, dense=(solver == "dense_mpi"))
    H.set_fields(fields)
    try:
        if solver == "dense_mpi":
            return _dense_mpi(spec, H, fields, entanglement_method, {"name": "dense_mpi", **options})
        options.update(nev=nev, tol=tol, residual_tol=residual_tol,
                       petsc_options={**mpi.SHIFT_INVERT_DEFAULTS, **(petsc_options or {})})
        return _shift_invert(spec, H, fields, targets, nev, tol, residual_tol, petsc_options, entanglement_method,
                             {"name": "shift_invert", **options})
    finally:
        H.destroy()


def _dense_mpi(spec, H, fields, entanglement_method, solver_info):
    from mblnn.solve import mpi

    eps = mpi.scalapack_eigenpairs(H)
    dim = H.basis.dim
    energies = np.array([eps.getEigenvalue(i).real for i in range(dim)])
    vector = H.matrix.createVecRight()
    chunk = max(1, min(dim, 256))
    pieces = []
    for start in range(0, dim, chunk):
        indices = range(start, min(start + chunk, dim))
        local = np.empty((len(indices), H.n_local))
        for row, i in enumerate(indices):
            eps.getEigenpair(i, vector)
            local[row] = vector.getArray()
        pieces.append(mpi.distributed_entanglement(local, H, spec.cuts, entanglement_method))
    vector.destroy()
    eps.destroy()
    if H.comm.getRank() != 0:
        return None
    cuts = {N_A: CutEntanglement(N_A, *(np.concatenate([getattr(p[N_A], name) for p in pieces])
                                        for name in ("entropy", "schmidt_gap", "spectrum", "trace")))
            for N_A in spec.cuts}
    return SampleResult(spec=spec, fields=fields, energies=energies, energy_density=energy_density(energies),
                        gap_ratio=gap_ratio(energies), cuts=cuts, solver=solver_info,
                        diagnostics={"e_min": float(energies[0]), "e_max": float(energies[-1]), "ranks": H.comm.getSize()})


def _shift_invert(spec, H, fields, targets, nev, tol, residual_tol, petsc_options, entanglement_method, solver_info):
    from mblnn.solve import mpi

    solver = mpi.ShiftInvertSolver(H, tol=tol, residual_tol=residual_tol, petsc_options=petsc_options)
    try:
        started = time.perf_counter()
        e_min, e_max = solver.bounds()
        report = logger.info if H.comm.getRank() == 0 else (lambda *args: None)
        report("N=%d hbar=%g realization=%d: spectrum bounds [%.6g, %.6g] in %.1f s", spec.N, spec.hbar,
               spec.realization, e_min, e_max, time.perf_counter() - started)
        windows = []
        for i, t in enumerate(targets):
            started = time.perf_counter()
            windows.append(solver.window(e_min + t * (e_max - e_min), nev))
            report("  target %d/%d, eps=%.3g: %d eigenpairs in %.1f s", i + 1, len(targets), t,
                   windows[-1].energies.size, time.perf_counter() - started)
    finally:
        solver.destroy()
    windows, dropped = mpi.merge_windows(windows, e_min, e_max)
    missing = sum(w.missing for w in windows)
    per_window = [mpi.distributed_entanglement(w.local_vectors, H, spec.cuts, entanglement_method) for w in windows]
    if H.comm.getRank() != 0:
        return None
    if missing or dropped:
        warnings.warn(
            f"shift-invert N={spec.N} hbar={spec.hbar} realization={spec.realization}: {missing} requested eigenpairs "
            f"did not converge, {dropped} duplicates of overlapping windows dropped (recorded in the diagnostics)",
            mpi.SolverWarning, stacklevel=2,
        )
    energies = np.concatenate([w.energies for w in windows])
    cuts = {N_A: CutEntanglement(N_A, *(np.concatenate([getattr(p[N_A], name) for p in per_window])
                                        for name in ("entropy", "schmidt_gap", "spectrum", "trace")))
            for N_A in spec.cuts}
    residuals = np.concatenate([w.residuals for w in windows])
    return SampleResult(
        spec=spec, fields=fields, energies=energies,
        energy_density=energy_density(energies, e_min, e_max),
        gap_ratio=np.concatenate([gap_ratio(w.energies) for w in windows]),
        cuts=cuts, solver=solver_info,
        diagnostics={"e_min": e_min, "e_max": e_max, "ranks": H.comm.getSize(), "missing_pairs": missing,
                     "duplicates_dropped": dropped,
                     "max_residual": float(residuals.max()) if residuals.size else None},
        targets=np.asarray(targets), window=np.repeat(np.arange(len(windows)), [w.energies.size for w in windows]),
        residuals=residuals,
    )


def solver_settings(config: dict) -> dict:
    """The keyword arguments of :func:`diagonalize_sample` from the config sections ``dense`` and ``shift_invert``."""
    dense, si = config["dense"], config["shift_invert"]
    return {"driver": dense["driver"], "entanglement_method": dense["entanglement_method"], "targets": tuple(si["targets"]),
            "nev": si["nev"], "tol": si["tol"], "residual_tol": si["residual_tol"], "petsc_options": {key: str(value) for key, value in si["petsc_options"].items()}}


def parse_cuts(text: str | Sequence[int]) -> tuple[int, ...]:
    """``"6,7"`` or ``[6, 7]`` → ``(6, 7)`` (range checks happen in :meth:`SampleSpec.validated`)."""
    if isinstance(text, str):
        return tuple(int(part) for part in text.split(",") if part.strip())
    return tuple(int(c) for c in text)
