"""On-disk form of one sample (interim ``.npz``; the chunked Zarr store replaces it in a later issue).

Writes are atomic: the file is written under a temporary name in the target directory and renamed
into place only when complete, so a killed job never leaves a file a rerun would trust.

Keys of the archive (shapes with n = number of eigenstates):

``energies (n,)``, ``energy_density (n,)``, ``gap_ratio (n,)``, ``fields (N,)``, ``cuts (c,)``, and per
cut ``N_A``: ``entropy_{N_A} (n,)``, ``schmidt_gap_{N_A} (n,)``, ``spectrum_{N_A} (n, n1)``;
``attrs``: a JSON string with N, J, hbar, sz, seed, realization, boundary and solver provenance.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .sample import SampleResult


def sample_attributes(result: SampleResult) -> dict:
    """Scalar metadata of a sample (JSON-serializable)."""
    spec = result.spec
    return {
        "N": spec.N,
        "J": spec.J,
        "hbar": spec.hbar,
        "sz": spec.sz,
        "seed": spec.seed,
        "realization": spec.realization,
        "explicit_fields": spec.fields is not None,
        "boundary": "open",
        "cuts": list(spec.cuts),
        "solver": result.solver,
    }


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(temporary_path)`` then rename the temporary file to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_sample_npz(result: SampleResult, path: str | os.PathLike) -> Path:
    """Write ``result`` to ``path`` (an ``.npz``), atomically."""
    arrays = {
        "energies": result.energies,
        "energy_density": result.energy_density,
        "gap_ratio": result.gap_ratio,
        "fields": result.fields,
        "cuts": np.asarray(result.spec.cuts, dtype=np.int64),
        "attrs": np.asarray(json.dumps(sample_attributes(result))),
    }
    for N_A, cut in result.cuts.items():
        arrays[f"entropy_{N_A}"] = cut.entropy
        arrays[f"schmidt_gap_{N_A}"] = cut.schmidt_gap
        arrays[f"spectrum_{N_A}"] = cut.spectrum

    def write(temporary: str) -> None:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)

    return atomic_write(path, write)


def read_sample_npz(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a sample archive: ``(attrs, arrays)``."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files if key != "attrs"}
        attrs = json.loads(str(archive["attrs"]))
    return attrs, arrays
