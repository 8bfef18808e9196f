"""Interior eigensolvers: shift-invert (MUMPS LDLᵀ) against the polynomial filter (SLEPc ST filter), 2 MPI ranks,
measured in the same run.

    python bench/interior.py                       # N = 14, 16
    python bench/interior.py --sizes 16,18         # the sizes of docs/benchmarks.md
    python bench/interior.py --sizes 22 --only filter --time-limit 3600
    python bench/interior.py --probe 16,18,20,22 --calibrate 16,18   # the filter's cost at N = 22, from measurements
    python bench/interior.py --filters --sizes 16,18   # the filter polynomials against FILTLAN's, the same run
    python bench/interior.py --filters --sizes 16,18 --polynomials "filtlan c=1.5,filtlan c=2.5"   # some of them

Each solve: random-field Heisenberg chain, S^z = 0, h̄ = 3, seed 1, the spectrum bounds, then the 100 eigenpairs
nearest ε = 0.5 (tolerance 1e-10), through mblnn.solve.eigsolve (the solvers' one face). Printed per N and solver:
wall time inside the MPI job (assembly to the last eigenpair, launch and imports excluded), peak memory per rank,
largest residual, the filter's degree and iterations; per N the ratio filter / shift-invert of time and memory
and the largest eigenvalue difference between the two.

--filters solves the same pairs by shift-invert and by each polynomial of FILTERS (or those --polynomials names;
the first, the default FILTLAN, is the baseline) and prints per N and polynomial the time, the filtered vectors K
(applications of p(H), counted by PETSc's event log), the degree, the products with H (K × degree: the cost that does not depend on how
busy the machine is), the memory per rank, the eigenvalue agreement with shift-invert, and time and products as
ratios to FILTLAN's.

--probe measures, per N and without solving, what the filter's cost is made of: the spectrum bounds (the
solver's first step, timed), the polynomial degree the solver would choose for the first interval, the time of
one matrix-vector product with the assembled H, the time of one filtered vector (p(H) applied by the solver's own
ST, the polynomial's vector updates included) and the memory per rank of H. A filter solve costs K filtered
vectors (K: counted; assumed the same for equal nev) plus a Krylov basis of V vectors. Two predictions are printed
for every probed N: K × degree × a bare product × an overhead (the polynomial's vector updates, calibrated), and
K × the timed p(H) + the rest of a solve (orthogonalization, Rayleigh-Ritz, residuals: calibrated, scaled with the
dimension). K, the overhead, the rest and V are measured by full filter solves at the --calibrate sizes in the
same run (the first calibrates, further ones test the predictions). --polynomial: which of FILTERS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

NEV, TARGET, HBAR, SEED = 100, 0.5, 3.0, 1

#: --filters: the polynomials compared, by name (keys of the config's ``filter`` section; c: degree_constant); the
#: first is the baseline, the default (FILTLAN, c = 1.5 since 2026-12-06; 2.5 before)
FILTERS = {
    "filtlan c=1.5": {"polynomial": "filtlan", "degree_constant": 1.5},
    "filtlan c=2.5": {"polynomial": "filtlan", "degree_constant": 2.5},
    "chebyshev c=1.5": {"polynomial": "chebyshev", "damping": "jackson", "degree_constant": 1.5},
    "chebyshev c=2.5": {"polynomial": "chebyshev", "damping": "jackson", "degree_constant": 2.5},
    "chebyshev none c=2.5": {"polynomial": "chebyshev", "damping": "none", "degree_constant": 2.5},
}


def worker(N: int, solver: str, polynomial: dict | None = None) -> None:
    """Runs on every MPI rank."""
    import resource

    import numpy as np
    from petsc4py import PETSc

    from mblnn.model.basis import SectorBasis
    from mblnn.model.disorder import random_fields
    from mblnn.model.hamiltonian import Couplings
    from mblnn.solve.eigsolve import eigsolve
    from mblnn.solve.settings import FilterSettings, ShiftInvertSettings, SolverSettings

    comm = PETSc.COMM_WORLD
    basis = SectorBasis.build(N)
    comm.barrier()
    start = time.perf_counter()
    settings = SolverSettings(solver=solver, shift_invert=ShiftInvertSettings(targets=(TARGET,), nev=NEV, tol=1e-10,
                                                                            residual_tol=1e-8),
                              filter=FilterSettings(**(polynomial or {})))
    spectrum = eigsolve(basis, random_fields(SEED, N, 0, HBAR), Couplings(), settings)
    comm.barrier()
    elapsed = time.perf_counter() - start
    peak = comm.tompi4py().gather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, root=0)
    if comm.getRank() == 0:
        windows = spectrum.diagnostics.get("filter_windows", [{}])
        print(json.dumps({"seconds": elapsed, "peak_gib_per_rank": peak, "pairs": int(spectrum.energies.size),
                          "max_residual": float(np.max(spectrum.residuals)), "energies": spectrum.energies.tolist(),
                          "degree": windows[-1].get("degree"), "iterations": windows[-1].get("iterations"),
                          "tries": len(windows), "filtered_vectors": sum(w.get("filtered_vectors", 0) for w in windows),
                          "products": sum(w.get("filtered_vectors", 0) * w.get("degree", 0) for w in windows)}))
    spectrum.close()


def probe(N: int, polynomial: dict) -> None:
    """Runs on every MPI rank: bounds, degree (of ``polynomial``'s rule), matrix-vector time and memory of H, no solve."""
    import resource

    from petsc4py import PETSc

    from mblnn.model.basis import SectorBasis
    from mblnn.model.disorder import random_fields
    from mblnn.solve.mpi import DistributedHamiltonian, FilterSolver, spectrum_bounds
    from mblnn.solve.settings import FilterSettings

    comm = PETSc.COMM_WORLD
    H = DistributedHamiltonian(SectorBasis.build(N), comm=comm)
    H.set_fields(random_fields(SEED, N, 0, HBAR))
    assembled = comm.tompi4py().gather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, root=0)
    comm.barrier()
    start = time.perf_counter()
    bounds = spectrum_bounds(H, 1e-10)
    bounds_seconds = time.perf_counter() - start
    solver = FilterSolver(H, bounds, settings=FilterSettings(**polynomial))
    e_min, e_max = bounds
    a, b = solver.interval(e_min + TARGET * (e_max - e_min), NEV)
    x = H.matrix.createVecRight()
    x.setRandom()
    y = x.duplicate()

    def seconds_per_call(operation, warm_up: int, repeats: int) -> float:
        """Wall time of one ``operation(x, y)`` on all ranks, after ``warm_up`` untimed calls."""
        for _ in range(warm_up):
            operation(x, y)
        comm.barrier()
        start = time.perf_counter()
        for _ in range(repeats):
            operation(x, y)
        comm.barrier()
        return (time.perf_counter() - start) / repeats

    matvec = seconds_per_call(H.matrix.mult, warm_up=3, repeats=50)
    # one filtered vector: p(H) applied by the solver's own ST (the polynomial and its vector updates, as in a solve)
    eps = solver.configured_eps(a, b, NEV)
    eps.setUp()
    apply_seconds = seconds_per_call(eps.getST().apply, warm_up=1, repeats=3)
    eps.destroy()
    if comm.getRank() == 0:
        print(json.dumps({"dim": H.basis.dim, "n_local": H.n_local, "bounds_seconds": bounds_seconds,
                          "degree": solver.degree_for(a, b), "matvec_seconds": matvec, "apply_seconds": apply_seconds,
                          "assembled_gib_per_rank": assembled}))


