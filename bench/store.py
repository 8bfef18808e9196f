"""Chunking and compression of the sample store, measured on a real sample.

    python bench/store.py           # N = 14 (3432 states, half cut, n1 = 35)
    python bench/store.py --full    # N = 16 (12,870 states, half cut, n1 = 70): the README's numbers

For each (state chunk, codec) it prints the bytes stored for the whole sample and for the
entanglement spectra, the compression ratio against the raw float64 bytes, and the wall times of
writing the store, reading it all back, and reading one window of 256 consecutive eigenstates (what
an ε-resolved analysis does), each relative to the uncompressed store with the same chunking.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from zarr.codecs import BloscCodec, BloscShuffle, ZstdCodec

from mblnn.sample import SampleSpec, diagonalize_sample
from mblnn.store.samples import open_sample_store, read_sample, write_sample_store

CODECS = {
    "none": (),
    "zstd3": (ZstdCodec(level=3),),
    "blosc-zstd3-shuffle": (BloscCodec(cname="zstd", clevel=3, shuffle=BloscShuffle.shuffle),),
    "blosc-lz4-shuffle": (BloscCodec(cname="lz4", clevel=5, shuffle=BloscShuffle.shuffle),),
    "blosc-zstd3-bitshuffle": (BloscCodec(cname="zstd", clevel=3, shuffle=BloscShuffle.bitshuffle),),
}


def stored_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def timed(function, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="N = 16 instead of 14")
    args = parser.parse_args()
    N = 16 if args.full else 14
    result = diagonalize_sample(SampleSpec(N=N, hbar=3.0, seed=1, realization=0, cuts=(N // 2,)))
    spectrum = result.cuts[N // 2].spectrum
    raw_spectrum = spectrum.nbytes
    print(f"N={N}: {result.energies.size} states, spectrum {spectrum.shape} float64 = {raw_spectrum / 2**20:.2f} MiB raw")
    print(f"{'chunk':>6} {'codec':<24} {'store MiB':>9} {'spectrum MiB':>12} {'ratio':>6} "
          f"{'write':>6} {'read all':>8} {'window':>7}  (times relative to 'none' at the same chunk)")
    workdir = Path(tempfile.mkdtemp())
    try:
        for chunk in (256, 1024, 4096):
            base = {}
            for name, codecs in CODECS.items():
                path = workdir / f"{chunk}-{name}.zarr"
                t_write = timed(lambda: write_sample_store(result, path, state_chunk=chunk, compressors=codecs))
                t_read = timed(lambda: read_sample(path))
                middle = result.energies.size // 2
                t_window = timed(lambda: open_sample_store(path).cut(N // 2)["spectrum"][middle:middle + 256], 10)
                total = stored_bytes(path)
                spec_bytes = stored_bytes(path / f"cut{N // 2}" / "spectrum")
                if name == "none":
                    base = {"w": t_write, "r": t_read, "x": t_window}
                print(f"{chunk:>6} {name:<24} {total / 2**20:>9.2f} {spec_bytes / 2**20:>12.2f} "
                      f"{raw_spectrum / spec_bytes:>6.2f} {t_write / base['w']:>6.2f} {t_read / base['r']:>8.2f} "
                      f"{t_window / base['x']:>7.2f}")
    finally:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
