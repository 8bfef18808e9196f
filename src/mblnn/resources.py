"""Cluster resources of the campaign's jobs, derived from the config and the benchmarks (README).

Memory in MB and runtime in minutes, each with a safety factor over what ``bench/`` measured on 2
cores (dense: ``bench/ed.py``; shift-invert: ``bench/shift_invert.py``). The workflow's rules read
these, so resources grow with N and follow the solver chosen for it; nothing is typed twice.
"""

from __future__ import annotations

import math

from mblnn.model.basis import sector_dimension
from mblnn.config import solver_for

#: Safety factor on measured memory and time (runtime limits kill jobs; queues favour short ones).
SAFETY = 2.0
_MIN_MEM_MB, _MIN_RUNTIME = 1000, 10

# Measured anchors (2 cores): dense eigh + entanglement, N = 16 (dim 12,870): 167 s, 2.7 GB.
_DENSE_DIM, _DENSE_SECONDS = 12870, 167.0
# Shift-invert, 2 ranks, one target of 100 pairs incl. bounds, N = 18 (dim 48,620): 34 s, 0.64 GiB/rank;
# N = 20 (dim 184,756): 407 s, 5.1 GiB/rank -> time ~ dim^1.86, memory ~ dim^1.56.
_SI_DIM, _SI_SECONDS, _SI_GIB_PER_RANK = 48620, 34.0, 0.64
_SI_TIME_EXPONENT, _SI_MEMORY_EXPONENT = 1.86, 1.56


def _dense_bytes(dim: int) -> float:
    # matrix overwritten by eigenvectors + dsyevd's 2 n^2 workspace, float64
    return 3.0 * dim * dim * 8


def diagonalize_mem_mb(config: dict, N: int) -> int:
    """Memory of one diagonalization job of chain length N (all ranks together)."""
    dim = sector_dimension(N, config["model"]["sz"])
    solver = solver_for(config, N)
    if solver == "shift_invert":
        ranks = config["solver"]["mpi_ranks"]
        per_rank = _SI_GIB_PER_RANK * (dim / _SI_DIM) ** _SI_MEMORY_EXPONENT * 2 / ranks * 2**30
        need = ranks * per_rank
    else:  # dense, dense_mpi (distributed over ranks, same total), auto (dense when it fits)
        need = _dense_bytes(dim)
    return max(_MIN_MEM_MB, math.ceil(SAFETY * need / 2**20))


def diagonalize_runtime(config: dict, N: int) -> int:
    """Wall-time limit (minutes) of one diagonalization job of chain length N."""
    dim = sector_dimension(N, config["model"]["sz"])
    solver = solver_for(config, N)
    if solver == "shift_invert":
        targets = len(config["shift_invert"]["targets"])
        seconds = _SI_SECONDS * (dim / _SI_DIM) ** _SI_TIME_EXPONENT * targets * 2 / config["solver"]["mpi_ranks"]
    else:
        seconds = _DENSE_SECONDS * (dim / _DENSE_DIM) ** 3
    return max(_MIN_RUNTIME, math.ceil(SAFETY * seconds / 60))