def mpi_job(arguments: list[str], ranks: int, time_limit: float) -> dict:
    """Run this file's worker under mpirun; its last stdout line is JSON."""
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", "-x", "OPENBLAS_NUM_THREADS=1"]
    if os.geteuid() == 0:
        command.insert(1, "--allow-run-as-root")
    command += [sys.executable, "-m", "mpi4py", __file__, *arguments]
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


def probe_report(sizes: list[int], calibrate: list[int], ranks: int, time_limit: float, polynomial: dict) -> None:
    probes = {N: mpi_job(["--probe-worker", str(N), json.dumps(polynomial)], ranks, time_limit)
              for N in sorted(set(sizes) | set(calibrate))}
    solved = {N: run(N, "filter", ranks, time_limit, polynomial) for N in calibrate}
    first = calibrate[0]
    p, r = probes[first], solved[first]
    if "seconds" not in r:
        sys.exit(f"the calibration solve at N={first} failed: {r}")
    # K is counted; the time per product above a bare matrix-vector product (the polynomial's vector updates) is
    # the overhead, calibrated with it
    K = r["filtered_vectors"]
    overhead = (r["seconds"] - p["bounds_seconds"]) / (r["products"] * p["matvec_seconds"])
    V = (max(r["peak_gib_per_rank"]) - max(p["assembled_gib_per_rank"])) * 2**30 / (8 * p["n_local"])
    # the second prediction times p(H) itself at every N (no overhead carried over); the rest of a solve (the Krylov
    # basis's orthogonalization, Rayleigh-Ritz, residuals) calibrated at the first size and scaled with the dimension
    rest = r["seconds"] - p["bounds_seconds"] - K * p["apply_seconds"]
    print(f"calibrated at N={first}: {r['seconds']:.1f} s = bounds {p['bounds_seconds']:.1f} s + K {K} x degree {r['degree']} "
          f"x matvec {1e3 * p['matvec_seconds']:.3f} ms x {overhead:.2f} (the time of a product in the filter over a bare "
          f"one); = bounds + K x p(H) {p['apply_seconds']:.3f} s + the rest {rest:.1f} s (scaled with the dimension); "
          f"Krylov basis V = {V:.0f} vectors per rank")
    print(f"{'N':>3} {'dim':>9} {'matvec ms':>9} {'bounds s':>8} {'degree':>6} {'p(H) s':>8} {'H GiB/rank':>10} "
          f"{'predicted s':>11} {'by p(H) s':>10} {'predicted GiB':>13} {'measured s':>10} {'measured GiB':>12} "
          f"{'measured/predicted':>18}")
    for N, p in probes.items():
        if "degree" not in p:
            print(f"{N:>3} {p}")
            continue
        seconds = p["bounds_seconds"] + K * p["degree"] * p["matvec_seconds"] * overhead
        by_apply = p["bounds_seconds"] + K * p["apply_seconds"] + rest * p["dim"] / probes[first]["dim"]
        memory = max(p["assembled_gib_per_rank"]) + V * 8 * p["n_local"] / 2**30
        measured = solved.get(N, {})
        line = (f"{N:>3} {p['dim']:>9,} {1e3 * p['matvec_seconds']:>9.3f} {p['bounds_seconds']:>8.1f} {p['degree']:>6} "
                f"{p['apply_seconds']:>8.3f} {max(p['assembled_gib_per_rank']):>10.2f} {seconds:>11.0f} {by_apply:>10.0f} "
                f"{memory:>13.2f}")
        if "seconds" in measured:
            line += (f" {measured['seconds']:>10.1f} {max(measured['peak_gib_per_rank']):>12.2f} "
                     f"{measured['seconds'] / seconds:>9.2f} / {measured['seconds'] / by_apply:.2f} "
                     f"(time; K {measured['filtered_vectors']})")
        print(line, flush=True)


