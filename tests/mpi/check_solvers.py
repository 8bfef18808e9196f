"""Run under mpirun (as `python -m mpi4py tests/mpi/check_solvers.py 10,12`, so that an exception on
one rank aborts all): SLEPc shift-invert, ScaLAPACK and ELPA (dense_mpi's two drivers) against dense LAPACK on
rank 0.

Prints one JSON line per check on rank 0 and exits non-zero if any check fails.
"""

import json
import sys

import numpy as np
from petsc4py import PETSc

from mblnn.model.basis import SectorBasis
from mblnn.model.disorder import random_fields
from mblnn.model.hamiltonian import hamiltonian
from mblnn.sample import SampleSpec, diagonalize_sample
from mblnn.solve import mpi
from mblnn.solve.dense import diagonalize_dense
from mblnn.solve.settings import DenseSettings, SolverSettings

comm = PETSc.COMM_WORLD
root = comm.getRank() == 0
TARGETS = (0.1, 0.5, 0.9)
failures = []


def report(**entry):
    entry["ok"] = bool(entry["ok"])
    if root:
        print(json.dumps(entry), flush=True)
        if not entry["ok"]:
            failures.append(entry)


def gather_vectors(local):
    """Full eigenvectors on rank 0 (test only: small N)."""
    parts = comm.tompi4py().gather(local, root=0)
    return np.concatenate(parts, axis=1) if root else None


for N in map(int, sys.argv[1].split(",")):
    fields = random_fields(3, N, 0, 2.5)
    basis = SectorBasis.build(N)
    dense = diagonalize_dense(hamiltonian(basis, fields)) if root else None

    # eigenvectors to a phase, at the solver level
    H = mpi.DistributedHamiltonian(basis, comm=comm)
    H.set_fields(fields)
    solver = mpi.ShiftInvertSolver(H)
    e_min, e_max = solver.bounds()
    for t in TARGETS:
        w = solver.window(e_min + t * (e_max - e_min), 20)
        vectors = gather_vectors(w.local_vectors)
        if root:
            near = np.argsort(np.abs(dense.energies - (e_min + t * (e_max - e_min))))[:20]
            near = near[np.argsort(dense.energies[near])]
            de = float(np.abs(w.energies - dense.energies[near]).max())
            overlap = float(np.abs(np.einsum("id,di->i", vectors, dense.vectors[:, near])).min())
            report(check="window", N=N, target=t, max_energy_error=de, min_overlap=overlap,
                   max_residual=float(w.residuals.max()), ok=de < 1e-9 and overlap > 1 - 1e-9)
    if root:
        report(check="bounds", N=N, error=float(max(abs(e_min - dense.energies[0]), abs(e_max - dense.energies[-1]))),
               ok=abs(e_min - dense.energies[0]) < 1e-9 and abs(e_max - dense.energies[-1]) < 1e-9)
    solver.destroy()
    H.destroy()

    # the whole sample: shift-invert, ScaLAPACK and ELPA against dense, downstream quantities included
    spec = SampleSpec(N=N, hbar=2.5, seed=3, realization=0, cuts=(N // 2 - 1, N // 2))
    reference = diagonalize_sample(spec) if root else None
    for solver_name, mpi_driver in (("shift_invert", None), ("dense_mpi", "scalapack"), ("dense_mpi", "elpa_1stage")):
        if solver_name == "dense_mpi" and N > 12:
            continue
        dense = DenseSettings(mpi_driver=mpi_driver) if mpi_driver else DenseSettings()
        result = diagonalize_sample(spec, SolverSettings(solver=solver_name, dense=dense).interior(TARGETS, nev=20))
        if not root:
            continue
        index = np.searchsorted(reference.energies, result.energies)
        index = np.clip(index, 0, reference.energies.size - 1)
        lower = np.clip(index - 1, 0, None)
        index = np.where(np.abs(reference.energies[lower] - result.energies) < np.abs(reference.energies[index] - result.energies), lower, index)
        errors = {"energy": float(np.abs(result.energies - reference.energies[index]).max()),
                  "energy_density": float(np.abs(result.energy_density - reference.energy_density[index]).max())}
        for N_A in spec.cuts:
            ours, ref = result.cuts[N_A], reference.cuts[N_A]
            errors[f"entropy_{N_A}"] = float(np.abs(ours.entropy - ref.entropy[index]).max())
            errors[f"gap_{N_A}"] = float(np.abs(ours.schmidt_gap - ref.schmidt_gap[index]).max())
            resolved = ref.spectrum[index] < 25
            errors[f"spectrum_{N_A}"] = float(np.abs(ours.spectrum - ref.spectrum[index])[resolved].max())
        ok = errors["energy"] < 1e-9 and errors["energy_density"] < 1e-9 and all(
            v < 1e-7 for k, v in errors.items() if k.startswith(("entropy", "gap"))) and all(
            v < 1e-4 for k, v in errors.items() if k.startswith("spectrum"))
        if solver_name == "shift_invert":
            ok = ok and result.energies.size == 60 and list(result.targets) == list(TARGETS)
        else:
            ok = ok and result.energies.size == basis.dim
        report(check=solver_name, driver=mpi_driver, N=N, states=int(result.energies.size), ranks=comm.getSize(),
               **errors, ok=ok)

if root:
    print(json.dumps({"failures": len(failures)}))
sys.exit(1 if failures else 0)
