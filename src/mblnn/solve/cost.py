"""The one cost model of the eigensolvers: memory (bytes) and time (seconds) of one sample by solver, dimension and
ranks. The solvers' own checks (:func:`mblnn.solve.dense.check_dense_fits`, the ``dense_mpi`` budget) and the
workflow's per-job resources (``mem_mb``, ``runtime``: :func:`job_mem_mb`, :func:`job_runtime_min`) read it, and
the config check refuses sizes whose jobs exceed ``resources.max_mem_mb``.

Anchors measured on 2 cores (docs/benchmarks.md): a whole dense sample (eigh + entanglement + r), N = 16 (dim 12,870):
218 s with dsyevd (2026-12-06; 167 s in November), the other one-process drivers by their measured ratio to it
(:data:`DENSE_DRIVER_TIME`), dense_mpi on 2 ranks by its measured whole-sample time per driver
(:data:`DENSE_MPI_SECONDS`); shift-invert, 2 ranks, one target of 100 pairs incl. bounds, N = 18 (dim 48,620): 34 s,
0.64 GiB/rank and N = 20 (dim 184,756): 407 s, 5.1 GiB/rank, so time ~ dim^1.86 and memory ~ dim^1.56; the
polynomial filter (FILTLAN, degree constant 1.5), 2 ranks, one target of 100 pairs: N = 16 25.8 s, N = 18 337.9 s
measured, N = 20 and 22 predicted from measured parts (:data:`FILTER_SECONDS`).
"""

from __future__ import annotations

import bisect
import math

from mblnn.schema import default

#: n×n double-precision buffers each LAPACK driver holds at its peak: the input matrix (overwritten),
#: the eigenvector matrix, and the workspace (dsyevd: 1 + 6n + 2n² doubles); ELPA (one process): the matrix, the
#: eigenvectors and ELPA's own work arrays — peak resident memory at N = 14 above the process's before the solve:
#: 3.2 n² doubles with evd, 3.4 with elpa_1stage, 4.1 with elpa_2stage (MPI's own buffers included), rounded up.
MATRICES_AT_PEAK = {"evd": 4.0, "evr": 2.0, "ev": 2.0, "elpa_1stage": 4.0, "elpa_2stage": 4.5}
#: Safety factor of job requests over the measured cost (runtime limits kill jobs; queues favour short ones).
SAFETY = 2.0
MIN_MEM_MB, MIN_RUNTIME_MIN = 1000, 10

_DENSE_DIM, _DENSE_SECONDS = 12870, 218.0
#: wall time of each one-process driver over dsyevd's (bench/ed.py --drivers, 2026-12-06: evr bare and elpa_1stage
#: as whole samples at N = 16; dsyev bare and elpa_2stage as samples at N = 14, not timed at 16)
DENSE_DRIVER_TIME = {"evd": 1.0, "evr": 0.97, "ev": 12.14, "elpa_1stage": 1.88, "elpa_2stage": 4.16}
#: seconds of one whole dense_mpi sample (solve, entanglement of the half cut, gap ratios) at dim _DENSE_DIM on 2
#: ranks, by ``dense.mpi_driver`` (bench/ed.py --drivers, 2026-12-06): elpa_1stage measured at N = 16 (236.5 s), the
#: others by their measured ratio to it at N = 14 (27.72 and 14.81 against 6.04 s); divided by ranks / 2 beyond 2
#: ranks (ideal scaling, not measured here beyond 2 ranks; a timed-out job's retry asks for twice the time)
DENSE_MPI_SECONDS = {"elpa_1stage": 236.5, "scalapack": 236.5 * 27.72 / 6.04, "elpa_2stage": 236.5 * 14.81 / 6.04}
_SI_DIM, _SI_SECONDS, _SI_GIB_PER_RANK = 48620, 34.0, 0.64
_SI_TIME_EXPONENT, _SI_MEMORY_EXPONENT = 1.86, 1.56
#: the polynomial filter (FILTLAN, degree constant 1.5), one target of 100 pairs on 2 ranks, seconds by sector
#: dimension: N = 16 and 18 measured (bench/interior.py --filters, 2026-12-06), N = 20 measured end to end
#: (bench/interior.py --sizes 20, the same day: 5,311.7 s), N = 22 predicted from its timed p(H) (--probe, the same
#: day: 73,383 s) × 1.10, the probe's underestimate at N = 20 (4,834 s predicted). A matrix-vector product grows
#: ×4–8 from N = 18 to 20 (it leaves the cache), so no single power of the dimension fits: the model interpolates
#: these points (:func:`log_log`).
FILTER_SECONDS = {12870: 25.8, 48620: 337.9, 184756: 5311.7, 705432: 73383 * 1.10}


