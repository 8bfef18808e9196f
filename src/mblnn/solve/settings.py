"""How a sample is diagonalized: the solver and its settings, one typed object per solver family, built from the
config in one place (:meth:`SolverSettings.from_config`) and passed whole to :func:`mblnn.sample.diagonalize_sample`
and :func:`mblnn.solve.eigsolve.eigsolve`.

The families mirror the config sections: ``dense`` (LAPACK driver), ``shift_invert`` (target energy densities, pairs
per target, tolerances, PETSc options, the per-N tuning, the exact re-solve; the polynomial filter takes its targets,
pairs and tolerances from here too) and ``filter`` (degree, interval width, PETSc options). Every default is the
schema's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from mblnn.errors import InputError
from mblnn.schema import default

#: every eigensolver (README and docs/solvers.md): ``dense`` LAPACK (or ELPA), ``dense_mpi`` ScaLAPACK (or ELPA) under MPI,
#: ``shift_invert`` SLEPc under MPI, ``filter`` SLEPc's polynomial filter under MPI
SOLVERS = ("dense", "dense_mpi", "shift_invert", "filter")
#: what a config or a command may ask for: a solver, or ``auto`` (:func:`mblnn.sample.choose_solver`)
SOLVER_CHOICES = SOLVERS + ("auto",)


def _as_text(options: dict) -> dict:
    """PETSc options database entries as text, as the options database stores them (and the store records)."""
    return {key: str(value) for key, value in options.items()}


@dataclass(frozen=True)
class DenseSettings:
    """Full diagonalization: ``driver`` on one process (LAPACK's ``evd``, ``evr``, ``ev`` or ELPA's ``elpa_1stage``,
    ``elpa_2stage``), ``mpi_driver`` distributed (``scalapack`` or ELPA's two)."""

    driver: str = default("dense.driver")
    mpi_driver: str = default("dense.mpi_driver")


@dataclass(frozen=True)
class ShiftInvertSettings:
    """Interior eigenpairs: ``nev`` pairs nearest each of ``targets`` (energy densities in [0, 1]), SLEPc tolerance
    ``tol``, largest accepted residual ‖Hv − Ev‖ ``residual_tol``, PETSc options over the solver's defaults,
    ``tuning`` (per-N PETSc options, the entry with the largest N ≤ the sample's applies under ``petsc_options``)
    and ``exact_resolve`` (a failing block low-rank window is solved again exactly)."""

    targets: tuple[float, ...] = ()
    nev: int = default("shift_invert.nev")
    tol: float = default("shift_invert.tol")
    residual_tol: float = default("shift_invert.residual_tol")
    petsc_options: dict = field(default_factory=dict)
    tuning: dict = field(default_factory=lambda: default("shift_invert.tuning"))
    exact_resolve: bool = default("shift_invert.exact_resolve")

    def for_size(self, N: int) -> "ShiftInvertSettings":
        """These settings with the tuning for chain length ``N`` merged under the user's PETSc options."""
        from mblnn.solve.mpi import tuned_options

        return replace(self, petsc_options={**_as_text(tuned_options(self.tuning, N)[1]), **self.petsc_options})


@dataclass(frozen=True)
class FilterSettings:
    """The polynomial filter: ``degree`` (``None``: ``degree_constant`` × spectrum width / interval width, at most
    ``max_degree``), the interval ``width_factor``, the ``polynomial`` (``filtlan`` or ``chebyshev`` with its
    ``damping``), the Krylov space (``ncv_factor`` × the interval's expected count; ``None``: SLEPc's) and PETSc
    options."""

    degree: int | None = default("filter.degree")
    width_factor: float = default("filter.width_factor")
    polynomial: str = default("filter.polynomial")
    damping: str = default("filter.damping")
    degree_constant: float = default("filter.degree_constant")
    max_degree: int = default("filter.max_degree")
    ncv_factor: float | None = default("filter.ncv_factor")
    petsc_options: dict = field(default_factory=lambda: _as_text(default("filter.petsc_options")))


@dataclass(frozen=True)
class SolverSettings:
    """The solver of a sample (one of :data:`SOLVER_CHOICES`), how ρ_A's spectrum is computed
    (``entanglement_method``), the memory budget in bytes (``None``: what this process may use) and each family's
    settings."""

    solver: str = default("solver.default")
    entanglement_method: str = default("dense.entanglement_method")
    max_memory: int | None = None
    dense: DenseSettings = DenseSettings()
    shift_invert: ShiftInvertSettings = ShiftInvertSettings()
    filter: FilterSettings = FilterSettings()

    def __post_init__(self):
        if self.solver not in SOLVER_CHOICES:
            raise InputError(f"solver must be one of {SOLVER_CHOICES}, got solver={self.solver!r}")

    @classmethod
    def from_config(cls, config: dict, solver: str | None = None, max_memory: int | None = None) -> "SolverSettings":
        """From the validated config sections ``dense``, ``shift_invert`` and ``filter``; ``solver`` (default:
        ``solver.default``) is the one the caller chose for the chain length (:func:`mblnn.config.solver_for`)."""
        dense, si, polynomial = config["dense"], config["shift_invert"], config["filter"]
        return cls(
            solver=solver or config["solver"]["default"], entanglement_method=dense["entanglement_method"],
            max_memory=max_memory, dense=DenseSettings(driver=dense["driver"], mpi_driver=dense["mpi_driver"]),
            shift_invert=ShiftInvertSettings(targets=tuple(si["targets"]), nev=si["nev"], tol=si["tol"],
                                             residual_tol=si["residual_tol"], petsc_options=_as_text(si["petsc_options"]),
                                             tuning=si["tuning"], exact_resolve=si["exact_resolve"]),
            filter=FilterSettings(**{**polynomial, "petsc_options": _as_text(polynomial["petsc_options"])}))

    def interior(self, targets, nev: int | None = None) -> "SolverSettings":
        """These settings with the interior solvers' ``targets`` (and ``nev``) replaced: ``settings.interior((0.5,),
        nev=20)``."""
        return replace(self, shift_invert=replace(self.shift_invert, targets=tuple(targets),
                                                  nev=self.shift_invert.nev if nev is None else nev))
