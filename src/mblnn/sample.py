"""One disorder sample from parameters to physics: fields → basis → H → eigenpairs → entanglement and
level statistics, returned in memory (writers live in :mod:`mblnn.io`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import __version__
from .basis import SectorBasis, n_up_for_sector, sector_dimension
from .disorder import check_hbar, explicit_fields, random_fields
from .entanglement import CutEntanglement, check_cuts, entanglement
from .hamiltonian import hamiltonian
from .levels import gap_ratio
from .solvers.dense import DEFAULT_DRIVER, check_dense_fits, diagonalize_dense


@dataclass(frozen=True)
class SampleSpec:
    """Everything that defines one sample of the random-field Heisenberg chain (Eq. 5).

    ``fields`` given explicitly (units of J, shape ``(N,)``) replace the random draw; then ``seed``
    and ``realization`` are only recorded. Otherwise h_r = hbar * u_r with u_r drawn from
    (seed, N, realization), see :mod:`mblnn.disorder`.
    """

    N: int
    hbar: float
    seed: int = 0
    realization: int = 0
    cuts: tuple[int, ...] = ()
    J: float = 1.0
    sz: float = 0.0
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
        return SampleSpec(self.N, float(self.hbar), self.seed, self.realization, cuts, float(self.J), self.sz, fields)

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
        Provenance of the eigenpairs: name, LAPACK driver, package version.
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
    solver: dict[str, str] = field(default_factory=dict)
    targets: np.ndarray | None = None
    window: np.ndarray | None = None
    residuals: np.ndarray | None = None


def diagonalize_sample(
    spec: SampleSpec,
    driver: str = DEFAULT_DRIVER,
    entanglement_method: str = "svd",
    max_memory: int | None = None,
) -> SampleResult:
    """Full dense pipeline for one sample: validate, build H, diagonalize, entanglement, r.

    Every check (parameters, memory budget in bytes, ``None`` = available memory) runs before any
    expensive step.
    """
    spec = spec.validated()
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


def parse_cuts(text: str | Sequence[int]) -> tuple[int, ...]:
    """``"6,7"`` or ``[6, 7]`` → ``(6, 7)`` (range checks happen in :meth:`SampleSpec.validated`)."""
    if isinstance(text, str):
        return tuple(int(part) for part in text.split(",") if part.strip())
    return tuple(int(c) for c in text)
