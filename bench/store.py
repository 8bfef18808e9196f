"""Chunking and compression of the sample store, measured on a real sample.

    python bench/store.py                 # N = 14 (3432 states, half cut, n1 = 35)
    python bench/store.py --full          # N = 16 (12,870 states, half cut, n1 = 70): the README's numbers
    python bench/store.py --layouts       # N = 16, all cuts: chunk files vs one shard per array vs one zip archive

For each (state chunk, codec) it prints the bytes stored for the whole sample and for the
entanglement spectra, the compression ratio against the raw float64 bytes, and the wall times of
writing the store, reading it all back, and reading one window of 256 consecutive eigenstates (what
an ε-resolved analysis does), each relative to the uncompressed store with the same chunking (one file per
chunk, as when these numbers were first measured; the codec acts on each chunk either way).

--layouts compares, at the default chunks and codec, one file per chunk (the layout before sharding), one shard
per array (the directory default) and the zip archive: files, MiB, and the times of writing, reading the whole
sample back, reading one cut's spectra through the checked reader (digests verified first, as every mblnn job
reads), and reading a 256-state window with plain zarr (no digest check: a shard's index lookup), each relative
to the chunk-file layout in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from zarr.codecs import BloscCodec, BloscShuffle, ZstdCodec

from mblnn.sample import SampleSpec, diagonalize_sample
from mblnn.store.layout import StoreFiles, open_group
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


def stored_size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else stored_bytes(path)


def layouts(N: int = 16) -> None:
    cuts = tuple(range(2, N - 1, 2))
    result = diagonalize_sample(SampleSpec(N=N, hbar=3.0, seed=1, realization=0, cuts=cuts))
    middle, half = result.energies.size // 2, N // 2
    print(f"N={N}: {result.energies.size} states, cuts {list(cuts)}; times relative to 'chunk files'")
    print(f"{'layout':<16} {'files':>6} {'MiB':>7} {'write s':>8} {'read all s':>10} {'cut s':>7} {'window ms':>9}  "
          f"{'write':>6} {'all':>6} {'cut':>6} {'window':>6}")
    workdir = Path(tempfile.mkdtemp())
    base = None
    try:
        for name, suffix, shard in (("chunk files", ".zarr", False), ("sharded dir", ".zarr", True),
                                    ("zip archive", ".zarr.zip", True)):
            path = workdir / f"{name.replace(' ', '-')}{suffix}"
            t_write = timed(lambda: write_sample_store(result, path, shard=shard))
            t_read = timed(lambda: read_sample(path))
            t_cut = timed(lambda: open_sample_store(path).cut(half)["spectrum"][:])
            t_window = timed(lambda: open_group(path)[f"cut{half}/spectrum"][middle:middle + 256], 10)
            files = 1 if path.is_file() else len(StoreFiles(path).names())
            times = (t_write, t_read, t_cut, t_window)
            base = base or times
            print(f"{name:<16} {files:>6} {stored_size(path) / 2**20:>7.2f} {t_write:>8.3f} {t_read:>10.3f} {t_cut:>7.3f} "
                  f"{1e3 * t_window:>9.2f}  " + " ".join(f"{t / b:>6.2f}" for t, b in zip(times, base)))
    finally:
        shutil.rmtree(workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="N = 16 instead of 14")
    parser.add_argument("--layouts", action="store_true", help="compare the store layouts (N = 16, all even cuts)")
    args = parser.parse_args()
    if args.layouts:
        layouts()
        return
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
                t_write = timed(lambda: write_sample_store(result, path, state_chunk=chunk, compressors=codecs, shard=False))
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
