"""Which software stack a campaign needs: the Python stack always (TensorFlow, Snakemake, zarr, ...); the MPI stack
(PETSc and SLEPc with petsc4py, slepc4py and mpi4py, built from source by ``make setup-mpi``) only for the solvers
that run under MPI. A campaign or command that needs the MPI stack where it is missing stops with one line that says
what is missing and how to install it, before any work.
"""

from __future__ import annotations

import importlib

from mblnn.errors import InputError
from mblnn.solve.settings import SOLVERS

#: solvers whose samples run under an MPI launcher with PETSc/SLEPc: every solver but one-process LAPACK
MPI_SOLVERS = tuple(solver for solver in SOLVERS if solver != "dense")
#: the Python packages of the MPI stack
MPI_PACKAGES = ("petsc4py", "slepc4py", "mpi4py")
#: how the MPI stack is installed, and what it costs (README: 15.6-20 minutes on 2 cores, measured on three machines)
MPI_SETUP = ("`make setup-mpi` (Debian's Open MPI, MUMPS, ScaLAPACK and ELPA, then PETSc/SLEPc with petsc4py, "
             "slepc4py and mpi4py built from source: about 16-20 minutes on 2 cores, once)")


def missing_mpi_packages() -> list[str]:
    """The packages of the MPI stack that cannot be imported here (importing them starts neither PETSc nor MPI)."""
    missing = []
    for name in MPI_PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def require_mpi_stack(what: str) -> None:
    """Raise :class:`InputError` naming ``what`` needs the MPI stack, what is missing and the command that installs
    it, if any of its packages is missing."""
    missing = missing_mpi_packages()
    if missing:
        raise InputError(f"{what} needs the MPI stack, and {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                         f"not installed: install it with {MPI_SETUP}")
