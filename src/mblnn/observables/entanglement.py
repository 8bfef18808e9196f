"""Bipartite entanglement of eigenstates: reduced-density spectra, entropies, Schmidt gaps and the
entanglement spectrum of Eq. (6) of the paper.

Conventions
-----------
* Cut ``N_A`` (1 ≤ N_A ≤ N-1): sites 1..N_A form A, sites N_A+1..N form B (open chain, one cut).
* Because S^z_tot is conserved, ρ_A = Tr_B |ψ⟩⟨ψ| is block diagonal in the number ``k`` of up spins in
  A. In block k the Schmidt matrix M_k[a, b] = ψ(a ⊗ b) runs over the C(N_A, k) configurations a of A
  with k up spins and the C(N_B, n_up - k) configurations b of B with the remaining up spins; the
  eigenvalues of the ρ_A block are the squared singular values of M_k.
* The *entanglement spectrum* (ES) used as network input is ξ = -ln λ of the largest block,
  k = ⌊N_A/2⌋ (length C(N_A, ⌊N_A/2⌋), the paper's n1), sorted ascending (λ descending).
* Entropy S = -Σ λ ln λ (natural log) and Schmidt gap λ1 - λ2 use the full spectrum of ρ_A (all
  blocks).

Numerical floor
---------------
λ is computed as σ² from a singular value decomposition of M_k (method ``"svd"``, default), which
resolves λ down to about ε_mach² ≈ 4.9e-32 (σ has absolute accuracy ε_mach). The alternative
``"gram"`` diagonalizes M M^T and resolves λ only down to ε_mach ≈ 2.2e-16 — that is the floor the
paper describes ("the second half ... smaller than 1e-16"). Before the logarithm every λ below the
method's floor (exact zeros of rank-deficient blocks and tiny negative values from round-off
included) is set to the floor, so ξ is finite, at most -ln(floor) (72.1 for svd, 36.0 for gram),
and levels beyond the resolution form a constant plateau instead of noise.

``"rho_float64"`` takes the eigenvalues of the ρ_A block (M M^T) from LAPACK's symmetric eigensolver in
float64 as they come, as the paper's double-precision arithmetic gave them: λ below ~1e-16 are rounding
noise of order ε_mach·λ_max, of either sign and different for every state. ξ = -ln|λ| (the size of the
noise; |λ| below ε_mach², i.e. exact zeros, is set to ε_mach² so ξ ≤ 72.1), sorted ascending. Entropy,
Schmidt gap and trace are those of ``"gram"``.

All work is vectorized over eigenstates in chunks (batched LAPACK through numpy's stacked
``linalg`` routines, chunks spread over threads); Python loops run only over cuts, S^z_A blocks and
chunks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from math import comb

import numpy as np
from scipy.special import xlogy
from threadpoolctl import threadpool_limits

from mblnn.model.basis import SectorBasis, popcount
from mblnn.errors import InputError

METHODS = ("svd", "gram", "rho_float64")
_EPS = np.finfo(np.float64).eps
LAMBDA_FLOOR = {"svd": _EPS**2, "gram": _EPS, "rho_float64": _EPS**2}

#: Target size of the per-chunk copy of eigenvector amplitudes (bytes); bounds the extra memory.
_CHUNK_BYTES = 64 * 2**20


def check_cuts(N: int, cuts: Iterable[int]) -> tuple[int, ...]:
    """Validate entanglement cuts (1 ≤ N_A ≤ N-1) and return them sorted and unique."""
    cuts = tuple(int(c) for c in cuts)
    if not cuts:
        raise InputError("cuts must name at least one N_A")
    bad = [c for c in cuts if not 1 <= c <= N - 1]
    if bad:
        raise InputError(f"cuts: N_A must satisfy 1 <= N_A <= N-1 = {N - 1}, got {bad}")
    return tuple(sorted(set(cuts)))


def largest_block_size(N_A: int) -> int:
    """Length n1 = C(N_A, ⌊N_A/2⌋) of the entanglement spectrum used as network input."""
    return comb(N_A, N_A // 2)


@dataclass(frozen=True)
class CutBlocks:
    """Where the Schmidt matrices of one cut sit in the sector basis.

    ``rows[i]`` is an int array of shape ``(dA, dB)`` of basis positions: entry ``[a, b]`` is the
    position of the state a ⊗ b of block ``k[i]`` (a, b enumerated in ascending bit order).
    """

    N_A: int
    k: tuple[int, ...]
    rows: tuple[np.ndarray, ...]

    @property
    def largest(self) -> int:
        """Index into ``k``/``rows`` of the block with ⌊N_A/2⌋ up spins in A."""
        return self.k.index(self.N_A // 2)


def cut_blocks(basis: SectorBasis, N_A: int) -> CutBlocks:
    """Index maps of the S^z_A blocks of cut ``N_A`` (vectorized over basis states)."""
    (N_A,) = check_cuts(basis.N, [N_A])
    N_B = basis.N - N_A
    k_of_state = popcount(basis.states >> N_B)
    ks, rows = [], []
    for k in range(max(0, basis.n_up - N_B), min(N_A, basis.n_up) + 1):
        # Basis order is A-major (site 1 is the top bit), so the states of block k come grouped by
        # their A configuration, each group listing its B partners in ascending order.
        positions = np.nonzero(k_of_state == k)[0]
        ks.append(k)
        rows.append(positions.reshape(comb(N_A, k), comb(N_B, basis.n_up - k)))
    return CutBlocks(N_A=N_A, k=tuple(ks), rows=tuple(rows))


def _block_lambdas(amplitudes: np.ndarray, rows: np.ndarray, method: str) -> np.ndarray:
    """Eigenvalues of one ρ_A block for a chunk of states, descending, shape ``(chunk, min(dA, dB))``."""
    schmidt = np.take(amplitudes, rows, axis=1)  # (chunk, dA, dB)
    if method == "svd":
        return np.linalg.svd(schmidt, compute_uv=False) ** 2
    gram = schmidt @ schmidt.transpose(0, 2, 1) if rows.shape[0] <= rows.shape[1] else schmidt.transpose(0, 2, 1) @ schmidt
    return np.linalg.eigvalsh(gram)[:, ::-1]


@dataclass(frozen=True)
class CutEntanglement:
    """Entanglement of every eigenstate for one cut.

    Attributes
    ----------
    N_A:
        Number of sites in A (sites 1..N_A).
    entropy:
        von Neumann entropy S = -Σ λ ln λ (nats), shape ``(n_states,)``.
    schmidt_gap:
        λ1 - λ2 of the full ρ_A spectrum, shape ``(n_states,)``.
    spectrum:
        Entanglement spectrum ξ = -ln λ of the largest block, ascending, floor applied (see module
        docstring), shape ``(n_states, C(N_A, ⌊N_A/2⌋))``.
    trace:
        Tr ρ_A = Σ λ (should be 1), shape ``(n_states,)``.
    rho_spectrum:
        Only when requested: the full spectrum of ρ_A (all 2^N_A eigenvalues, the zeros of the
        blocks the sector forbids included, no floor), descending, shape ``(n_states, 2**N_A)``.
    """

    N_A: int
    entropy: np.ndarray
    schmidt_gap: np.ndarray
    spectrum: np.ndarray
    trace: np.ndarray
    rho_spectrum: np.ndarray | None = None


def available_cpus() -> int:
    """CPUs this process may run on (respects affinity masks set by Slurm, taskset, cgroups)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def entanglement(
    vectors: np.ndarray,
    basis: SectorBasis,
    cuts: Iterable[int],
    method: str = "svd",
    return_rho_spectrum: bool = False,
    chunk: int | None = None,
    workers: int | None = None,
) -> dict[int, CutEntanglement]:
    """Entanglement quantities of every eigenstate for every cut.

    Parameters
    ----------
    vectors:
        Eigenvectors as columns, shape ``(dim, n_states)``, in the basis order of ``basis``.
    basis:
        The sector basis.
    cuts:
        The N_A values (1 ≤ N_A ≤ N-1).
    method:
        ``"svd"`` (default, λ resolved to ε_mach²), ``"gram"`` (λ resolved to ε_mach) or ``"rho_float64"`` (the
        ρ_A block's float64 eigenvalues with their rounding noise, ξ = -ln|λ|; module docstring).
    return_rho_spectrum:
        Also return the full ρ_A spectrum per state (for checks; memory n_states × 2^N_A).
    chunk:
        Eigenstates processed at once; default keeps the per-chunk copy near 64 MiB and gives every
        worker several chunks.
    workers:
        Threads working on chunks (default: the CPUs this process may use). The many small LAPACK
        calls run with single-threaded BLAS; threads over chunks scale instead (numpy's stacked
        linalg releases the GIL).

    Returns
    -------
    ``{N_A: CutEntanglement}``.
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got method={method!r}")
    cuts = check_cuts(basis.N, cuts)
    if vectors.ndim != 2 or vectors.shape[0] != basis.dim:
        raise InputError(f"vectors must have shape (dim={basis.dim}, n_states), got {vectors.shape}")
    n_states = vectors.shape[1]
    workers = workers or available_cpus()
    chunk = chunk or max(1, min(_CHUNK_BYTES // (8 * basis.dim), -(-n_states // (4 * workers))))
    states_first = vectors.T  # C-contiguous rows for LAPACK's Fortran-ordered eigenvectors
    floor = LAMBDA_FLOOR[method]
    results = {}
    for N_A in cuts:
        blocks = cut_blocks(basis, N_A)
        n1 = largest_block_size(N_A)
        entropy = np.empty(n_states)
        gap = np.empty(n_states)
        trace = np.empty(n_states)
        spectrum = np.empty((n_states, n1))
        rho = np.zeros((n_states, 2**N_A)) if return_rho_spectrum else None

        def one_chunk(start: int) -> None:
            # each call fills its own rows of the output arrays, so threads never share a slot
            stop = min(start + chunk, n_states)
            amplitudes = np.ascontiguousarray(states_first[start:stop])
            lambdas = [_block_lambdas(amplitudes, rows, method) for rows in blocks.rows]
            if method == "rho_float64":
                # the noise's size, not a plateau: the order of the unresolved levels is the noise's own
                largest = np.maximum(np.abs(lambdas[blocks.largest]), floor)
                spectrum[start:stop, : largest.shape[1]] = np.sort(-np.log(largest), axis=1)
            else:
                largest = np.maximum(lambdas[blocks.largest], floor)
                spectrum[start:stop, : largest.shape[1]] = -np.log(largest)
            spectrum[start:stop, largest.shape[1] :] = -np.log(floor)  # rank-deficient block
            everything = np.concatenate(lambdas, axis=1)
            top_two = -np.partition(-everything, 1, axis=1)[:, :2] if everything.shape[1] > 1 else np.pad(everything, ((0, 0), (0, 1)))
            gap[start:stop] = np.abs(top_two[:, 0] - top_two[:, 1])
            positive = np.clip(everything, 0.0, None)
            entropy[start:stop] = -xlogy(positive, positive).sum(axis=1)
            trace[start:stop] = everything.sum(axis=1)
            if rho is not None:
                rho[start:stop, : everything.shape[1]] = -np.sort(-everything, axis=1)

        with threadpool_limits(1), ThreadPoolExecutor(workers) as pool:
            list(pool.map(one_chunk, range(0, n_states, chunk)))
        results[N_A] = CutEntanglement(N_A, entropy, gap, spectrum, trace, rho)
    return results
