"""SLEPc eigensolvers under MPI: shift-invert at target energy densities, and distributed full
diagonalization with ScaLAPACK (or ELPA, :mod:`mblnn.solve.elpa`).

Run under ``mpirun -n P`` or ``srun``; every rank calls the same functions. Conventions:

* Rows of the sector Hamiltonian are split over the ranks in PETSc's default layout (contiguous
  blocks, the first ``dim % P`` ranks one row more); each rank assembles only its own rows
  (:func:`mblnn.model.hamiltonian.hamiltonian_rows`), never the whole matrix.
* Every rank computes the disorder itself from (seed, N, realization): the fields are identical on
  all ranks without any broadcast (dynamite's pitfall: never let ranks draw their own random state).
* Changing the fields changes only the diagonal: :class:`DistributedHamiltonian` updates it in place,
  so the sparsity pattern — and MUMPS's symbolic analysis — is reused across targets and samples.
* Shift-invert: spectrum bounds E_min, E_max from two extremal Krylov-Schur solves; for each target
  ε_t the ``nev`` eigenpairs nearest σ = E_min + ε_t (E_max - E_min), from (H - σ)^{-1} with an exact
  factorization (MUMPS LDLᵀ by default: H - σ is symmetric indefinite; LU is one option away). From
  N = 18 the config's ``shift_invert.tuning`` makes it block low-rank (approximate, faster); a window whose
  residuals then fail is solved again exactly (:class:`ShiftInvertSolver`, ``exact_resolve``).
  Every default below can be overridden through the PETSc options database (``petsc_options``,
  keys relative to the solver, e.g. ``{"st_pc_type": "lu", "st_mat_mumps_icntl_7": 5}``); an option
  the solver did not use is refused with an error rather than silently ignored.
* Entanglement from distributed eigenvectors: eigenvectors of one window are dealt round-robin to
  the ranks; each rank gathers only its share (≤ ⌈nev/P⌉ full vectors) and runs
  :func:`mblnn.observables.entanglement.entanglement` on it; results (per-state scalars and spectra) go to rank 0.
  Memory per rank stays ~ dim/P × nev (the window) + ⌈nev/P⌉ × dim.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mblnn.model.basis import SectorBasis, sector_dimension
from mblnn.observables.entanglement import CutEntanglement, available_cpus, entanglement
from mblnn.errors import InputError
from mblnn.model.hamiltonian import Couplings, diagonal_energies, hamiltonian_rows
from mblnn.solve import elpa
from mblnn.solve.settings import FilterSettings

#: Prefix of the shift-invert solver's entries in the PETSc options database.
OPTIONS_PREFIX = "mblnn_si_"

#: Defaults of the shift-invert spectral transformation (overridable by the options database).
SHIFT_INVERT_DEFAULTS = {
    "st_type": "sinvert",
    "st_ksp_type": "preonly",
    "st_pc_type": "cholesky",
    "st_pc_factor_mat_solver_type": "mumps",
}


class SolverError(RuntimeError):
    """An eigensolver failed to deliver trustworthy eigenpairs (e.g. residual above tolerance)."""


class SolverWarning(UserWarning):
    """Eigenpairs were missing or duplicated; the counts are recorded in the output's provenance."""


def _petsc():
    try:
        from petsc4py import PETSc
        from slepc4py import SLEPc
    except ImportError as error:
        from mblnn.stack import require_mpi_stack

        require_mpi_stack("this solver (dense_mpi, shift_invert or filter)")
        raise InputError(f"petsc4py/slepc4py are installed but do not import: {error}") from error
    return PETSc, SLEPc


def world():
    """PETSc's world communicator (every rank of the job)."""
    return _petsc()[0].COMM_WORLD


