"""All eigenpairs of a real symmetric matrix with ELPA (Marek et al., J. Phys.: Condens. Matter 26, 213201 (2014)),
through ELPA's own C API loaded with :mod:`ctypes` — on one process or distributed over the ranks of an MPI job.

Why the C API and not SLEPc's ``EPSELPA``: SLEPc 3.26 asks ELPA for the API of 2025-01-31, which the ELPA the
registries ship (Debian's ``libelpa-dev`` 2022.11) refuses (``elpa_init`` error -8, the project notes). ELPA's C API of
2022-11-09 works with it and with any newer ELPA.

Conventions:

* The matrix is held in ELPA's 2D block-cyclic layout on a 1 × P process grid: rank p owns the column blocks
  b = p, p + P, p + 2P, … of :data:`BLOCK` columns each (:func:`owned_columns`), every row of them, in Fortran order
  (``local`` of shape ``(dim, n_local)``). On one process that is the whole matrix.
* ELPA returns the eigenvalues ascending on every rank and the eigenvectors in the same layout as the matrix: the
  local column k of ``vectors`` is the whole eigenvector of ``energies[owned_columns(...)[k]]``. No rank ever holds
  another rank's columns, and an eigenvector never needs gathering.
* ``stage``: 1 (tridiagonal reduction as ScaLAPACK's ``pdsyevd`` does it) or 2 (ELPA's two-stage reduction through a
  band matrix with BLAS-3, its fast solver where it is built with SIMD kernels; Debian's build has generic kernels
  only, docs/benchmarks.md).

The library is ``libelpa.so`` found by :func:`ctypes.util.find_library` or named by ``MBLNN_ELPA_LIBRARY`` (a site's
own ELPA, e.g. a module's ``$ELPA_DIR/lib/libelpa.so``); it must be built against the same MPI as mpi4py.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import os

import numpy as np

from mblnn.errors import InputError

#: The ELPA API version this module speaks (ELPA 2022.11; every later ELPA accepts it).
API_VERSION = 20221109
#: Columns per block of the block-cyclic layout (ELPA's documentation recommends 16–64; 64 measured no slower).
BLOCK = 64
#: ``dense.driver`` / ``dense.mpi_driver`` values that select ELPA, and the ELPA solver (stage) each names.
STAGES = {"elpa_1stage": 1, "elpa_2stage": 2}
#: Environment variable naming the ELPA library to load instead of the system's ``libelpa``.
LIBRARY_VARIABLE = "MBLNN_ELPA_LIBRARY"


class ElpaError(RuntimeError):
    """ELPA refused a setting or failed to solve (the message carries ELPA's own error text)."""


def conda_library() -> str | None:
    """libelpa of the active conda environment (envs/ed.yaml installs conda-forge's ``elpa``), which the system's
    search (ldconfig) does not see; ``None`` outside conda or without it."""
    prefix = os.environ.get("CONDA_PREFIX")
    found = sorted(glob.glob(os.path.join(prefix, "lib", "libelpa.so*"))) if prefix else []
    return found[0] if found else None


@functools.cache
def library() -> ctypes.CDLL:
    """ELPA's shared library with the prototypes this module calls, initialized once per process."""
    name = os.environ.get(LIBRARY_VARIABLE) or ctypes.util.find_library("elpa") or conda_library()
    if not name:
        raise InputError(f"the ELPA drivers (elpa_1stage, elpa_2stage) need libelpa: on Debian `apt-get install "
                         f"libelpa-dev`, on a cluster the site's ELPA module with {LIBRARY_VARIABLE}=/path/to/libelpa.so")
    try:
        lib = ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
    except OSError as error:
        raise InputError(f"could not load ELPA from {name!r} ({LIBRARY_VARIABLE} or the system's libelpa): {error}") from error
    handle, error = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)
    lib.elpa_init.argtypes, lib.elpa_init.restype = [ctypes.c_int], ctypes.c_int
    lib.elpa_allocate.argtypes, lib.elpa_allocate.restype = [error], handle
    lib.elpa_deallocate.argtypes, lib.elpa_deallocate.restype = [handle, error], None
    lib.elpa_set_integer.argtypes, lib.elpa_set_integer.restype = [handle, ctypes.c_char_p, ctypes.c_int, error], None
    lib.elpa_setup.argtypes, lib.elpa_setup.restype = [handle], ctypes.c_int
    doubles = np.ctypeslib.ndpointer(dtype=np.float64, flags="F_CONTIGUOUS")
    lib.elpa_eigenvectors_a_h_a_d.argtypes = [handle, doubles, doubles, doubles, error]
    lib.elpa_eigenvectors_a_h_a_d.restype = None
    lib.elpa_strerr.argtypes, lib.elpa_strerr.restype = [ctypes.c_int], ctypes.c_char_p
    status = lib.elpa_init(API_VERSION)
    if status != 0:
        raise ElpaError(f"elpa_init({API_VERSION}) failed: {_text(lib, status)} (this ELPA ({name}) is older than the "
                        "2022.11 API mblnn speaks)")
    return lib


