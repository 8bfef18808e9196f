"""Benchmark of the dense per-sample pipeline against the bare LAPACK call, measured in one run.

    python bench/ed.py            # N = 12, 14
    python bench/ed.py --full     # N = 12, 14, 16 (16 takes a few minutes and ~5.3 GB)
    python bench/ed.py --drivers --sizes 14,16   # instead: the LAPACK drivers evd / evr / ev and ELPA against
                                  # dsyevd (the defaults' justification): bare solvers on 1 and 2 ranks, whole
                                  # `mblnn spectrum` samples (N = 16: about 40 minutes)

For each N it prints the wall time of
  * lapack:   the bare LAPACK routine (scipy.linalg.lapack.dsyev{d,r,}) on the dense sector matrix;
  * pipeline: mblnn.sample.diagonalize_sample — fields, basis, H, dense diagonalization,
              entanglement of every eigenstate for the half cut, gap ratios;
  * entanglement: the entanglement step alone;
and the ratio pipeline / lapack (target ≤ 1.10 at N = 14 and 16). Every time is the best of a few
repetitions; the baseline runs in the same process right before the pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.linalg.lapack as lapack

from mblnn.model.basis import SectorBasis
from mblnn.model.disorder import random_fields
from mblnn.observables.entanglement import entanglement
from mblnn.model.hamiltonian import hamiltonian
from mblnn.solve.settings import DenseSettings, SolverSettings
from mblnn.sample import SampleSpec, diagonalize_sample
from mblnn.solve.cost import dense_mpi_memory_bytes

HERE = Path(__file__).resolve().parent
#: every process of an MPI run single-threaded in BLAS (the ranks share the cores); a plain process keeps 2 threads
MPIRUN = ["mpirun", "--oversubscribe", "-x", "OPENBLAS_NUM_THREADS=1"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
ELPA_DRIVERS = ("elpa_1stage", "elpa_2stage")
#: dsyev (QR iteration) took 17.9x dsyevd's time at N = 14 (docs/benchmarks.md): at N = 16 that is most of an hour
EV_MAX_N = 14
#: an ELPA or ScaLAPACK row below this speed-up against dsyevd at one N is not timed again at the next N (the question
#: is which is faster; one-process ELPA ran at 0.57x (1-stage) and 0.22x (2-stage) at N = 14: 6 and 16 minutes at N = 16)
SKIP_BELOW = 0.6


def launched(ranks: int, command: list[str]) -> subprocess.CompletedProcess:
    """``command`` as a plain process (``ranks`` 0) or under mpirun; MPI never starts in this process."""
    done = subprocess.run((MPIRUN + ["-n", str(ranks)] if ranks else []) + command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} on {ranks} ranks failed:\n{done.stderr[-2000:]}")
    return done


def bare_solver(N: int, driver: str, ranks: int) -> float:
    """Seconds of one bare full diagonalization by ELPA or ScaLAPACK (:mod:`bench.elpa_solve`)."""
    done = launched(ranks, [sys.executable, str(HERE / "elpa_solve.py"), str(N), driver])
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def whole_sample(N: int, solver: str, dense: dict, ranks: int) -> float:
    """Seconds `mblnn spectrum` reports for one sample (solve, entanglement of the half cut, gap ratios)."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [str(Path(sys.executable).with_name("mblnn")), "spectrum", "--N", str(N), "--hbar", "3.0", "--cuts",
                   str(N // 2), "--solver", solver, "--config", json.dumps({"seed": 1, "dense": dense}),
                   "--out", f"{tmp}/sample.zarr"]
        done = launched(ranks, command)
    return float(re.search(r"cuts \[\d+\], ([0-9.]+) s ->", done.stdout).group(1))


def elpa_table(evd_seconds: dict[int, float]) -> None:
    """ELPA against dsyevd (1 process, 2 BLAS threads), bare and as whole samples, 1 and 2 ranks; dense_mpi by
    ScaLAPACK against ELPA on 2 ranks; ratios to dsyevd of the same N (``evd_seconds``: its bare time per N, measured
    by the driver comparison just before; above 1: faster than dsyevd)."""
    if not shutil.which("mpirun"):
        raise SystemExit("--drivers times ELPA and ScaLAPACK under mpirun: run `make setup-mpi` first")
    print("\nELPA and ScaLAPACK against dsyevd, all eigenvectors (one run each, dsyevd the best of 2 above; "
          "speed-up = dsyevd time / time):")
    slow: dict[tuple[str, str, str], tuple[int, float]] = {}  # rows below SKIP_BELOW: (N, speed-up)

    def row(N: int, kind: str, driver: str, where: str, measure, baseline: float) -> None:
        """Time ``measure`` (seconds) unless it was below SKIP_BELOW at a smaller N; print the row."""
        key = (kind, driver, where)
        if key in slow:
            print(f"  N={N:>2} {kind:<6} {driver:<22} {where:<9} not run: speed-up {slow[key][1]:.2f} at "
                  f"N = {slow[key][0]}", flush=True)
            return
        seconds = measure()
        if baseline / seconds < SKIP_BELOW:
            slow[key] = (N, baseline / seconds)
        print(f"  N={N:>2} {kind:<6} {driver:<22} {where:<9} {seconds:8.2f} s  speed-up {baseline / seconds:5.2f}",
              flush=True)

    for N, t_evd in evd_seconds.items():
        row(N, "bare", "dsyevd", "1 process", lambda: t_evd, t_evd)
        for ranks in (0, 2):
            for driver in ELPA_DRIVERS:
                row(N, "bare", driver, f"{max(ranks, 1)} rank{'s' if ranks else ''}",
                    lambda: bare_solver(N, driver, ranks), t_evd)
        row(N, "bare", "scalapack", "2 ranks", lambda: bare_solver(N, "scalapack", 2), t_evd)
        t_sample = whole_sample(N, "dense", {"driver": "evd"}, 0)
        row(N, "sample", "dense evd", "1 process", lambda: t_sample, t_sample)
        for driver in ELPA_DRIVERS:
            row(N, "sample", f"dense {driver}", "1 process", lambda: whole_sample(N, "dense", {"driver": driver}, 0),
                t_sample)
        for driver in ("scalapack",) + ELPA_DRIVERS:
            row(N, "sample", f"dense_mpi {driver}", "2 ranks",
                lambda: whole_sample(N, "dense_mpi", {"mpi_driver": driver}, 2), t_sample)
    need = dense_mpi_memory_bytes(SectorBasis.build(18).dim, 2)
    print(f"  N=18: dense_mpi on 2 ranks needs about {need / 2**30:.0f} GiB per rank (the model of "
          "mblnn.solve.cost): a cluster job, not run here")