def run(N: int, solver: str, ranks: int, time_limit: float, polynomial: dict | None = None) -> dict:
    return mpi_job(["--worker", str(N), solver, json.dumps(polynomial or {})], ranks, time_limit)


def filters_report(sizes: list[int], ranks: int, time_limit: float, names: list[str]) -> None:
    """Shift-invert, then the polynomials ``names`` of FILTERS, per N; ratios to the first of them."""
    import numpy as np

    print(f"{'N':>3} {'solver':16} {'time s':>8} {'K':>6} {'degree':>6} {'products':>10} {'GiB/rank':>8} "
          f"{'vs SI':>8} {'time/base':>9} {'products/base':>13}")
    for N in sizes:
        reference = run(N, "shift_invert", ranks, time_limit)
        if "seconds" not in reference:
            print(f"{N:>3} shift_invert {reference}")
            continue
        print(f"{N:>3} {'shift_invert':16} {reference['seconds']:>8.1f} {'':>6} {'':>6} {'':>10} "
              f"{max(reference['peak_gib_per_rank']):>8.2f}", flush=True)
        base = None
        for name in names:
            r = run(N, "filter", ranks, time_limit, FILTERS[name])
            if "seconds" not in r:
                print(f"{N:>3} {name:16} {r}", flush=True)
                continue
            base = base or r
            agree = np.max(np.abs(np.asarray(r["energies"]) - np.asarray(reference["energies"])))
            print(f"{N:>3} {name:16} {r['seconds']:>8.1f} {r['filtered_vectors']:>6} {r['degree']:>6} {r['products']:>10,} "
                  f"{max(r['peak_gib_per_rank']):>8.2f} {agree:>8.1e} {r['seconds'] / base['seconds']:>9.2f} "
                  f"{r['products'] / base['products']:>13.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[14, 16])
    parser.add_argument("--only", choices=("shift_invert", "filter"), help="one solver only")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=7200, help="seconds per solve before it is stopped")
    parser.add_argument("--probe", type=lambda s: [int(x) for x in s.split(",")], help="probe these sizes (no solve)")
    parser.add_argument("--calibrate", type=lambda s: [int(x) for x in s.split(",")], default=[16],
                        help="with --probe: full filter solves at these sizes (the first calibrates)")
    parser.add_argument("--filters", action="store_true", help="the polynomials of FILTERS against FILTLAN's")
    parser.add_argument("--polynomials", type=lambda s: s.split(","), default=list(FILTERS),
                        help="with --filters: which of FILTERS, comma-separated, the first the baseline (default all)")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--polynomial", choices=list(FILTERS), default=next(iter(FILTERS)),
                        help="with --probe: the polynomial (default: the default's)")
    parser.add_argument("--probe-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(int(args.worker[0]), args.worker[1], json.loads(args.worker[2]))
        return
    if args.filters:
        print(f"filter polynomials: {NEV} eigenpairs nearest eps = {TARGET}, h = {HBAR}, {args.ranks} ranks")
        unknown = sorted(set(args.polynomials) - set(FILTERS))
        if unknown:
            parser.error(f"--polynomials: unknown {unknown}; known: {list(FILTERS)}")
        filters_report(args.sizes, args.ranks, args.time_limit, args.polynomials)
        return
    if args.probe_worker:
        probe(int(args.probe_worker[0]), json.loads(args.probe_worker[1]))
        return
    if args.probe:
        print(f"filter cost probe ({args.polynomial}): {NEV} eigenpairs nearest eps = {TARGET}, h = {HBAR}, {args.ranks} ranks")
        probe_report(args.probe, args.calibrate, args.ranks, args.time_limit, FILTERS[args.polynomial])
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
            extra = (f", degree {r['degree']}, {r['iterations']} iterations, K {r['filtered_vectors']} filtered vectors, "
                     f"{r['tries']} interval(s)") if solver == "filter" else ""
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
