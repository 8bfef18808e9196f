"""The random-field Heisenberg chain, Eq. (5) of the paper, as a sparse matrix in one S^z sector.

    H = J Σ_{r=1}^{N-1} S_r · S_{r+1} + Σ_{r=1}^{N} h_r S^z_r

with spin-1/2 operators S = σ/2, open boundaries, and fields h_r in units of J (J = 1 by default).
Written with ladder operators, S_r · S_{r+1} = S^z_r S^z_{r+1} + (S^+_r S^-_{r+1} + h.c.)/2: the Ising
part is diagonal and the flip-flop part connects two states that differ by swapping the
antiparallel spins of the bond (matrix element J/2). Both conserve S^z_tot.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mblnn.model.basis import SectorBasis


def diagonal_energies(basis: SectorBasis, fields: np.ndarray, J: float = 1.0, rows: slice = slice(None)) -> np.ndarray:
    """Diagonal of H, ``J Σ S^z_r S^z_{r+1} + Σ h_r S^z_r``, for the basis states ``rows``."""
    sz = basis.spins[rows]
    return J * np.einsum("ir,ir->i", sz[:, :-1], sz[:, 1:]) + sz @ np.asarray(fields, dtype=np.float64)


def hamiltonian_rows(basis: SectorBasis, fields: np.ndarray, J: float = 1.0, start: int = 0, stop: int | None = None) -> sp.csr_matrix:
    """Rows ``start:stop`` of H (all columns) as CSR of shape ``(stop - start, dim)``.

    This is what one MPI rank assembles for its share of a distributed matrix; the diagonal entry
    of every row is stored explicitly (also when it is 0), so that shifting by σ and changing the
    fields never change the sparsity pattern.
    """
    N, dim = basis.N, basis.dim
    stop = dim if stop is None else stop
    states = basis.states[start:stop]
    local = np.arange(stop - start)
    rows, cols, values = [local], [local + start], [diagonal_energies(basis, fields, J, slice(start, stop))]
    # The loop runs over the N-1 bonds, never over basis states.
    for r in range(1, N):
        mask = np.int64(0b11) << (N - r - 1)  # bits of sites r and r+1
        pair = states & mask
        flippable = np.nonzero((pair != 0) & (pair != mask))[0]
        rows.append(flippable)
        cols.append(basis.index(states[flippable] ^ mask))
        values.append(np.full(flippable.size, 0.5 * J))
    matrix = sp.coo_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(stop - start, dim)
    ).tocsr()
    matrix.sort_indices()
    return matrix


def hamiltonian(basis: SectorBasis, fields: np.ndarray, J: float = 1.0) -> sp.csr_matrix:
    """Sparse real symmetric H of Eq. (5) in the sector ``basis``: CSR, shape ``(dim, dim)``, float64.

    Parameters
    ----------
    basis:
        The sector (see :mod:`mblnn.model.basis` for the bit convention).
    fields:
        h_1..h_N in units of J, shape ``(N,)``.
    J:
        Heisenberg coupling (antiferromagnetic for J > 0).
    """
    return hamiltonian_rows(basis, fields, J)
