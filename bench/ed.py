"""Benchmark of the dense per-sample pipeline against the bare LAPACK call, measured in one run.

    python bench/ed.py            # N = 12, 14
    python bench/ed.py --full     # N = 12, 14, 16 (16 takes a few minutes and ~5.3 GB)
    python bench/ed.py --drivers  # also time the LAPACK drivers evd / evr / ev (the default's justification)

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
import time

import numpy as np
import scipy.linalg.lapack as lapack

from mblnn.model.basis import SectorBasis
from mblnn.model.disorder import random_fields
from mblnn.observables.entanglement import entanglement
from mblnn.model.hamiltonian import hamiltonian
from mblnn.solve.settings import DenseSettings, SolverSettings
from mblnn.sample import SampleSpec, diagonalize_sample


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
    parser.add_argument("--drivers", action="store_true", help="compare LAPACK drivers")
    parser.add_argument("--driver", default="evd", help="driver for the pipeline and its baseline")
    args = parser.parse_args()
    sizes = [12, 14, 16] if args.full else [12, 14]
    repeats = {12: 7, 14: 5, 16: 2}
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
    if args.drivers:
        print("\nLAPACK drivers, all eigenvectors (best of 2), ratio to evd:")
        for N in sizes:
            basis = SectorBasis.build(N)
            dense = hamiltonian(basis, random_fields(1, N, 0, 3.0)).toarray()
            drivers = ("evd", "evr", "ev")
            times = dict(zip(drivers, best_of(2 if N < 16 else 1, *[lambda d=d: bare_lapack(dense, d) for d in drivers])))
            print(f"  N={N:>2}: " + "  ".join(f"{d} {t:.2f} s ({t / times['evd']:.2f})" for d, t in times.items()))


if __name__ == "__main__":
    main()
