"""Independent brute-force reference for small chains, sharing no code with mblnn.

Everything is built in the full 2^N Hilbert space from Kronecker products of Pauli matrices
(site 1 is the leftmost factor, the standard |↑⟩ = (1, 0) convention), the S^z_tot = 0 sector is
picked from the diagonal of the Kronecker-built S^z_tot, and reduced density matrices come from an
explicit partial trace of |ψ⟩⟨ψ| over B.
"""

from __future__ import annotations

from functools import reduce

import numpy as np

SIGMA = {
    "x": np.array([[0, 1], [1, 0]], dtype=complex),
    "y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "z": np.array([[1, 0], [0, -1]], dtype=complex),
}


def spin_operator(axis: str, site: int, N: int) -> np.ndarray:
    """S^axis_site = σ/2 on site ``site`` (1-based) of N sites, as a 2^N × 2^N matrix."""
    factors = [np.eye(2, dtype=complex)] * N
    factors = factors[: site - 1] + [SIGMA[axis] / 2] + factors[site:]
    return reduce(np.kron, factors)


def full_hamiltonian(fields: np.ndarray, J: float = 1.0) -> np.ndarray:
    """H = J Σ S_r·S_{r+1} + Σ h_r S^z_r with open boundaries in the full 2^N space (complex)."""
    N = len(fields)
    ops = {(a, r): spin_operator(a, r, N) for a in "xyz" for r in range(1, N + 1)}
    H = sum(J * ops[a, r] @ ops[a, r + 1] for r in range(1, N) for a in "xyz")
    return H + sum(h * ops["z", r] for r, h in zip(range(1, N + 1), fields))


def total_sz(N: int) -> np.ndarray:
    return sum(spin_operator("z", r, N) for r in range(1, N + 1))


def sector_eigenpairs(fields: np.ndarray, J: float = 1.0):
    """Eigenpairs of H in the S^z_tot = 0 sector, eigenvectors embedded in the full 2^N space."""
    N = len(fields)
    H = full_hamiltonian(fields, J)
    sector = np.nonzero(np.isclose(np.diag(total_sz(N)).real, 0.0))[0]
    energies, vectors = np.linalg.eigh(H[np.ix_(sector, sector)])
    embedded = np.zeros((2**N, len(sector)), dtype=complex)
    embedded[sector] = vectors
    return energies, embedded


def reduced_density_matrix(psi: np.ndarray, N_A: int) -> np.ndarray:
    """ρ_A = Tr_B |ψ⟩⟨ψ| by an explicit partial trace; A = sites 1..N_A."""
    N = int(np.log2(psi.size))
    dA, dB = 2**N_A, 2 ** (N - N_A)
    rho = np.outer(psi, psi.conj()).reshape(dA, dB, dA, dB)
    return np.einsum("ibjb->ij", rho)


def largest_block_indices(N_A: int) -> np.ndarray:
    """Full-space indices of the A configurations with ⌊N_A/2⌋ up spins (up = Pauli index 0)."""
    a = np.arange(2**N_A)
    ups = N_A - np.array([bin(x).count("1") for x in a])
    return a[ups == N_A // 2]
