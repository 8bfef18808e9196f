"""Shift-invert benchmark: mblnn's SLEPc backend on 2 MPI ranks against scipy's eigsh(sigma=…)
(SuperLU), measured in the same run.

    python bench/shift_invert.py                 # N = 16, 18
    python bench/shift_invert.py --full          # N = 16, 18, 20 (scipy skipped at N = 20: ~1 h)
    python bench/shift_invert.py --sizes 18 --orderings   # also MUMPS orderings and LU vs LDLᵀ
    python bench/shift_invert.py --sizes 20 --no-scipy --tuned   # also the default per-N tuning (block low-rank)

Each solve: random-field Heisenberg chain, S^z = 0, h̄ = 3, the two extremal eigenvalues for the
bounds, then the 100 eigenpairs nearest ε = 0.5 (tolerance 1e-10). Printed per N: wall time and
peak memory (max resident set, per rank for mblnn) of each, and the speed-up. The mblnn time is
measured inside the MPI job from assembly to the last eigenpair (launch and imports excluded, as
for scipy); 'job' adds the mpirun launch.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

NEV, TARGET, HBAR, SEED = 100, 0.5, 3.0, 1


def tuned(N: int) -> dict:
    """The default per-N settings of shift_invert.tuning for N (MUMPS block low-rank from N = 18)."""
    from mblnn.schema import default
    from mblnn.solve.mpi import tuned_options

    return tuned_options(default("shift_invert.tuning"), N)[1]


def worker(N: int, options: dict) -> None:
    """Runs on every MPI rank."""
    from petsc4py import PETSc

    from mblnn.model.basis import SectorBasis
    from mblnn.model.disorder import random_fields
    from mblnn.solve import mpi

    comm = PETSc.COMM_WORLD
    basis = SectorBasis.build(N)
    comm.barrier()
    start = time.perf_counter()
    H = mpi.DistributedHamiltonian(basis, comm=comm)
    H.set_fields(random_fields(SEED, N, 0, HBAR))
    solver = mpi.ShiftInvertSolver(H, tol=1e-10, petsc_options=options)
    e_min, e_max = solver.bounds()
    t_bounds = time.perf_counter() - start
    window = solver.window(e_min + TARGET * (e_max - e_min), NEV)
    comm.barrier()
    elapsed = time.perf_counter() - start
    peak = comm.tompi4py().gather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, root=0)
    if comm.getRank() == 0:
        print(json.dumps({"seconds": elapsed, "bounds_seconds": t_bounds, "peak_gib_per_rank": peak,
                          "pairs": int(window.energies.size), "max_residual": float(window.residuals.max()),
                          "middle": float(window.energies[NEV // 2])}))


def run_mblnn(N: int, ranks: int, options: dict) -> dict:
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "-x", "OPENBLAS_NUM_THREADS=1"]
    if os.geteuid() == 0:
        command.insert(1, "--allow-run-as-root")
    command += [sys.executable, "-m", "mpi4py", __file__, "--worker", str(N), "--options", json.dumps(options)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["job_seconds"] = time.perf_counter() - start
    return result


SCIPY_CHILD = """
import json, resource, sys, time
from scipy.sparse.linalg import eigsh
from mblnn.model.basis import SectorBasis
from mblnn.model.disorder import random_fields
from mblnn.model.hamiltonian import hamiltonian
N, nev, target, hbar, seed = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
basis = SectorBasis.build(N)
start = time.perf_counter()
H = hamiltonian(basis, random_fields(seed, N, 0, hbar)).tocsc()
e_min = eigsh(H, k=1, which="SA", tol=1e-10, return_eigenvectors=False)[0]
e_max = eigsh(H, k=1, which="LA", tol=1e-10, return_eigenvectors=False)[0]
values = eigsh(H, k=nev, sigma=e_min + target * (e_max - e_min), which="LM", tol=1e-10, return_eigenvectors=True)[0]
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                  "middle": float(sorted(values)[nev // 2])}))
"""


def run_scipy(N: int) -> dict:
    """In a child process so that its peak memory is its own."""
    done = subprocess.run([sys.executable, "-c", SCIPY_CHILD, str(N), str(NEV), str(TARGET), str(HBAR), str(SEED)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="include N = 20")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], help="override the sizes")
    parser.add_argument("--orderings", action="store_true", help="compare MUMPS orderings and LU vs LDLᵀ (mblnn only)")
    parser.add_argument("--no-scipy", action="store_true", help="skip the scipy baseline")
    parser.add_argument("--tuned", action="store_true", help="also run mblnn with the default per-N tuning (shift_invert.tuning) "
                        "and print exact / tuned")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, json.loads(args.options))
        return
    sizes = args.sizes or ([16, 18, 20] if args.full else [16, 18])
    print(f"{NEV} eigenpairs nearest eps={TARGET}, bounds included; mblnn on 2 MPI ranks (MUMPS LDL^T), scipy eigsh (SuperLU)")
    print(f"{'N':>3} {'dim':>8} {'mblnn s':>8} {'job s':>6} {'GiB/rank':>9} {'scipy s':>8} {'scipy GiB':>9} {'speed-up':>8}")
    from math import comb
    for N in sizes:
        ours = run_mblnn(N, 2, {})
        theirs = None if args.no_scipy or N >= 20 else run_scipy(N)
        line = f"{N:>3} {comb(N, N // 2):>8} {ours['seconds']:>8.2f} {ours['job_seconds']:>6.1f} {max(ours['peak_gib_per_rank']):>9.2f}"
        if theirs:
            assert abs(theirs["middle"] - ours["middle"]) < 1e-8, "both must find the same eigenvalues"
            line += f" {theirs['seconds']:>8.2f} {theirs['peak_gib']:>9.2f} {theirs['seconds'] / ours['seconds']:>8.1f}"
        print(line, flush=True)
        if args.tuned and tuned(N):
            r = run_mblnn(N, 2, tuned(N))
            assert abs(r["middle"] - ours["middle"]) < 1e-8, "tuned and exact must find the same eigenvalues"
            print(f"      tuned {tuned(N)}: {r['seconds']:.2f} s, {max(r['peak_gib_per_rank']):.2f} GiB/rank, "
                  f"max residual {r['max_residual']:.1e}; exact / tuned = {ours['seconds'] / r['seconds']:.2f}", flush=True)
        if args.orderings:
            variants = {"LDL^T, MUMPS auto ordering": {}, "LU, auto ordering": {"st_pc_type": "lu"}}
            for code, name in ((0, "AMD"), (2, "AMF"), (3, "SCOTCH"), (4, "PORD"), (5, "METIS"), (6, "QAMD")):
                variants[f"LDL^T, {name}"] = {"st_mat_mumps_icntl_7": code}
            for name, options in variants.items():
                try:
                    r = run_mblnn(N, 2, options)
                    print(f"      {name:<28} {r['seconds']:>7.2f} s  {max(r['peak_gib_per_rank']):.2f} GiB/rank", flush=True)
                except subprocess.CalledProcessError as error:
                    print(f"      {name:<28} failed: {error.stderr.strip().splitlines()[-1][:100] if error.stderr else error}")


if __name__ == "__main__":
    main()