def row_range(dim: int, size: int, rank: int) -> tuple[int, int]:
    """PETSc's default contiguous split of ``dim`` rows: ``(start, stop)`` of ``rank`` out of ``size``."""
    base, extra = divmod(dim, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def local_ranks(comm) -> int:
    """Ranks of the mpi4py communicator ``comm`` sharing this node (to share its CPUs among their threads)."""
    from mpi4py import MPI

    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return node.Get_size()
    finally:
        node.Free()


class DistributedHamiltonian:
    """The sector Hamiltonian as a row-distributed PETSc matrix (AIJ, or dense for ScaLAPACK).

    ``couplings``: the chain (:class:`mblnn.model.hamiltonian.Couplings`, default Eq. (5)); ``set_fields`` rewrites
    only the diagonal, in place.
    """

    def __init__(self, basis: SectorBasis, couplings: Couplings = Couplings(), comm=None, dense: bool = False):
        PETSc, _ = _petsc()
        self.comm = comm or PETSc.COMM_WORLD
        self.basis, self.couplings = basis, couplings
        self.start, self.stop = row_range(basis.dim, self.comm.getSize(), self.comm.getRank())
        n_local, dim = self.stop - self.start, basis.dim
        rows = hamiltonian_rows(basis, np.zeros(basis.N), couplings, self.start, self.stop)
        sizes = ((n_local, dim), (n_local, dim))
        if dense:
            self.matrix = PETSc.Mat().createDense(sizes, comm=self.comm)
            self.matrix.setUp()
            self.matrix.getDenseArray()[:] = rows.toarray()
        else:
            csr = (rows.indptr.astype(PETSc.IntType), rows.indices.astype(PETSc.IntType), rows.data)
            self.matrix = PETSc.Mat().createAIJ(sizes, csr=csr, comm=self.comm)
        self.matrix.setOption(PETSc.Mat.Option.SYMMETRIC, True)
        self.matrix.assemble()
        self._diagonal = self.matrix.createVecRight()

    @property
    def n_local(self) -> int:
        return self.stop - self.start

    def set_fields(self, fields: np.ndarray) -> None:
        """Set h_1..h_N (units of J): rewrites the local diagonal entries only."""
        self._diagonal.getArray()[:] = diagonal_energies(self.basis, fields, self.couplings, slice(self.start, self.stop))
        self.matrix.setDiagonal(self._diagonal)

    def destroy(self) -> None:
        self._diagonal.destroy()
        self.matrix.destroy()


@dataclass
class Window:
    """Eigenpairs near one target: energies ascending ``(m,)``, local rows of the eigenvectors
    ``(m, n_local)`` (one row per eigenvector), residuals ``(m,)``."""

    target: float
    energies: np.ndarray
    local_vectors: np.ndarray
    residuals: np.ndarray
    missing: int = 0


def spectrum_bounds(H: DistributedHamiltonian, tol: float, max_it: int = 1000) -> tuple[float, float]:
    """E_min and E_max of ``H`` by two extremal Krylov-Schur solves (options prefix ``mblnn_bounds_``)."""
    _, SLEPc = _petsc()
    values = []
    for which in (SLEPc.EPS.Which.SMALLEST_REAL, SLEPc.EPS.Which.LARGEST_REAL):
        eps = SLEPc.EPS().create(H.comm)
        eps.setOptionsPrefix("mblnn_bounds_")
        eps.setOperators(H.matrix)
        eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
        eps.setWhichEigenpairs(which)
        eps.setDimensions(1)
        eps.setTolerances(tol, max_it)
        eps.setFromOptions()
        eps.solve()
        if eps.getConverged() < 1:
            raise SolverError("the extremal eigenvalue solve for the spectrum bounds did not converge")
        values.append(eps.getEigenvalue(0).real)
        eps.destroy()
    return values[0], values[1]


def _chosen_pairs(eps, H, sigma: float, nev: int, residual_tol: float, vector) -> Window:
    """The ``nev`` converged pairs of a solved EPS nearest ``sigma``, ascending, each checked
    ‖Hv − Ev‖ ≤ ``residual_tol`` (:class:`SolverError` otherwise)."""
    _, SLEPc = _petsc()
    nconv = eps.getConverged()
    values = np.array([eps.getEigenvalue(i).real for i in range(nconv)])
    chosen = np.argsort(np.abs(values - sigma), kind="stable")[:nev]
    chosen = chosen[np.argsort(values[chosen], kind="stable")]
    local = np.empty((chosen.size, H.n_local))
    residuals = np.empty(chosen.size)
    for row, i in enumerate(chosen):
        eps.getEigenpair(int(i), vector)
        local[row] = vector.getArray()
        residuals[row] = eps.computeError(int(i), SLEPc.EPS.ErrorType.ABSOLUTE)
    bad = residuals > residual_tol
    if np.any(bad):
        raise SolverError(f"{bad.sum()} eigenpairs near σ={sigma:.6g} have residual ‖Hv-Ev‖ up to "
                          f"{residuals.max():.2e} > residual_tol={residual_tol:.1e}")
    return Window(target=sigma, energies=values[chosen], local_vectors=local, residuals=residuals,
                  missing=nev - chosen.size)


#: MUMPS settings that make the factorization approximate (block low-rank, BLR): ICNTL(35) switches BLR on,
#: CNTL(7) is its dropping precision, ICNTL(36-38) tune it. Without them the factorization is exact.
APPROXIMATE_OPTIONS = ("st_mat_mumps_icntl_35", "st_mat_mumps_cntl_7", "st_mat_mumps_icntl_36",
                       "st_mat_mumps_icntl_37", "st_mat_mumps_icntl_38")


#: MUMPS INFOG(1) values meaning its workspace estimate was too small: delayed pivots of the indefinite H - σ can
#: need more than the analysis estimated, and with several processes the pivot order depends on timing (seen at
#: N = 16 on a loaded machine, not reproducible on an idle one). The answer is a larger ICNTL(14) (percent extra).
WORKSPACE_ERRORS = (-8, -9, -11)
WORKSPACE_RETRIES = 3


class _WorkspaceTooSmall(Exception):
    pass


def is_approximate(petsc_options: dict) -> bool:
    """Whether ``petsc_options`` ask MUMPS for a block low-rank (approximate) factorization."""
    return str(petsc_options.get("st_mat_mumps_icntl_35", "0")).strip() not in ("0", "")


def tuned_options(tuning: dict, N: int) -> tuple[int | None, dict]:
    """The entry of ``tuning`` (keys: chain lengths as text) that applies to ``N``: the one with the largest key
    ≤ N, as ``(key, options)``; ``(None, {})`` when no key is ≤ N."""
    keys = [int(key) for key in tuning if int(key) <= N]
    if not keys:
        return None, {}
    key = max(keys)
    return key, dict(tuning[str(key)])


class ShiftInvertSolver:
    """Eigenpairs of a :class:`DistributedHamiltonian` near target energy densities, by SLEPc
    shift-invert. Create once per N; call :meth:`window` for every target (reuses the factorization's
    symbolic analysis).

    Parameters
    ----------
    tol:
        SLEPc convergence tolerance (relative, of the transformed problem).
    residual_tol:
        Every returned pair must satisfy ‖Hv - Ev‖ ≤ residual_tol (‖v‖ = 1), else :class:`SolverError`.
    petsc_options:
        Entries for the PETSc options database, applied over :data:`SHIFT_INVERT_DEFAULTS`.
    exact_resolve:
        With an approximate factorization (:func:`is_approximate`), a window whose residuals fail is solved
        again without the :data:`APPROXIMATE_OPTIONS`, and the solver stays exact from then on (one factor in
        memory at a time); :attr:`exact_resolves` counts these, :attr:`resolve_reasons` says why.
    """

    def __init__(self, hamiltonian: DistributedHamiltonian, tol: float = 1e-10, residual_tol: float = 1e-8,
                 petsc_options: dict | None = None, max_it: int = 1000, exact_resolve: bool = True):
        self.H, self.tol, self.residual_tol, self.max_it = hamiltonian, tol, residual_tol, max_it
        self.exact_resolve = exact_resolve
        self.exact_resolves, self.resolve_reasons, self.workspace_retries = 0, [], 0
        self.approximate = is_approximate(petsc_options or {})
        self._vector = hamiltonian.matrix.createVecRight()
        self._build(dict(petsc_options or {}))

    def _build(self, petsc_options: dict) -> None:
        PETSc, SLEPc = _petsc()
        self.petsc_options = petsc_options
        self._options = PETSc.Options()
        self._user_keys = [f"{OPTIONS_PREFIX}{key}" for key in petsc_options]
        self._all_keys = [f"{OPTIONS_PREFIX}{key}" for key in {**SHIFT_INVERT_DEFAULTS, **petsc_options}]
        for key, value in {**SHIFT_INVERT_DEFAULTS, **petsc_options}.items():
            self._options[f"{OPTIONS_PREFIX}{key}"] = str(value)
        self.eps = SLEPc.EPS().create(self.H.comm)
        self.eps.setOptionsPrefix(OPTIONS_PREFIX)
        self.eps.setOperators(self.H.matrix)
        self.eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
        self.eps.setWhichEigenpairs(SLEPc.EPS.Which.TARGET_MAGNITUDE)
        self.eps.setTolerances(self.tol, self.max_it)
        self.eps.setFromOptions()

    def _release(self) -> None:
        self.eps.destroy()
        for key in self._all_keys:
            self._options.delValue(key)

    def bounds(self) -> tuple[float, float]:
        """E_min and E_max (:func:`spectrum_bounds`)."""
        return spectrum_bounds(self.H, self.tol, self.max_it)

    def window(self, sigma: float, nev: int) -> Window:
        """The ``nev`` eigenpairs nearest the shift ``sigma`` (units of J)."""
        try:
            return self._window_with_workspace(sigma, nev)
        except SolverError as error:
            if not (self.exact_resolve and self.approximate):
                raise
            # the block low-rank factor was too coarse for this shift: the same window from the exact factor
            self.resolve_reasons.append(str(error))
            self.exact_resolves += 1
            self.approximate = False
            self._rebuild({key: value for key, value in self.petsc_options.items() if key not in APPROXIMATE_OPTIONS})
            return self._window_with_workspace(sigma, nev)

    def _window_with_workspace(self, sigma: float, nev: int) -> Window:
        """:meth:`_window`, again with 3x MUMPS's extra workspace (ICNTL(14)) whenever it ran out of it."""
        for attempt in range(WORKSPACE_RETRIES + 1):
            try:
                return self._window(sigma, nev)
            except _WorkspaceTooSmall as error:
                if attempt == WORKSPACE_RETRIES:
                    raise SolverError(f"MUMPS ran out of workspace near σ={sigma:.6g} {WORKSPACE_RETRIES + 1} times "
                                      f"({error}); raise st_mat_mumps_icntl_14 or the job's memory") from None
                self.workspace_retries += 1
                extra = int(self.petsc_options.get("st_mat_mumps_icntl_14", 20))
                self._rebuild({**self.petsc_options, "st_mat_mumps_icntl_14": str(3 * max(extra, 20))})

    def _rebuild(self, petsc_options: dict) -> None:
        self._release()
        self._build(petsc_options)

    def _window(self, sigma: float, nev: int) -> Window:
        self.eps.setDimensions(nev)
        self.eps.setTarget(sigma)
        # setOperators resets the solver's state: without it SLEPc keeps the previous window's
        # pairs after a new target (checked), and the factorization's symbolic part is still reused
        self.eps.setOperators(self.H.matrix)
        try:
            self.eps.solve()
        except Exception:  # petsc4py raises PETSc.Error, at times wrapped in a SystemError
            infog = self._mumps_status()
            if infog in WORKSPACE_ERRORS:
                raise _WorkspaceTooSmall(f"INFOG(1)={infog}") from None
            raise
        self._check_options_used()
        return _chosen_pairs(self.eps, self.H, sigma, nev, self.residual_tol, self._vector)

    def _mumps_status(self) -> int | None:
        """MUMPS's INFOG(1) of the last factorization (the same on every rank), None without one."""
        try:
            return int(self.eps.getST().getKSP().getPC().getFactorMatrix().getMumpsInfog(1))
        except Exception:
            return None

    def _check_options_used(self) -> None:
        """A misspelt or misplaced option would silently do nothing: refuse it instead."""
        unused = [key[len(OPTIONS_PREFIX):] for key in self._user_keys if not self._options.used(key)]
        if unused:
            raise InputError(
                f"petsc_options {unused} were not used by the shift-invert solver: keys are relative to it, "
                f"e.g. st_pc_type=lu, st_mat_mumps_icntl_7=5 (MUMPS options sit under the st_ prefix), eps_ncv=200"
            )

    def destroy(self) -> None:
        self._vector.destroy()
        self._release()


#: Prefix of the filter solver's entries in the PETSc options database.
FILTER_OPTIONS_PREFIX = "mblnn_filter_"


def density_of_states(H: DistributedHamiltonian) -> tuple[float, float]:
    """Mean and standard deviation of the spectrum of ``H`` from its traces, Tr H / D and Tr H² / D − mean²
    (exact moments, no eigenvalue needed). The many-body density of states is close to a Gaussian of these."""
    from petsc4py import PETSc

    diagonal = H.matrix.getDiagonal()
    mean = diagonal.sum() / H.basis.dim
    diagonal.destroy()
    variance = H.matrix.norm(PETSc.NormType.FROBENIUS) ** 2 / H.basis.dim - mean**2
    return float(mean), float(np.sqrt(max(variance, 0.0)))


class FilterSolver:
    """Eigenpairs of a :class:`DistributedHamiltonian` near target energies by SLEPc's polynomial filter
    (``ST`` type ``filter``): Krylov-Schur on p(H), a polynomial that is large on an interval [a, b] around the
    target and small on the rest of [E_min, E_max]; all pairs in [a, b] are computed and the ``nev`` nearest the
    target kept. Only matrix-vector products: memory ~ (ncv + a few) vectors, no factorization.

    ``settings`` (:class:`mblnn.solve.settings.FilterSettings`, the config's ``filter`` section): ``polynomial``
    ``filtlan`` (FILTLAN's least-squares polynomial) or ``chebyshev`` (the Chebyshev expansion of the interval's
    indicator with ``damping``: jackson, fejer, lanczos or none). The interval holds about ``width_factor`` × ``nev``
    states by the Gaussian density of states of :func:`density_of_states`; if fewer than ``nev`` pairs are found it
    is widened (×1.5, three times at most). ``degree``: ``None`` chooses ``degree_constant`` / (relative interval
    width), between 100 and ``max_degree``. ``ncv_factor``: the Krylov space holds that many times the interval's
    expected count (``None``: SLEPc's default). Options database entries (``petsc_options``) go under
    :data:`FILTER_OPTIONS_PREFIX`.

    :attr:`log` records per solved interval: a, b, degree, Krylov-Schur iterations, pairs found and the filtered
    vectors K (applications of p(H), each ``degree`` products with H; PETSc's event log, switched on here).
    """

    def __init__(self, hamiltonian: DistributedHamiltonian, bounds: tuple[float, float], tol: float = 1e-10,
                 residual_tol: float = 1e-8, settings: FilterSettings | None = None, max_it: int = 1000):
        PETSc, _ = _petsc()
        self.H, self.tol, self.residual_tol, self.max_it = hamiltonian, tol, residual_tol, max_it
        self.e_min, self.e_max = bounds
        self.settings = settings or FilterSettings()
        self.mean, self.std = density_of_states(hamiltonian)
        self._options = PETSc.Options()
        petsc_options = self.settings.petsc_options or {}
        self._keys = [f"{FILTER_OPTIONS_PREFIX}{key}" for key in petsc_options]
        for key, value in petsc_options.items():
            self._options[f"{FILTER_OPTIONS_PREFIX}{key}"] = str(value)
        self._vector = hamiltonian.matrix.createVecRight()
        if not PETSc.Log.isActive():  # the filtered-vector count K comes from the event log
            PETSc.Log.begin()
        self._applications = PETSc.Log.Event("STApply")
        #: per window: (interval a, b, degree, iterations, pairs in the interval, filtered vectors K)
        self.log: list[tuple[float, float, int, int, int, int]] = []

    def states_per_energy(self, energy: float) -> float:
        """Estimated density of states at ``energy`` (states per unit of J)."""
        return self.H.basis.dim * np.exp(-0.5 * ((energy - self.mean) / self.std) ** 2) / (np.sqrt(2 * np.pi) * self.std)

    def interval(self, sigma: float, nev: int, widenings: int = 0) -> tuple[float, float]:
        """The first interval [a, b] (units of J) searched for the ``nev`` pairs nearest ``sigma``, widened ×1.5
        ``widenings`` times: about ``width_factor`` × ``nev`` states by the density of states."""
        half = 0.5 * self.settings.width_factor * nev / self.states_per_energy(sigma) * 1.5**widenings
        return max(self.e_min, sigma - half), min(self.e_max, sigma + half)

    def degree_for(self, a: float, b: float) -> int:
        """The polynomial degree for the interval [a, b]: ``degree``, or ``degree_constant`` / (relative width)
        between 100 and ``max_degree``."""
        return self.settings.degree or int(np.clip(np.ceil(self.settings.degree_constant * (self.e_max - self.e_min) / (b - a)), 100,
                                          self.settings.max_degree))

    def window(self, sigma: float, nev: int) -> Window:
        """The ``nev`` eigenpairs nearest ``sigma`` (units of J)."""
        for widenings in range(4):
            a, b = self.interval(sigma, nev, widenings)
            eps, found = self._solve(a, b, nev)
            try:
                if found >= nev or (a, b) == (self.e_min, self.e_max):  # enough, or the whole spectrum searched
                    return _chosen_pairs(eps, self.H, sigma, nev, self.residual_tol, self._vector)
            finally:
                eps.destroy()
        raise SolverError(f"the filter solver found fewer than nev={nev} eigenpairs near σ={sigma:.6g} after widening "
                          "its interval three times")

    def configured_eps(self, a: float, b: float, nev: int):
        """The Krylov-Schur EPS on p(H) for the interval [a, b] (units of J), configured as :meth:`window` solves
        it but not solved (the caller destroys it); ``eps.setUp()`` then builds p(H), ``eps.getST().apply`` applies
        it (one filtered vector)."""
        _, SLEPc = _petsc()
        expected = max(nev, int(np.ceil(self.states_per_energy(0.5 * (a + b)) * (b - a))))
        estimate = int(1.2 * expected) + 20  # in interval mode, nev is an estimate of the pairs inside
        eps = SLEPc.EPS().create(self.H.comm)
        eps.setOptionsPrefix(FILTER_OPTIONS_PREFIX)
        eps.setOperators(self.H.matrix)
        eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
        eps.setWhichEigenpairs(SLEPc.EPS.Which.ALL)
        eps.setInterval(a, b)
        st = eps.getST()
        st.setType(SLEPc.ST.Type.FILTER)
        st.setFilterType(getattr(SLEPc.ST.FilterType, self.settings.polynomial.upper()))
        if self.settings.polynomial == "chebyshev":
            st.setFilterDamping(getattr(SLEPc.ST.FilterDamping, self.settings.damping.upper()))
        st.setFilterRange(self.e_min, self.e_max)
        st.setFilterDegree(self.degree_for(a, b))
        if self.settings.ncv_factor:
            eps.setDimensions(estimate, max(estimate, int(np.ceil(self.settings.ncv_factor * expected))))
        else:
            eps.setDimensions(estimate)
        eps.setTolerances(self.tol, self.max_it)
        eps.setFromOptions()
        return eps

    def _solve(self, a: float, b: float, nev: int):
        eps = self.configured_eps(a, b, nev)
        st = eps.getST()
        applied = self._applications.getPerfInfo()["count"]
        eps.solve()
        applied = self._applications.getPerfInfo()["count"] - applied
        unused = [key[len(FILTER_OPTIONS_PREFIX):] for key in self._keys if not self._options.used(key)]
        if unused:
            eps.destroy()
            raise InputError(f"filter.petsc_options {unused} were not used by the filter solver (keys relative to it, "
                             "e.g. eps_ncv=300, st_filter_damping=fejer)")
        found = eps.getConverged()
        self.log.append((a, b, st.getFilterDegree(), eps.getIterationNumber(), found, applied))
        return eps, found

    def destroy(self) -> None:
        self._vector.destroy()
        for key in self._keys:
            self._options.delValue(key)


def scalapack_eigenpairs(hamiltonian: DistributedHamiltonian):
    """All eigenpairs of a dense distributed Hamiltonian with SLEPc's ScaLAPACK solver.

    Returns the solved EPS (eigenvalues ascending, ``EPS.getEigenpair`` fills distributed vectors).
    """
    _, SLEPc = _petsc()
    eps = SLEPc.EPS().create(hamiltonian.comm)
    eps.setOptionsPrefix("mblnn_full_")
    eps.setOperators(hamiltonian.matrix)
    eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
    eps.setType(SLEPc.EPS.Type.SCALAPACK)
    eps.setWhichEigenpairs(SLEPc.EPS.Which.SMALLEST_REAL)
    eps.setDimensions(hamiltonian.basis.dim)
    eps.setFromOptions()
    eps.solve()
    if eps.getConverged() < hamiltonian.basis.dim:
        raise SolverError(f"ScaLAPACK returned {eps.getConverged()} of {hamiltonian.basis.dim} eigenpairs")
    return eps


def distributed_entanglement(local_vectors: np.ndarray, hamiltonian: DistributedHamiltonian, cuts, method: str = "svd"):
    """Entanglement of eigenvectors held as local rows, on rank 0.

    ``local_vectors`` has shape ``(m, n_local)`` on every rank (row j: this rank's entries of
    eigenvector j). Returns ``{N_A: CutEntanglement}`` for the m vectors on rank 0, ``None`` elsewhere.
    """
    from mpi4py import MPI

    comm = hamiltonian.comm.tompi4py()
    size, rank = comm.Get_size(), comm.Get_rank()
    dim, m = hamiltonian.basis.dim, local_vectors.shape[0]
    counts = np.array([row_range(dim, size, r)[1] - row_range(dim, size, r)[0] for r in range(size)])
    displacements = np.concatenate([[0], np.cumsum(counts)[:-1]])
    mine = np.arange(rank, m, size)
    full = np.empty((mine.size, dim))
    for j in range(m):
        owner = j % size
        receive = [full[j // size], counts, displacements, MPI.DOUBLE] if rank == owner else None
        comm.Gatherv(np.ascontiguousarray(local_vectors[j]), receive, root=owner)
    return entanglement_on_root(full.T, mine, m, hamiltonian.basis, comm, cuts, method)


def entanglement_on_root(vectors: np.ndarray, indices: np.ndarray, m: int, basis: SectorBasis, comm, cuts,
                         method: str = "svd"):
    """Entanglement of m eigenvectors shared out over the ranks of the mpi4py communicator ``comm``, on rank 0.

    Every rank holds whole eigenvectors: ``vectors`` of shape ``(dim, k)``, column i being eigenvector ``indices[i]``
    of the m (each index on exactly one rank). Returns ``{N_A: CutEntanglement}`` for the m vectors in index order on
    rank 0, ``None`` elsewhere.
    """
    workers = max(1, available_cpus() // local_ranks(comm))
    own = entanglement(vectors, basis, cuts, method=method, workers=workers) if indices.size else {}
    parts = comm.gather((indices, {k: (c.entropy, c.schmidt_gap, c.spectrum, c.trace) for k, c in own.items()}), root=0)
    if comm.Get_rank() != 0:
        return None
    result = {}
    for N_A in cuts:
        n1 = next(p[1][N_A][2].shape[1] for p in parts if p[0].size)
        arrays = [np.empty(m), np.empty(m), np.empty((m, n1)), np.empty(m)]
        for indices, values in parts:
            if indices.size:
                for target, source in zip(arrays, values[N_A]):
                    target[indices] = source
        result[N_A] = CutEntanglement(N_A, arrays[0], arrays[1], arrays[2], arrays[3])
    return result


def elpa_eigenpairs(basis: SectorBasis, fields: np.ndarray, couplings: Couplings, stage: int):
    """All eigenpairs of H by ELPA (:mod:`mblnn.solve.elpa`) over every rank of the job.

    Each rank assembles only its own columns of the block-cyclic layout (H is symmetric: column j is row j,
    :func:`mblnn.model.hamiltonian.hamiltonian_rows`). Returns ``(comm, energies (dim,), vectors (dim, n_local),
    columns (n_local,))`` with mpi4py's world communicator, every eigenvalue ascending on every rank, and this rank's
    whole eigenvectors: column k of ``vectors`` belongs to ``energies[columns[k]]``.
    """
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank, size, dim = comm.Get_rank(), comm.Get_size(), basis.dim
    columns = elpa.owned_columns(dim, rank, size)
    local = np.empty((dim, columns.size), order="F")
    offset = 0
    for start, stop in elpa.owned_blocks(dim, rank, size):
        local[:, offset: offset + stop - start] = hamiltonian_rows(basis, fields, couplings, start, stop).T.toarray()
        offset += stop - start
    energies, vectors = elpa.eigh(local, dim, comm, stage)
    return comm, energies, vectors, columns


def check_shift_invert_request(N: int, sz: float, targets, nev: int) -> tuple[float, ...]:
    """Validate targets (each in [0, 1], at least one) and nev (1 ≤ nev ≤ sector dimension)."""
    targets = tuple(float(t) for t in targets)
    if not targets:
        raise InputError("targets: the shift-invert solver needs at least one target energy density")
    outside = [t for t in targets if not 0.0 <= t <= 1.0]
    if outside:
        raise InputError(f"targets: energy densities must lie in [0, 1] (ε = (E - E_min)/(E_max - E_min)), got {outside}")
    dim = sector_dimension(N, sz)
    if not 1 <= nev <= dim:
        raise InputError(f"nev={nev}: asks for more eigenpairs than the sector holds (dimension {dim}) or fewer than 1")
    return tuple(sorted(set(targets)))


def merge_windows(windows: list[Window], e_min: float, e_max: float) -> tuple[list[Window], int]:
    """Drop eigenpairs that a previous (lower) window already holds; return the windows and the count.

    Windows of neighbouring targets overlap when nev exceeds the states between them; the
    duplicates are kept once (in the lower window) and reported, never silently doubled.
    """
    scale = max(1.0, abs(e_max - e_min)) * 1e-9
    seen = np.empty(0)
    dropped = 0
    merged = []
    for window in windows:
        duplicate = np.zeros(window.energies.size, dtype=bool)
        if seen.size:
            duplicate = np.min(np.abs(window.energies[:, None] - seen[None, :]), axis=1) <= scale
        dropped += int(duplicate.sum())
        keep = ~duplicate
        merged.append(Window(window.target, window.energies[keep], window.local_vectors[keep], window.residuals[keep], window.missing))
        seen = np.concatenate([seen, window.energies])
    return merged, dropped
