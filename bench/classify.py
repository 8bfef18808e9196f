"""Classification throughput: the ensemble's forward pass over one sample's spectra.

Compares, in one run, mblnn's ``Ensemble.confidences`` (batched matmuls in cache-sized chunks) with
the same computation in large chunks and with the previous einsum formulation (the baseline), for the
paper's ensemble (50 networks, n2 = 1024) on the 924 spectra of one N = 12 sample (n_in = 10) or the
12,870 of one N = 16 sample (n_in = 35). Prints seconds per sample (best of ``--repeat``) and ratios.

    python bench/classify.py [--full]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def einsum_confidences(ensemble, features: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """The formulation before the chunked matmuls (the baseline)."""
    out = []
    for start in range(0, len(features), chunk):
        x = np.asarray(features[start:start + chunk], dtype=np.float32)
        hidden = np.maximum(np.einsum("ni,mih->mnh", x, ensemble.w1) + ensemble.b1[:, None, :], 0)
        logits = np.einsum("mnh,mhc->mnc", hidden, ensemble.w2) + ensemble.b2[:, None, :]
        out.append(1.0 / (1.0 + np.exp(logits[..., 0] - logits[..., 1])))
    return np.concatenate(out, axis=1)


def best(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="also the N = 16 sample (12,870 spectra, n_in = 35)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from mblnn.learn.network import Ensemble

    rng = np.random.default_rng(0)
    M, H = 50, 1024
    for n, n_in in [(924, 10)] + ([(12870, 35)] if args.full else []):
        ensemble = Ensemble(w1=rng.normal(0, 0.1, (M, n_in, H)).astype(np.float32), b1=rng.normal(0, 0.1, (M, H)).astype(np.float32),
                            w2=rng.normal(0, 0.1, (M, H, 2)).astype(np.float32), b2=rng.normal(0, 0.1, (M, 2)).astype(np.float32),
                            members=np.arange(M))
        x = rng.normal(5, 2, (n, n_in)).astype(np.float32)
        np.testing.assert_allclose(ensemble.confidences(x), einsum_confidences(ensemble, x), atol=1e-5)
        baseline = best(lambda: einsum_confidences(ensemble, x), args.repeat)
        large = best(lambda: ensemble.confidences(x, chunk=1024), args.repeat)
        default = best(lambda: ensemble.confidences(x), args.repeat)
        print(f"{n} spectra x {M} networks (n_in = {n_in}, n2 = {H}): einsum baseline {baseline:.3f} s, "
              f"matmul chunk 1024 {large:.3f} s, matmul chunk 64 (default) {default:.3f} s; "
              f"baseline/default = {baseline / default:.1f}, chunk 1024/default = {large / default:.1f}")


if __name__ == "__main__":
    main()