def dense_memory_bytes(dim: int, driver: str = default("dense.driver")) -> int:
    """Peak memory of the one-process LAPACK diagonalization of a sector of dimension ``dim``."""
    return int(MATRICES_AT_PEAK[driver] * 8 * dim * dim)


def dense_mpi_memory_bytes(dim: int, ranks: int) -> int:
    """Peak memory per rank of the ScaLAPACK diagonalization: matrix, eigenvectors and workspace, each ~ dim²/P."""
    return int(3 * 8 * dim * dim / ranks)


def shift_invert_memory_bytes(dim: int, ranks: int) -> int:
    """Peak memory per rank of shift-invert (MUMPS LDLᵀ factor and Krylov basis), scaled from the anchors."""
    return int(_SI_GIB_PER_RANK * (dim / _SI_DIM) ** _SI_MEMORY_EXPONENT * 2 / ranks * 2**30)


def filter_memory_bytes(dim: int, ranks: int, nev: int = default("shift_invert.nev"), bandwidth: int = 12) -> int:
    """Peak memory per rank of the polynomial filter: the Krylov basis (ncv ≈ 3.6 nev + 40 vectors, SLEPc's default
    of twice the 1.2 × 1.5 nev pairs expected in the interval), a few work vectors and the sparse matrix (about
    ``bandwidth`` nonzeros per row, 12 bytes each)."""
    vectors = 3.6 * nev + 40 + 8
    return int((vectors * 8 + bandwidth * 12) * dim / ranks)


def memory_bytes(solver: str, dim: int, ranks: int = 1, driver: str = default("dense.driver"),
                 nev: int = default("shift_invert.nev")) -> int:
    """Memory of one sample's solve, all ranks together (``auto``: as dense, which it picks when that fits)."""
    if solver == "filter":
        return ranks * filter_memory_bytes(dim, ranks, nev)
    if solver == "shift_invert":
        return ranks * shift_invert_memory_bytes(dim, ranks)
    if solver == "dense_mpi":
        return ranks * dense_mpi_memory_bytes(dim, ranks)
    return dense_memory_bytes(dim, driver)


def log_log(points: dict[int, float], x: float) -> float:
    """``points`` (x → y, positive) interpolated linearly in log x, log y; extrapolated by the nearest segment."""
    xs = sorted(points)
    i = min(max(bisect.bisect_left(xs, x), 1), len(xs) - 1)
    x0, x1 = xs[i - 1], xs[i]
    return points[x0] * (x / x0) ** (math.log(points[x1] / points[x0]) / math.log(x1 / x0))


def seconds(solver: str, dim: int, ranks: int = 1, targets: int = 1, driver: str = default("dense.driver"),
            mpi_driver: str = default("dense.mpi_driver")) -> float:
    """Wall time of one sample's solve (shift-invert and filter: ``targets`` windows; ``dense``: by ``driver``,
    ``dense_mpi``: by ``mpi_driver``)."""
    if solver == "shift_invert":
        return _SI_SECONDS * (dim / _SI_DIM) ** _SI_TIME_EXPONENT * targets * 2 / ranks
    if solver == "filter":
        return log_log(FILTER_SECONDS, dim) * targets * 2 / ranks
    if solver == "dense_mpi":
        return DENSE_MPI_SECONDS[mpi_driver] * (dim / _DENSE_DIM) ** 3 * 2 / ranks
    return _DENSE_SECONDS * (dim / _DENSE_DIM) ** 3 * DENSE_DRIVER_TIME[driver]


def mem_request_mb(need_bytes: float) -> int:
    """A job's memory request (MB) for a modelled need: :data:`SAFETY` × the need, at least :data:`MIN_MEM_MB`."""
    return max(MIN_MEM_MB, math.ceil(SAFETY * need_bytes / 2**20))


def runtime_request_min(need_seconds: float) -> int:
    """A job's wall-time request (minutes): :data:`SAFETY` × the modelled time, at least :data:`MIN_RUNTIME_MIN`."""
    return max(MIN_RUNTIME_MIN, math.ceil(SAFETY * need_seconds / 60))


def job_mem_mb(solver: str, dim: int, ranks: int = 1, driver: str = default("dense.driver"),
               nev: int = default("shift_invert.nev")) -> int:
    """Memory request (MB) of one diagonalization job (:func:`mem_request_mb` of :func:`memory_bytes`)."""
    return mem_request_mb(memory_bytes(solver, dim, ranks, driver, nev))


def job_runtime_min(solver: str, dim: int, ranks: int = 1, targets: int = 1, driver: str = default("dense.driver"),
                    mpi_driver: str = default("dense.mpi_driver")) -> int:
    """Wall-time request (minutes) of one diagonalization job (:func:`runtime_request_min` of :func:`seconds`)."""
    return runtime_request_min(seconds(solver, dim, ranks, targets, driver, mpi_driver))