def bare_lapack(dense: np.ndarray, driver: str) -> None:
    a = np.array(dense, order="F")
    if driver == "evd":
        *_, info = lapack.dsyevd(a, compute_v=1, overwrite_a=1)
    elif driver == "evr":
        *_, info = lapack.dsyevr(a, compute_v=1, overwrite_a=1)
    else:
        *_, info = lapack.dsyev(a, compute_v=1, overwrite_a=1)
    assert info == 0


def best_of(repeats: int, *functions) -> list[float]:
    """Best wall time of each function over ``repeats`` rounds, the functions interleaved per round
    so that baseline and candidate see the same machine state (frequency, page cache, neighbours)."""
    best = [float("inf")] * len(functions)
    for _ in range(repeats):
        for i, function in enumerate(functions):
            start = time.perf_counter()
            function()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="include N = 16")
    parser.add_argument("--drivers", action="store_true",
                        help="instead of the pipeline table: LAPACK drivers, ELPA and ScaLAPACK against dsyevd")
    parser.add_argument("--sizes", type=lambda text: [int(n) for n in text.split(",")],
                        help="chain lengths (default 12,14; with --full 12,14,16)")
    parser.add_argument("--driver", default="evd", help="driver for the pipeline and its baseline")
    args = parser.parse_args()
    sizes = args.sizes or ([12, 14, 16] if args.full else [12, 14])
    repeats = {10: 7, 12: 7, 14: 5, 16: 2}
    if args.drivers:
        drivers_report(sizes)
        return
    print(f"{'N':>3} {'dim':>6} {'lapack s':>9} {'pipeline s':>11} {'ratio':>6} {'entangl. s':>11}")
    for N in sizes:
        spec = SampleSpec(N=N, hbar=3.0, seed=1, realization=0)
        basis = SectorBasis.build(N)
        dense = hamiltonian(basis, random_fields(1, N, 0, 3.0)).toarray()
        t_lapack, t_pipeline = best_of(
            repeats[N], lambda: bare_lapack(dense, args.driver), lambda: diagonalize_sample(spec, SolverSettings(dense=DenseSettings(driver=args.driver)))
        )
        # the cost of the SVDs does not depend on the amplitudes: time the step on random columns
        vectors = np.asfortranarray(np.random.default_rng(0).normal(size=(basis.dim, basis.dim)))
        (t_ent,) = best_of(repeats[N], lambda: entanglement(vectors, basis, [N // 2]))
        print(f"{N:>3} {basis.dim:>6} {t_lapack:>9.2f} {t_pipeline:>11.2f} {t_pipeline / t_lapack:>6.3f} {t_ent:>11.2f}")


def drivers_report(sizes: list[int]) -> None:
    """The LAPACK drivers against dsyevd (bare, the same matrix), then ELPA and ScaLAPACK (:func:`elpa_table`)."""
    print("LAPACK drivers, all eigenvectors (best of 2 below N = 16, else one run), ratio to evd:")
    evd_seconds = {}
    for N in sizes:
        basis = SectorBasis.build(N)
        dense = hamiltonian(basis, random_fields(1, N, 0, 3.0)).toarray()
        drivers = ("evd", "evr", "ev") if N <= EV_MAX_N else ("evd", "evr")
        times = dict(zip(drivers, best_of(2 if N < 16 else 1, *[lambda d=d: bare_lapack(dense, d) for d in drivers])))
        skipped = "" if "ev" in times else f"  (ev not run above N = {EV_MAX_N})"
        print(f"  N={N:>2}: " + "  ".join(f"{d} {t:.2f} s ({t / times['evd']:.2f})" for d, t in times.items()) + skipped,
              flush=True)
        evd_seconds[N] = times["evd"]
        del dense
    elpa_table(evd_seconds)


if __name__ == "__main__":
    main()