def _text(lib, status: int) -> str:
    return f"error {status}: {lib.elpa_strerr(status).decode(errors='replace')}"


def owned_blocks(dim: int, rank: int, size: int, block: int = BLOCK) -> list[tuple[int, int]]:
    """The global column ranges ``[start, stop)`` (ascending) that ``rank`` of ``size`` owns in the block-cyclic
    layout: every ``size``-th block of ``block`` columns, starting with block ``rank``; the last may be shorter."""
    return [(start, min(start + block, dim)) for start in range(rank * block, dim, size * block)]


def owned_columns(dim: int, rank: int, size: int, block: int = BLOCK) -> np.ndarray:
    """Global column indices (ascending) that ``rank`` of ``size`` owns in the block-cyclic layout, shape ``(n_local,)``."""
    return np.concatenate([np.arange(start, stop) for start, stop in owned_blocks(dim, rank, size, block)] or
                          [np.empty(0, dtype=int)])


def _self_communicator():
    try:
        from mpi4py import MPI
    except ImportError:
        from mblnn.stack import require_mpi_stack

        require_mpi_stack("the ELPA drivers (elpa_1stage, elpa_2stage)")
        raise
    return MPI.COMM_SELF


def eigh(local: np.ndarray, dim: int, comm=None, stage: int = 1, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """All eigenpairs of the real symmetric ``dim × dim`` matrix whose columns :func:`owned_columns` this rank holds.

    ``local``: shape ``(dim, n_local)``, float64, Fortran order; overwritten. ``comm``: an mpi4py communicator whose
    every rank calls with its own columns (``None``: this process alone, ``MPI.COMM_SELF``). Returns ``(energies (dim,),
    vectors (dim, n_local))``: every eigenvalue ascending, and this rank's eigenvectors (column k belongs to
    ``energies[owned_columns(dim, rank, size)[k]]``), orthonormal.
    """
    if stage not in STAGES.values():
        raise InputError(f"ELPA stage must be 1 or 2, got {stage!r}")
    lib = library()
    comm = _self_communicator() if comm is None else comm
    rank, size = comm.Get_rank(), comm.Get_size()
    n_local = owned_columns(dim, rank, size, block).size
    local = np.asfortranarray(local, dtype=np.float64)
    if local.shape != (dim, n_local):
        raise InputError(f"ELPA: this rank holds {n_local} of the {dim} columns, got a block of shape {local.shape}")
    error = ctypes.c_int(0)

    def check(what: str) -> None:
        if error.value != 0:
            raise ElpaError(f"ELPA {what} on rank {rank} of {size} failed: {_text(lib, error.value)}")

    handle = lib.elpa_allocate(ctypes.byref(error))
    check("allocate")
    try:
        for key, value in (("na", dim), ("nev", dim), ("local_nrows", dim), ("local_ncols", n_local),
                           ("nblk", block), ("mpi_comm_parent", comm.py2f()), ("process_row", 0),
                           ("process_col", rank)):
            lib.elpa_set_integer(handle, key.encode(), int(value), ctypes.byref(error))
            check(f"setting {key}={value}")
        status = lib.elpa_setup(handle)
        if status != 0:
            raise ElpaError(f"ELPA setup on rank {rank} of {size} failed: {_text(lib, status)}")
        lib.elpa_set_integer(handle, b"solver", stage, ctypes.byref(error))
        check(f"choosing the {stage}-stage solver")
        energies = np.empty(dim, order="F")
        vectors = np.empty((dim, n_local), order="F")
        lib.elpa_eigenvectors_a_h_a_d(handle, local, energies, vectors, ctypes.byref(error))
        check(f"eigenvectors of a {dim}-dimensional matrix")
    finally:
        lib.elpa_deallocate(handle, ctypes.byref(error))
    return energies, vectors
