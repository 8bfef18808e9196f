"""One disorder sample from parameters to physics: fields → basis → H → eigenpairs → entanglement and
level statistics, returned in memory (the writer lives in :mod:`mblnn.store.samples`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from mblnn import __version__
from mblnn.model.basis import SectorBasis, n_up_for_sector, sector_dimension
from mblnn.hbar import check_hbar
from mblnn.model.chain import model_extension
from mblnn.model.disorder import FIELD_DISTRIBUTIONS, check_seed_and_realization, explicit_fields, random_fields
from mblnn.model.hamiltonian import Couplings
from mblnn.schema import default
from mblnn.errors import InputError, MemoryBudgetError
from mblnn.observables.entanglement import CutEntanglement, check_cuts
from mblnn.solve import cost
from mblnn.solve.cost import dense_memory_bytes
from mblnn.memory import available_memory_bytes
from mblnn.solve.dense import check_dense_fits
from mblnn.solve.settings import SolverSettings


#: the solver choice of ``solver="auto"`` (``mblnn spectrum`` prints it into the job's log)
logger = logging.getLogger("mblnn.sample")


@dataclass(frozen=True)
class SampleSpec:
    """Everything that defines one sample: the chain (:mod:`mblnn.model.hamiltonian`; the defaults are Eq. (5)), its
    sector, its fields and its cuts.

    ``J``, ``delta``, ``J2``, ``boundary``: the couplings (:class:`mblnn.model.hamiltonian.Couplings`);
    ``distribution`` and ``beta``: how the fields are drawn (config ``model.fields``/``model.beta``,
    :mod:`mblnn.model.disorder`). ``fields`` given explicitly (units of J, shape ``(N,)``) replace the random draw;
    then ``seed``, ``realization`` and ``distribution`` are only recorded. Otherwise h_r = hbar * u_r with u_r drawn
    from (seed, N, realization).
    """

    N: int
    hbar: float
    seed: int = default("seed")
    realization: int = 0
    cuts: tuple[int, ...] = ()
    J: float = default("model.J")
    sz: float = default("model.sz")
    fields: tuple[float, ...] | None = None
    delta: float = default("model.delta")
    J2: float = default("model.J2")
    boundary: str = default("model.boundary")
    distribution: str = default("model.fields")
    beta: float = default("model.beta")

    @classmethod
    def from_model(cls, model: Mapping, **parameters) -> "SampleSpec":
        """A spec whose chain is the config's ``model`` section (keys J, sz, delta, J2, fields, beta, boundary;
        missing ones at their defaults); ``parameters`` the rest (N, hbar, seed, realization, cuts, fields)."""
        renamed = {"fields": "distribution"}  # the spec's own `fields` are explicit values
        return cls(**{renamed.get(key, key): value for key, value in model.items()}, **parameters)

    @property
    def couplings(self) -> Couplings:
        return Couplings(self.J, self.delta, self.J2, self.boundary)

    @property
    def model(self) -> dict:
        """The model beyond J and sz as the store records it: ``{}`` for the paper's, else every key
        (:func:`mblnn.model.chain.model_extension`)."""
        return model_extension({"delta": self.delta, "J2": self.J2, "fields": self.distribution, "beta": self.beta,
                                "boundary": self.boundary})

    def validated(self) -> "SampleSpec":
        """Check every parameter (raises :class:`mblnn.errors.InputError` naming it) and fill defaults.

        Default cut: the half chain N_A = N // 2.
        """
        n_up_for_sector(self.N, self.sz)
        check_hbar(self.hbar)
        cuts = check_cuts(self.N, self.cuts or (self.N // 2,))
        couplings = Couplings(float(self.J), float(self.delta), float(self.J2), self.boundary)
        couplings.bonds(self.N)  # a chain too short for its bonds fails here
        if self.distribution not in FIELD_DISTRIBUTIONS:
            raise InputError(f"model.fields must be one of {FIELD_DISTRIBUTIONS}, got {self.distribution!r}")
        fields = None if self.fields is None else tuple(explicit_fields(self.fields, self.N))
        if fields is None:
            check_seed_and_realization(self.seed, self.realization)
        return SampleSpec(int(self.N), float(self.hbar), int(self.seed), int(self.realization), cuts, couplings.J,
                          float(self.sz), fields, couplings.delta, couplings.J2, couplings.boundary, self.distribution,
                          float(self.beta))

    def resolved_fields(self) -> np.ndarray:
        if self.fields is not None:
            return explicit_fields(self.fields, self.N)
        return random_fields(self.seed, self.N, self.realization, self.hbar, self.distribution, self.beta)


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


def choose_solver(spec: SampleSpec, settings: SolverSettings) -> str:
    """Resolve ``solver="auto"`` by the solvers' cost model (:mod:`mblnn.solve.cost`): dense LAPACK when the
    sector fits this process's memory budget; else, with target energy densities, shift-invert when its
    factorization fits, the polynomial filter when it does not. The choice is logged (the job's log says it)."""
    if settings.solver != "auto":
        return settings.solver
    dim, driver, targets = sector_dimension(spec.N, spec.sz), settings.dense.driver, settings.shift_invert.targets
    budget = available_memory_bytes() if settings.max_memory is None else settings.max_memory
    if dense_memory_bytes(dim, driver) <= budget:
        chosen = "dense"
    elif not targets:
        raise MemoryBudgetError(
            f"solver=auto: N={spec.N} ({dim} states) needs {dense_memory_bytes(dim, driver) / 2**30:.1f} GiB for dense "
            f"diagonalization (budget {budget / 2**30:.1f} GiB); give target energy densities for shift-invert"
        )
    else:
        chosen = "shift_invert" if cost.memory_bytes("shift_invert", dim) <= budget else "filter"
    logger.info("solver=auto: N=%d (%d states) -> %s (dense needs %.1f GiB, shift-invert about %.1f GiB, budget %.1f GiB)",
                spec.N, dim, chosen, dense_memory_bytes(dim, driver) / 2**30, cost.memory_bytes("shift_invert", dim) / 2**30,
                budget / 2**30)
    return chosen


def checked_settings(spec: SampleSpec, settings: SolverSettings) -> SolverSettings:
    """The settings a validated sample runs with, every check made before any expensive step: the solver chosen
    (``auto`` resolved), the interior solvers' targets and pairs validated and the per-N shift-invert tuning merged
    under the user's options, a dense sector checked against the memory budget."""
    solver = choose_solver(spec, settings)
    settings = replace(settings, solver=solver)
    if solver in ("shift_invert", "filter"):
        from mblnn.solve.mpi import check_shift_invert_request

        settings = settings.interior(check_shift_invert_request(spec.N, spec.sz, settings.shift_invert.targets,
                                                                settings.shift_invert.nev))
    if solver == "shift_invert":  # the measured per-N settings (shift_invert.tuning) under the user's options
        settings = replace(settings, shift_invert=settings.shift_invert.for_size(spec.N))
    if solver == "dense":  # before the basis: a sector too large for LAPACK fails here, with the memory it needs
        check_dense_fits(sector_dimension(spec.N, spec.sz), settings.dense.driver, settings.max_memory)
    return settings


def diagonalize_sample(spec: SampleSpec, settings: SolverSettings = SolverSettings()) -> SampleResult | None:
    """One sample from parameters to physics, in named steps: validate the parameters and the settings
    (:func:`checked_settings`: every check before any expensive step), draw the fields once, build the sector and H,
    diagonalize, entanglement of every cut, r — returned as a :class:`SampleResult`.

    ``settings.solver``: ``"dense"`` (LAPACK, one process, all eigenpairs), ``"dense_mpi"`` (ELPA or ScaLAPACK under MPI, all
    eigenpairs), ``"shift_invert"`` (SLEPc under MPI, ``nev`` pairs nearest each target energy density),
    ``"filter"`` (the same pairs by SLEPc's polynomial filter, no factorization) or ``"auto"``
    (:func:`choose_solver`); all through :func:`mblnn.solve.eigsolve.eigsolve`. The MPI solvers must be called on
    every rank; the result is returned on rank 0 and ``None`` elsewhere.
    """
    from mblnn.solve.eigsolve import eigsolve

    spec = spec.validated()
    settings = checked_settings(spec, settings)
    fields = spec.resolved_fields()  # every MPI rank draws the same disorder from (seed, N, realization)
    basis = SectorBasis.build(spec.N, spec.sz)
    label = f"N={spec.N} hbar={spec.hbar:g} realization={spec.realization}"
    with eigsolve(basis, fields, spec.couplings, settings, label=label) as spectrum:
        cuts = spectrum.entanglement(spec.cuts, settings.entanglement_method)
    if not spectrum.is_root:
        return None
    return _sample_result(spec, fields, spectrum, cuts, settings)


def _sample_result(spec: SampleSpec, fields: np.ndarray, spectrum, cuts: dict, settings: SolverSettings) -> SampleResult:
    # the store's record of the solver keeps its historical key order (dense: driver before the entanglement
    # method; MPI solvers: their settings after it), so that zarr.json stays byte-identical across versions
    name, *options = spectrum.options.items()
    dense = settings.solver == "dense"
    return SampleResult(
        spec=spec, fields=fields, energies=spectrum.energies, energy_density=spectrum.energy_density,
        gap_ratio=spectrum.gap_ratio, cuts=cuts,
        solver=dict([name] + (options if dense else [])
                    + [("entanglement_method", settings.entanglement_method), ("mblnn_version", __version__)]
                    + ([] if dense else options)),
        diagnostics=spectrum.diagnostics, targets=spectrum.targets, window=spectrum.window, residuals=spectrum.residuals,
    )


def parse_cuts(text: str | Sequence[int]) -> tuple[int, ...]:
    """``"6,7"`` or ``[6, 7]`` → ``(6, 7)`` (range checks happen in :meth:`SampleSpec.validated`)."""
    if isinstance(text, str):
        return tuple(int(part) for part in text.split(",") if part.strip())
    return tuple(int(c) for c in text)
