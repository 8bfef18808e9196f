"""One bare full diagonalization of the N-spin sector Hamiltonian (h̄ = 3, seed 1, realization 0), timed; run by
``bench/ed.py --drivers`` as a plain process or under ``mpirun -n P`` (ELPA, ScaLAPACK), so that MPI never starts in
the benchmark's own process. Prints one JSON line on rank 0: {"N", "driver", "ranks", "seconds"}.

    mpirun -n 2 python bench/elpa_solve.py 14 elpa_1stage
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from mpi4py import MPI

from mblnn.model.basis import SectorBasis
from mblnn.model.disorder import random_fields
from mblnn.model.hamiltonian import Couplings
from mblnn.solve import elpa, mpi


def main(N: int, driver: str) -> None:
    comm = MPI.COMM_WORLD
    basis = SectorBasis.build(N)
    fields = random_fields(1, N, 0, 3.0)
    comm.Barrier()
    start = time.perf_counter()
    if driver == "scalapack":
        H = mpi.DistributedHamiltonian(basis, Couplings(), mpi.world(), dense=True)
        H.set_fields(fields)
        eps = mpi.scalapack_eigenpairs(H)
        eps.destroy()
        H.destroy()
    else:
        _, energies, _, _ = mpi.elpa_eigenpairs(basis, fields, Couplings(), elpa.STAGES[driver])
        assert np.all(np.diff(energies) >= 0)
    comm.Barrier()
    if comm.Get_rank() == 0:
        print(json.dumps({"N": N, "driver": driver, "ranks": comm.Get_size(), "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
