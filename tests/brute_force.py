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


def bonds(N: int, distance: int, periodic: bool) -> list[tuple[int, int]]:
    """Site pairs (r, r + distance), 1-based; on a ring every r = 1..N with the partner taken mod N."""
    last = N if periodic else N - distance
    return [(r, (r + distance - 1) % N + 1) for r in range(1, last + 1)]


def full_hamiltonian(fields: np.ndarray, J: float = 1.0, delta: float = 1.0, J2: float = 0.0,
                     periodic: bool = False) -> np.ndarray:
    """H = J Σ_(r,r+1) (S^x S^x + S^y S^y + Δ S^z S^z) + J2 Σ_(r,r+2) S·S + Σ h_r S^z_r in the full 2^N space
    (complex); open boundaries unless ``periodic``. The defaults are Eq. (5)."""
    N = len(fields)
    ops = {(a, r): spin_operator(a, r, N) for a in "xyz" for r in range(1, N + 1)}
    anisotropy = {"x": 1.0, "y": 1.0, "z": delta}
    H = sum(J * anisotropy[a] * ops[a, r] @ ops[a, s] for r, s in bonds(N, 1, periodic) for a in "xyz")
    if J2:
        H = H + sum(J2 * ops[a, r] @ ops[a, s] for r, s in bonds(N, 2, periodic) for a in "xyz")
    return H + sum(h * ops["z", r] for r, h in zip(range(1, N + 1), fields))


def total_sz(N: int) -> np.ndarray:
    return sum(spin_operator("z", r, N) for r in range(1, N + 1))


def sector_eigenpairs(fields: np.ndarray, J: float = 1.0, **model):
    """Eigenpairs of H in the S^z_tot = 0 sector, eigenvectors embedded in the full 2^N space; ``model``: delta,
    J2, periodic (:func:`full_hamiltonian`)."""
    N = len(fields)
    H = full_hamiltonian(fields, J, **model)
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
