"""Computational basis of a fixed-magnetization sector of a spin-1/2 chain.

Conventions (used everywhere in mblnn):

* Sites are numbered r = 1, ..., N. A basis state is an integer ``s`` whose bit ``N - r`` holds the
  spin of site r: bit 1 means spin up (S^z_r = +1/2), bit 0 spin down. Site 1 is therefore the most
  significant bit, so that reading ``s`` in binary lists sites 1..N from left to right, the order
  of a Kronecker product ``op_1 ⊗ op_2 ⊗ ... ⊗ op_N``.
* A sector is fixed by its number of up spins ``n_up``; S^z_tot = n_up - N/2. The default sector
  S^z_tot = 0 needs even N.
* The basis states of a sector are sorted ascending. Because site 1 is the most significant bit,
  sorting by ``s`` sorts first by the configuration of the left part A = sites 1..N_A and then by
  the right part B; the entanglement code relies on that.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import comb

import numpy as np

from mblnn.errors import InputError

#: Largest chain the bit-integer representation supports (int64 state labels, 2^N scan).
MAX_SITES = 40


def n_up_for_sector(N: int, sz: float = 0.0) -> int:
    """Number of up spins of the sector with total magnetization ``sz`` (in units of hbar).

    Raises :class:`InputError` when the sector does not exist (e.g. odd N with S^z_tot = 0).
    """
    if not isinstance(N, (int, np.integer)) or N < 2:
        raise InputError(f"N must be an integer >= 2, got N={N!r}")
    if N > MAX_SITES:
        raise InputError(f"N={N} exceeds the supported maximum of {MAX_SITES} sites")
    twice = 2.0 * float(sz) + N  # = 2 * n_up
    if abs(twice - round(twice)) > 1e-12 or int(round(twice)) % 2:
        parity = "even" if N % 2 == 0 else "odd"
        raise InputError(
            f"sz={sz} is not a magnetization sector of N={N} sites ({parity} N needs "
            f"{'integer' if N % 2 == 0 else 'half-integer'} sz); the S^z_tot = 0 sector needs even N"
        )
    n_up = int(round(twice)) // 2
    if not 0 <= n_up <= N:
        raise InputError(f"sz={sz} is outside [-N/2, N/2] = [{-N / 2}, {N / 2}]")
    return n_up


def popcount(states: np.ndarray) -> np.ndarray:
    """Number of set bits of each integer in ``states`` (vectorized)."""
    return np.bitwise_count(states).astype(np.int64)


@dataclass(frozen=True)
class SectorBasis:
    """The sorted basis states of the sector of ``N`` sites with ``n_up`` up spins.

    Attributes
    ----------
    N, n_up:
        Chain length and number of up spins.
    states:
        int64 array of shape ``(dim,)``, the sorted bit patterns (see the module docstring).
    """

    N: int
    n_up: int
    states: np.ndarray

    @classmethod
    def build(cls, N: int, sz: float = 0.0) -> "SectorBasis":
        """Enumerate the sector by a vectorized popcount over all 2^N patterns."""
        n_up = n_up_for_sector(N, sz)
        # uint32 halves the memory of the 2^N scan; beyond 32 sites the scan itself is out of reach
        dtype = np.uint32 if N <= 32 else np.uint64
        everything = np.arange(1 << N, dtype=dtype)
        states = everything[np.bitwise_count(everything) == n_up].astype(np.int64)
        return cls(N=N, n_up=n_up, states=states)

    @property
    def dim(self) -> int:
        return int(self.states.size)

    @property
    def sz(self) -> float:
        return self.n_up - self.N / 2

    def index(self, states: np.ndarray) -> np.ndarray:
        """Positions of the given bit patterns in the basis (they must belong to the sector)."""
        return np.searchsorted(self.states, states)

    @cached_property
    def spins(self) -> np.ndarray:
        """S^z of every site in every basis state: float array ``(dim, N)``, entries ±1/2.

        Column ``r - 1`` is site r.
        """
        shifts = np.arange(self.N - 1, -1, -1, dtype=np.int64)
        return ((self.states[:, None] >> shifts) & 1).astype(np.float64) - 0.5


def sector_dimension(N: int, sz: float = 0.0) -> int:
    """Dimension C(N, n_up) of the sector, without building it."""
    return comb(N, n_up_for_sector(N, sz))
