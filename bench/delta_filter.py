"""A POLFED-like delta filter, prototyped against the solver's filter (issue 29 item 3; not a solver of the library).

    mpirun -n 2 python bench/delta_filter.py 16 0.5,1.0       # N, then degree constants c

The 100 eigenpairs nearest ε = 0.5 of the bench's chain (h̄ = 3, seed 1, bench/interior.py) from p(H), the
Chebyshev expansion of δ(H − σ) with the Jackson kernel (Sierant, Lewenstein & Zakrzewski, PRL 125, 156601 (2020)),
of degree c × (E_max − E_min) / (the width holding 100 states by the Gaussian density of states): Krylov-Schur for
the 100 largest eigenvalues of p(H) (a Python shell matrix: each application is `degree` products with H), then
Rayleigh-Ritz with H on the converged vectors (p is nearly even about σ, so its eigenvectors may mix pairs at equal
distance). Prints per c: degree, Krylov-Schur iterations, filtered vectors K, products with H (K × degree, the
number to set beside `bench/interior.py --filters`), the largest residual ‖Hv − Ev‖ of the 100 pairs, and the time.
"""

import json
import sys
import time

import numpy as np
import petsc4py

petsc4py.init(sys.argv[:1])
from petsc4py import PETSc  # noqa: E402
from slepc4py import SLEPc  # noqa: E402

from mblnn.model.basis import SectorBasis  # noqa: E402
from mblnn.model.disorder import random_fields  # noqa: E402
from mblnn.solve.mpi import DistributedHamiltonian, FilterSolver, spectrum_bounds  # noqa: E402

from interior import HBAR, NEV, SEED, TARGET  # noqa: E402  the chain and pairs of bench/interior.py, beside it


class DeltaFilter:
    """p(H) x = Σ_k g_k a_k T_k(H̃) x with H̃ = (H − center)/half, a_k = (2 − δ_k0) T_k(σ̃), Jackson's g_k."""

    def __init__(self, H, sigma: float, bounds: tuple[float, float], degree: int):
        self.H, self.degree, self.products = H.matrix, degree, 0
        self.center, self.half = 0.5 * (bounds[1] + bounds[0]), 0.5 * (bounds[1] - bounds[0]) * 1.01
        k, angle = np.arange(degree + 1), np.pi / (degree + 2)
        jackson = ((degree + 2 - k) * np.cos(k * angle) + np.sin(k * angle) / np.tan(angle)) / (degree + 2)
        self.coefficients = jackson * np.cos(k * np.arccos((sigma - self.center) / self.half)) * np.where(k == 0, 1.0, 2.0)
        self.work = [H.matrix.createVecRight() for _ in range(3)]

    def mult(self, mat, x, y):
        previous, current, following = self.work
        c, h = self.center, self.half
        x.copy(previous)
        y.set(0.0)
        y.axpy(self.coefficients[0], previous)
        self.H.mult(previous, current)
        current.axpby(-c / h, 1.0 / h, previous)  # T_1(H̃) x
        y.axpy(self.coefficients[1], current)
        for k in range(2, self.degree + 1):  # T_k = 2 H̃ T_{k-1} − T_{k-2}
            self.H.mult(current, following)
            following.axpby(-2.0 * c / h, 2.0 / h, current)
            following.axpy(-1.0, previous)
            y.axpy(self.coefficients[k], following)
            previous, current, following = current, following, previous
        self.products += self.degree


def solve(H, bounds, constant: float) -> dict:
    comm = H.comm
    e_min, e_max = bounds
    sigma = e_min + TARGET * (e_max - e_min)
    width = NEV / FilterSolver(H, bounds).states_per_energy(sigma)
    degree = int(constant * (e_max - e_min) / width)
    delta = DeltaFilter(H, sigma, bounds, degree)
    P = PETSc.Mat().createPython(H.matrix.getSizes(), delta, comm=comm)
    P.setUp()
    eps = SLEPc.EPS().create(comm)
    eps.setOperators(P)
    eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
    eps.setWhichEigenpairs(SLEPc.EPS.Which.LARGEST_REAL)
    eps.setDimensions(NEV, 2 * NEV)
    eps.setTolerances(1e-10, 1000)
    comm.barrier()
    start = time.perf_counter()
    eps.solve()
    m = min(eps.getConverged(), NEV)
    V = SLEPc.BV().create(comm)
    V.setSizesFromVec(H.matrix.createVecRight(), m)
    V.setFromOptions()
    x = H.matrix.createVecRight()
    for i in range(m):
        eps.getEigenvector(i, x)
        V.insertVec(i, x)
    V.orthogonalize()
    W = V.duplicate()
    V.matMult(H.matrix, W)
    projected = W.dot(V).getDenseArray().copy()
    energies, Q = np.linalg.eigh(0.5 * (projected + projected.T))
    rotation = PETSc.Mat().createDense((m, m), array=Q.copy(), comm=PETSc.COMM_SELF)
    V.multInPlace(rotation, 0, m)
    W.multInPlace(rotation, 0, m)
    residuals = []
    for i in range(m):
        w, v = W.getColumn(i), V.getColumn(i)
        r = w.copy()
        r.axpy(-energies[i], v)
        residuals.append(r.norm())
        W.restoreColumn(i, w)
        V.restoreColumn(i, v)
    comm.barrier()
    return {"c": constant, "degree": degree, "iterations": eps.getIterationNumber(), "converged": eps.getConverged(),
            "filtered_vectors": delta.products // degree, "products": delta.products,
            "max_residual": float(max(residuals)), "seconds": round(time.perf_counter() - start, 1)}


def main() -> None:
    N, constants = int(sys.argv[1]), [float(c) for c in sys.argv[2].split(",")]
    H = DistributedHamiltonian(SectorBasis.build(N), comm=PETSc.COMM_WORLD)
    H.set_fields(random_fields(SEED, N, 0, HBAR))
    bounds = spectrum_bounds(H, 1e-10)
    for constant in constants:
        result = solve(H, bounds, constant)
        if H.comm.getRank() == 0:
            print(json.dumps({"N": N, **result}), flush=True)


if __name__ == "__main__":
    main()
