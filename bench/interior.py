"""Interior eigensolvers: shift-invert (MUMPS LDLᵀ) against the polynomial filter (SLEPc ST filter), 2 MPI ranks,
measured in the same run.

    python bench/interior.py                       # N = 14, 16
    python bench/interior.py --sizes 16,18         # the sizes of docs/benchmarks.md
    python bench/interior.py --sizes 22 --only filter --time-limit 3600

Each solve: random-field Heisenberg chain, S^z = 0, h̄ = 3, seed 1, the spectrum bounds, then the 100 eigenpairs
nearest ε = 0.5 (tolerance 1e-10), through mblnn.solve.eigsolve (the solvers' one face). Printed per N and solver:
wall time inside the MPI job (assembly to the last eigenpair, launch and imports excluded), peak memory per rank,
largest residual, the filter's degree and iterations; per N the ratio filter / shift-invert of time and memory
and the largest eigenvalue difference between the two.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

NEV, TARGET, HBAR, SEED = 100, 0.5, 3.0, 1


def worker(N: int, solver: str) -> None:
    """Runs on every MPI rank."""
    import resource

    import numpy as np
    from petsc4py import PETSc

    from mblnn.model.basis import SectorBasis
    from mblnn.model.disorder import random_fields
    from mblnn.solve.eigsolve import eigsolve

    comm = PETSc.COMM_WORLD
    basis = SectorBasis.build(N)
    comm.barrier()
    start = time.perf_counter()
    spectrum = eigsolve(basis, random_fields(SEED, N, 0, HBAR), 1.0, solver, driver="evd", targets=(TARGET,), nev=NEV,
                        tol=1e-10, residual_tol=1e-8, petsc_options={}, filter_options={})
    comm.barrier()
    elapsed = time.perf_counter() - start
    peak = comm.tompi4py().gather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, root=0)
    if comm.getRank() == 0:
        windows = spectrum.diagnostics.get("filter_windows", [{}])
        print(json.dumps({"seconds": elapsed, "peak_gib_per_rank": peak, "pairs": int(spectrum.energies.size),
                          "max_residual": float(np.max(spectrum.residuals)), "energies": spectrum.energies.tolist(),
                          "degree": windows[-1].get("degree"), "iterations": windows[-1].get("iterations"),
                          "tries": len(windows)}))
    spectrum.close()


def run(N: int, solver: str, ranks: int, time_limit: float) -> dict:
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "-x", "OPENBLAS_NUM_THREADS=1"]
    if os.geteuid() == 0:
        command.insert(1, "--allow-run-as-root")
    command += [sys.executable, "-m", "mpi4py", __file__, "--worker", str(N), solver]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=time_limit)
    except subprocess.TimeoutExpired:
        return {"timeout": time_limit}
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["job_seconds"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[14, 16])
    parser.add_argument("--only", choices=("shift_invert", "filter"), help="one solver only")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=7200, help="seconds per solve before it is stopped")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(int(args.worker[0]), args.worker[1])
        return
    import numpy as np

    solvers = [args.only] if args.only else ["shift_invert", "filter"]
    print(f"{NEV} eigenpairs nearest eps = {TARGET}, h = {HBAR}, {args.ranks} ranks")
    for N in args.sizes:
        results = {solver: run(N, solver, args.ranks, args.time_limit) for solver in solvers}
        for solver, r in results.items():
            if "seconds" not in r:
                print(f"N={N} {solver:12s} {r}")
                continue
            extra = f", degree {r['degree']}, {r['iterations']} iterations, {r['tries']} interval(s)" if solver == "filter" else ""
            print(f"N={N} {solver:12s} {r['seconds']:9.1f} s  {max(r['peak_gib_per_rank']):6.2f} GiB/rank  "
                  f"residual {r['max_residual']:.1e}{extra}")
        si, pf = results.get("shift_invert", {}), results.get("filter", {})
        if "seconds" in si and "seconds" in pf:
            diff = np.max(np.abs(np.asarray(si["energies"]) - np.asarray(pf["energies"])))
            print(f"N={N} filter / shift-invert: time {pf['seconds'] / si['seconds']:.1f}x, memory per rank "
                  f"{max(pf['peak_gib_per_rank']) / max(si['peak_gib_per_rank']):.2f}x, eigenvalues agree to {diff:.1e}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
