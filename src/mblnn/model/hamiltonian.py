"""Spin-1/2 chains that conserve S^z_tot, as sparse matrices in one S^z sector.

The paper's model, Eq. (5), is the random-field Heisenberg chain with open boundaries,

    H = J Σ_{r=1}^{N-1} S_r · S_{r+1} + Σ_{r=1}^{N} h_r S^z_r,

with spin-1/2 operators S = σ/2 and fields h_r in units of J (J = 1 by default). :class:`Couplings` extends it to

    H = J Σ_{<r,s>} [S^x_r S^x_s + S^y_r S^y_s + Δ S^z_r S^z_s] + J2 Σ_{<<r,s>>} S_r · S_s + Σ_r h_r S^z_r,

nearest-neighbour bonds <r,s> = (r, r+1) with anisotropy Δ (``delta``; XXZ, Δ = 1 is Eq. (5)), isotropic
next-nearest-neighbour bonds <<r,s>> = (r, r+2) (``J2``), and open (the paper's) or periodic boundaries (the bond
(N, 1) and, with J2, the bonds (N-1, 1) and (N, 2)). On a periodic chain Σ_r runs over every site r = 1..N with s
taken mod N, so at N = 4 each next-nearest pair appears twice, as that sum says.

Written with ladder operators, S^x_r S^x_s + S^y_r S^y_s = (S^+_r S^-_s + h.c.)/2: every bond with exchange J_xy
and Ising coupling J_zz adds J_zz S^z_r S^z_s to the diagonal and connects two states that differ by swapping the
antiparallel spins of sites r and s (matrix element J_xy/2). Every term conserves S^z_tot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mblnn.errors import InputError
from mblnn.model.basis import SectorBasis

#: the chain's boundary conditions
BOUNDARIES = ("open", "periodic")


@dataclass(frozen=True)
class Bond:
    """One two-site term J_xy (S^x_a S^x_b + S^y_a S^y_b) + J_zz S^z_a S^z_b; sites 1-based."""

    a: int
    b: int
    xy: float
    zz: float


@dataclass(frozen=True)
class Couplings:
    """The couplings of the chain (module docstring): ``J`` the nearest-neighbour exchange (the energy unit of the
    fields), ``delta`` its anisotropy Δ, ``J2`` the next-nearest-neighbour Heisenberg coupling, ``boundary`` "open"
    or "periodic". The defaults are Eq. (5) of the paper."""

    J: float = 1.0
    delta: float = 1.0
    J2: float = 0.0
    boundary: str = "open"

    def __post_init__(self):
        for name in ("J", "delta", "J2"):
            if not math.isfinite(getattr(self, name)):
                raise InputError(f"model.{name} must be a finite number, got {getattr(self, name)!r}")
        if self.boundary not in BOUNDARIES:
            raise InputError(f"model.boundary must be one of {BOUNDARIES}, got {self.boundary!r}")

    def bonds(self, N: int) -> list[Bond]:
        """Every bond of an ``N``-site chain: first the open chain's nearest neighbours (1, 2) … (N-1, N) in order,
        then the periodic closing bond, then the next-nearest bonds (none when J2 = 0)."""
        nearest = Bond(0, 0, self.J, self.J * self.delta)
        bonds = [Bond(r, r + 1, nearest.xy, nearest.zz) for r in range(1, N)]
        periodic = self.boundary == "periodic"
        if periodic:
            if N < 3:
                raise InputError(f"model.boundary: a periodic chain needs N >= 3 sites, got N={N}")
            bonds.append(Bond(N, 1, nearest.xy, nearest.zz))
        if self.J2 != 0:
            if N < 3 or (periodic and N < 4):
                raise InputError(f"model.J2: next-nearest bonds need N >= {4 if periodic else 3} sites, got N={N}")
            bonds += [Bond(r, r + 2, self.J2, self.J2) for r in range(1, N - 1)]
            if periodic:
                bonds += [Bond(N - 1, 1, self.J2, self.J2), Bond(N, 2, self.J2, self.J2)]
        return bonds


def diagonal_energies(basis: SectorBasis, fields: np.ndarray, couplings: Couplings = Couplings(),
                      rows: slice = slice(None)) -> np.ndarray:
    """Diagonal of H, ``Σ_bonds J_zz S^z_a S^z_b + Σ h_r S^z_r`` (units of J), for the basis states ``rows``."""
    sz = basis.spins[rows]
    bonds = couplings.bonds(basis.N)
    # the open chain's bonds in one product (Eq. (5): J Δ = J exactly for Δ = 1), the others added one by one
    diagonal = bonds[0].zz * np.einsum("ir,ir->i", sz[:, :-1], sz[:, 1:])
    for bond in bonds[basis.N - 1:]:
        diagonal = diagonal + bond.zz * (sz[:, bond.a - 1] * sz[:, bond.b - 1])
    return diagonal + sz @ np.asarray(fields, dtype=np.float64)


def hamiltonian_rows(basis: SectorBasis, fields: np.ndarray, couplings: Couplings = Couplings(), start: int = 0,
                     stop: int | None = None) -> sp.csr_matrix:
    """Rows ``start:stop`` of H (all columns) as CSR of shape ``(stop - start, dim)``.

    This is what one MPI rank assembles for its share of a distributed matrix; the diagonal entry
    of every row is stored explicitly (also when it is 0), so that shifting by σ and changing the
    fields never change the sparsity pattern.
    """
    N, dim = basis.N, basis.dim
    stop = dim if stop is None else stop
    states = basis.states[start:stop]
    local = np.arange(stop - start)
    rows, cols, values = [local], [local + start], [diagonal_energies(basis, fields, couplings, slice(start, stop))]
    # The loop runs over the bonds, never over basis states.
    for bond in couplings.bonds(N):
        mask = (np.int64(1) << (N - bond.a)) | (np.int64(1) << (N - bond.b))  # bits of sites a and b
        pair = states & mask
        flippable = np.nonzero((pair != 0) & (pair != mask))[0]
        rows.append(flippable)
        cols.append(basis.index(states[flippable] ^ mask))
        values.append(np.full(flippable.size, 0.5 * bond.xy))
    matrix = sp.coo_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(stop - start, dim)
    ).tocsr()
    matrix.sort_indices()
    return matrix


def hamiltonian(basis: SectorBasis, fields: np.ndarray, couplings: Couplings = Couplings()) -> sp.csr_matrix:
    """Sparse real symmetric H in the sector ``basis``: CSR, shape ``(dim, dim)``, float64.

    Parameters
    ----------
    basis:
        The sector (see :mod:`mblnn.model.basis` for the bit convention).
    fields:
        h_1..h_N in units of J, shape ``(N,)``.
    couplings:
        J, Δ, J2 and the boundary (:class:`Couplings`; the default is Eq. (5): antiferromagnetic J = 1, open).
    """
    return hamiltonian_rows(basis, fields, couplings)
