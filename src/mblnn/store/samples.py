"""Chunked Zarr (v3) stores for diagonalized samples, and a lazy campaign view over many of them.

Schema version 1 — one store per sample (one N, h̄, realization, solver, set of cuts)
----------------------------------------------------------------------------------
::

    r0.zarr/                      group; attrs["mblnn"] = provenance (below)
      state           (state)        int64    0 .. n-1 (xarray's index of the state axis)
      site            (site)         int64    1 .. N
      energies        (state)        float64  eigenvalues in units of J, ascending
      energy_density  (state)        float64  ε = (E - E_min)/(E_max - E_min)
      gap_ratio       (state)        float64  r_n of Eq. (9); NaN at the spectrum's ends
      fields          (site)         float64  h_1..h_N in units of J
      targets         (target)       float64  shift-invert only: target energy densities ε_t
      window          (state)        int64    shift-invert only: index into targets of each state
      residual        (state)        float64  shift-invert only: ‖Hv - Ev‖ of each eigenpair
      cut{N_A}/                   group per cut; attrs N_A, n1
        entropy       (state)        float64  von Neumann entropy (nats)
        schmidt_gap   (state)        float64  λ1 - λ2
        spectrum      (state, level) float64  ξ = -ln λ of the largest S^z_A block, ascending

Completion: the root attribute ``mblnn_complete`` ({schema_version, N, cuts}) is written after every
array, with ``mblnn_digests`` (SHA-256 of every file, :mod:`mblnn.store.integrity`); a store without it is
incomplete and never read. The metadata is then consolidated into the root ``zarr.json``. Arrays carry
``long_name`` and ``units`` (:data:`ARRAY_ATTRIBUTES`); ``state`` and ``site`` are written from this
version on (stores without them read the same).

Dimension names are stored as Zarr v3 ``dimension_names``, so ``xarray.open_zarr(path)`` and
``xarray.open_zarr(path, group="cut8")`` give labelled datasets; plain ``zarr.open_group`` works too.

Provenance attributes (``attrs["mblnn"]``): schema_version, N, J, hbar, sz, seed, realization,
explicit_fields, boundary ("open" or "periodic"), model (only for a model other than the paper's Eq. (5): delta, J2,
fields, beta with quasiperiodic fields, boundary — :func:`mblnn.model.chain.model_extension`), cuts, solver (name and
options, the same across a campaign), diagnostics (per sample: spectrum bounds, largest residual, missing/duplicate pairs), mblnn_version, git_revision
(when the package runs from a git checkout; ``-dirty`` marks uncommitted changes), software (versions of mblnn,
Python, numpy, scipy, zarr, TensorFlow and the MPI stack where installed: :func:`mblnn.provenance.software_versions`),
config_sha256 (SHA-256 of the canonical JSON of the parameters that determine the sample), created (UTC, ISO 8601).

Chunking and compression (measured with ``bench/store.py --full`` on an N = 16 sample, see README):
arrays over states are chunked in blocks of :data:`STATE_CHUNK` = 1024 consecutive eigenstates (an
energy window, since states are sorted by energy) times the full level axis, and compressed with
Blosc LZ4 after a byte shuffle. Float64 spectra are high-entropy: every lossless codec we tried gave
1.1-1.2x; byte shuffle is what helps, LZ4 matches Zstandard's size within 0.4 % and writes and reads
fastest; 4096-state chunks waste the padding of the last chunk, 256-state chunks multiply files.
Values stay float64 so that what the solver returned is read back bit for bit. Each array is one Zarr v3
shard holding all its chunks (one file per array instead of one per 1024 states; readers still fetch single
chunks through the shard's index), written in one call.

Layout (:mod:`mblnn.store.layout`): a directory ``r0.zarr/`` or one zip archive ``r0.zarr.zip`` with the same
files as entries, chosen by the name; every reader here takes both.

Writes are atomic (:mod:`mblnn.store.atomic`): a store is built under a hidden temporary name and renamed
into place after its completion marker is written.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec, BloscShuffle

from mblnn import __version__
from mblnn.provenance import git_revision, software_versions
from mblnn.store.layout import is_store_name, open_group, store_exists, write_store
from mblnn.observables.entanglement import CutEntanglement
from mblnn.model.chain import chain_record
from mblnn.errors import InputError
from mblnn.store.integrity import (DIGESTS_ATTRIBUTE, CheckedGroup, Verification, file_digests, recorded_digests, root_attributes,
                        verify_store)
from mblnn.sample import SampleResult, SampleSpec

SCHEMA_VERSION = 1
COMPLETE_MARKER = "mblnn_complete"
STATE_CHUNK = 1024


class StoreError(InputError):
    """A store is missing, incomplete, or does not match what the reader expects."""


def array_compressors():
    """The compression of every array mblnn writes into a store (sample and classification stores): Blosc lz4."""
    return (BloscCodec(cname="lz4", clevel=5, shuffle=BloscShuffle.shuffle),)


def parameters_sha256(parameters: dict) -> str:
    """SHA-256 of the canonical JSON (sorted keys) of a parameter mapping."""
    return hashlib.sha256(json.dumps(parameters, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def sample_parameters(result: SampleResult) -> dict:
    """The parameters that determine a sample: its spec and the solver options."""
    spec, model = result.spec, result.spec.model
    return {
        "N": spec.N, "J": spec.J, "hbar": spec.hbar, "sz": spec.sz, "seed": spec.seed,
        "realization": spec.realization, "cuts": list(spec.cuts),
        "fields": None if spec.fields is None else list(spec.fields), "solver": result.solver,
        # the paper's model adds nothing (its stores and hashes stay as they were); any other is recorded whole
        **({"model": model} if model else {}),
    }


def provenance(result: SampleResult) -> dict:
    parameters = sample_parameters(result)
    return {
        "schema_version": SCHEMA_VERSION,
        **{key: value for key, value in parameters.items() if key != "fields"},
        "explicit_fields": result.spec.fields is not None,
        "diagnostics": result.diagnostics,
        "boundary": result.spec.boundary,
        "mblnn_version": __version__,
        "git_revision": git_revision(),
        "software": software_versions(),
        "config_sha256": parameters_sha256(parameters),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def whole_array_shard(shape: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[int, ...]:
    """The shard shape that holds every chunk of an array in one file: the shape rounded up to whole chunks."""
    return tuple(-(-max(1, n) // c) * c for n, c in zip(shape, chunks))


def write_sample_store(
    result: SampleResult, path: str | os.PathLike, state_chunk: int = STATE_CHUNK, compressors=None, shard: bool = True
) -> Path:
    """Write one sample to the Zarr store ``path``, atomically: a directory (``*.zarr``) or one zip archive
    (``*.zarr.zip``, :mod:`mblnn.store.layout`).

    Each array is one Zarr v3 shard (one file) of ``state_chunk``-state chunks, so a store has 13 + 7 × cuts
    files as a directory (20 for one cut; unsharded, every 1024 states of every state array was a file of its
    own: N = 18 with 7 cuts ~1,200) and one as an archive. ``state_chunk``, ``compressors`` (a tuple of Zarr
    codecs, ``()`` for none) and ``shard`` override the measured defaults; ``bench/store.py`` compares them.
    """
    attrs = provenance(result)
    compressors = array_compressors() if compressors is None else compressors

    def put(group, name: str, data: np.ndarray, dims: tuple[str, ...]) -> None:
        chunks = tuple(max(1, min(state_chunk, n)) if dim == "state" else max(1, n) for dim, n in zip(dims, data.shape))
        group.create_array(name=name, data=data, chunks=chunks, shards=whole_array_shard(data.shape, chunks) if shard else None,
                           compressors=compressors, dimension_names=dims,
                           fill_value=np.nan if data.dtype.kind == "f" else 0, attributes=ARRAY_ATTRIBUTES[name])

    def write(temporary: Path) -> None:
        root = zarr.open_group(temporary, mode="w", zarr_format=3)
        root.attrs["mblnn"] = attrs
        put(root, "state", np.arange(result.energies.size, dtype=np.int64), ("state",))
        put(root, "site", np.arange(1, result.spec.N + 1, dtype=np.int64), ("site",))
        for name in ("energies", "energy_density", "gap_ratio"):
            put(root, name, getattr(result, name), ("state",))
        put(root, "fields", result.fields, ("site",))
        if result.targets is not None:
            put(root, "targets", np.asarray(result.targets, dtype=np.float64), ("target",))
            put(root, "window", np.asarray(result.window, dtype=np.int64), ("state",))
            put(root, "residual", np.asarray(result.residuals, dtype=np.float64), ("state",))
        for N_A, cut in result.cuts.items():
            group = root.create_group(f"cut{N_A}", attributes={"N_A": N_A, "n1": cut.spectrum.shape[1]})
            put(group, "entropy", cut.entropy, ("state",))
            put(group, "schmidt_gap", cut.schmidt_gap, ("state",))
            put(group, "spectrum", cut.spectrum, ("state", "level"))
        mark_complete(root, temporary, {"schema_version": SCHEMA_VERSION, "N": result.spec.N, "cuts": list(result.spec.cuts)})

    return write_store(path, write)


def sample_store_files(cuts: int, interior: bool, archive: bool) -> int:
    """Files of one sample store as :func:`write_sample_store` lays it out (hidden files aside): the root
    ``zarr.json``, per array its ``zarr.json`` and one shard (6 arrays, 3 more for interior solvers' windows), per
    cut a group ``zarr.json`` and 3 arrays; 1 for an archive. At most: a shard whose chunks are all fill value is
    not written."""
    return 1 if archive else 1 + 2 * (6 + 3 * interior) + cuts * (1 + 2 * 3)


#: Labels of the sample store's arrays, for ``xarray.open_zarr`` and other readers: CF-style ``long_name``
#: and ``units``; ``coordinates`` makes E and ε coordinates of the state axis in xarray.
ARRAY_ATTRIBUTES = {
    "state": {"long_name": "eigenstate index (ascending energy)"},
    "site": {"long_name": "lattice site r (open chain, cut A = sites 1..N_A)"},
    "energies": {"long_name": "eigenvalue E", "units": "J"},
    "energy_density": {"long_name": "energy density ε = (E - E_min)/(E_max - E_min)", "units": "1"},
    "gap_ratio": {"long_name": "gap ratio r_n, Eq. (9)", "units": "1", "coordinates": "energies energy_density"},
    "fields": {"long_name": "random field h_r = hbar u_r", "units": "J"},
    "targets": {"long_name": "shift-invert target energy density", "units": "1"},
    "window": {"long_name": "index into targets of each state"},
    "residual": {"long_name": "residual norm |Hv - Ev|", "units": "J"},
    "entropy": {"long_name": "von Neumann entanglement entropy of A", "units": "nat"},
    "schmidt_gap": {"long_name": "Schmidt gap λ1 - λ2", "units": "1"},
    "spectrum": {"long_name": "entanglement spectrum ξ = -ln λ of the largest S^z_A block, ascending", "units": "1"},
}


def mark_complete(root: zarr.Group, directory: Path, marker: dict) -> None:
    """Record the digests of every file written below ``directory`` and the completion marker, in one
    metadata write after every array, then consolidate the metadata into the root ``zarr.json``: the
    marker's presence certifies the arrays, the digests let readers and `mblnn verify` detect later
    damage (:mod:`mblnn.store.integrity`), and consolidated metadata opens in one read (``xarray.open_zarr``
    needs no directory listing, so it neither warns nor sees Snakemake's ``.snakemake_timestamp``)."""
    import warnings

    root.attrs.update({DIGESTS_ATTRIBUTE: file_digests(directory), COMPLETE_MARKER: marker})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
        zarr.consolidate_metadata(directory, zarr_format=3)


def checked_group(path: Path) -> CheckedGroup:
    """The root group of the complete store at ``path``, read through its recorded digests."""
    return CheckedGroup(open_group(path), path, recorded_digests(path), StoreError)


@dataclass(frozen=True)
class SampleStore:
    """A validated, complete sample store opened for reading (arrays are read on access)."""

    path: Path
    group: CheckedGroup
    attrs: dict

    @property
    def N(self) -> int:
        return int(self.attrs["N"])

    @property
    def cuts(self) -> tuple[int, ...]:
        return tuple(self.attrs["cuts"])

    def cut(self, N_A: int) -> zarr.Group:
        if N_A not in self.cuts:
            raise StoreError(f"{self.path}: no cut N_A={N_A} in this store (cuts: {list(self.cuts)})")
        return self.group[f"cut{N_A}"]


def is_complete(path: str | os.PathLike) -> bool:
    """Whether the store at ``path`` carries its completion marker (reads only the root metadata)."""
    return COMPLETE_MARKER in (root_attributes(path) or {})


def open_sample_store(path: str | os.PathLike, N: int | None = None, cut: int | None = None) -> SampleStore:
    """Open a complete store; raise :class:`StoreError` if it is incomplete or does not match.

    ``N`` and ``cut``, when given, must match the store's chain length and be among its cuts. Arrays
    are checked against the store's digests on their first read (:mod:`mblnn.store.integrity`); a damaged
    one raises :class:`StoreError` naming the store and the array.
    """
    path = Path(path)
    if not store_exists(path):
        raise StoreError(f"{path}: no such store")
    if not is_complete(path):
        raise StoreError(f"{path}: incomplete store (no {COMPLETE_MARKER!r} attribute; its writer did not finish): rerun the job")
    group = checked_group(path)
    attrs = dict(group.attrs.get("mblnn", {}))
    version = attrs.get("schema_version")
    if version != SCHEMA_VERSION:
        raise StoreError(f"{path}: schema version {version!r}, this mblnn reads version {SCHEMA_VERSION}")
    store = SampleStore(path=path, group=group, attrs=attrs)
    if N is not None and store.N != N:
        raise StoreError(f"{path}: holds N={store.N}, expected N={N}")
    if cut is not None:
        store.cut(cut)
    return store


def read_sample(path: str | os.PathLike) -> SampleResult:
    """Read a whole sample store back into a :class:`SampleResult` (bit-identical arrays)."""
    store = open_sample_store(path)
    a, g = store.attrs, store.group
    spec = SampleSpec.from_model(chain_record(a), N=a["N"], hbar=a["hbar"], seed=a["seed"], realization=a["realization"],
                                 cuts=tuple(a["cuts"]), fields=tuple(g["fields"][:]) if a["explicit_fields"] else None)
    cuts = {}
    for N_A in store.cuts:
        c = store.cut(N_A)
        cuts[N_A] = CutEntanglement(N_A=N_A, entropy=c["entropy"][:], schmidt_gap=c["schmidt_gap"][:],
                                    spectrum=c["spectrum"][:], trace=np.full(c["entropy"].shape, np.nan))
    shift_invert = {}
    if "targets" in g:
        shift_invert = {"targets": g["targets"][:], "window": g["window"][:], "residuals": g["residual"][:]}
    return SampleResult(spec=spec, fields=g["fields"][:], energies=g["energies"][:], energy_density=g["energy_density"][:],
                        gap_ratio=g["gap_ratio"][:], cuts=cuts, solver=a["solver"], diagnostics=a["diagnostics"],
                        **shift_invert)


def store_kind(path: str | os.PathLike) -> str | None:
    """"sample", "classification", or None (not an mblnn store, or its root metadata is unreadable)."""
    attributes = root_attributes(path) or {}
    if "mblnn" in attributes:
        return "sample"
    return "classification" if "mblnn_classification" in attributes else None


def zarr_stores(root: str | os.PathLike) -> list[Path]:
    """Every store below ``root`` (sorted): ``*.zarr`` directories and ``*.zarr.zip`` archives, leftovers of
    killed writers (hidden) skipped."""
    root = Path(root)
    found = [p for p in root.rglob("*.zarr") if p.is_dir()] + [p for p in root.rglob("*.zarr.zip") if p.is_file()]
    return sorted(p for p in found if not any(part.startswith(".") for part in p.relative_to(root).parts))


def _names_a_store(path: Path) -> bool:
    return is_store_name(path) or (path.is_dir() and (path / "zarr.json").exists())


def find_stores(root: str | os.PathLike, N: int | None = None) -> list[Path]:
    """Complete sample stores below ``root`` (partial, incomplete and classification stores skipped)."""
    found = []
    for path in zarr_stores(root):
        if not is_complete(path) or store_kind(path) != "sample":
            continue
        if N is None or open_sample_store(path).N == N:
            found.append(path)
    return found


def verify(paths: Iterable[str | os.PathLike]) -> list[Verification]:
    """Check stores against their recorded digests (:func:`mblnn.store.integrity.verify_store`): each path is
    a store (``*.zarr``, ``*.zarr.zip``, or any directory with a ``zarr.json``), or a directory searched for stores.
    A path that does not exist is reported "bad"."""
    results = []
    for path in map(Path, paths):
        is_store = _names_a_store(path) or not path.exists()
        for store in [path] if is_store else zarr_stores(path):
            results.append(verify_store(store, is_complete))
    return results


def open_campaign(paths: Iterable[str | os.PathLike], cut: int):
    """Lazy ``xarray.Dataset`` over many sample stores of one N, for one cut.

    Dimensions ``(hbar, realization, state, level)`` (and ``site`` for the fields), coordinates
    ``hbar`` (sorted) and ``realization``; variables energies, energy_density, gap_ratio, fields,
    entropy, schmidt_gap, spectrum. Nothing is copied: each variable is a dask array over the
    stores' own chunks. Combinations of (hbar, realization) with no store are NaN. All stores
    must share N, J, sz, seed, solver and the state count; a mismatch raises :class:`StoreError`
    naming the store. The view reads the chunks lazily and does not check digests: run
    ``mblnn verify`` on the stores first when their integrity is in doubt.
    """
    import dask.array as da
    import xarray as xr

    stores = [open_sample_store(p, cut=cut) for p in paths]
    if not stores:
        raise StoreError("open_campaign: no stores given")
    first = stores[0]
    shared = ("N", "J", "sz", "seed", "solver", "model")
    n_states = first.group["energies"].shape[0]
    for store in stores[1:]:
        for key in shared:
            if store.attrs.get(key) != first.attrs.get(key):
                raise StoreError(f"{store.path}: {key}={store.attrs.get(key)!r} differs from {first.path} "
                                 f"({first.attrs.get(key)!r})")
        if store.group["energies"].shape[0] != n_states:
            raise StoreError(f"{store.path}: {store.group['energies'].shape[0]} states, {first.path} has {n_states}")
    hbars = sorted({s.attrs["hbar"] for s in stores})
    realizations = sorted({s.attrs["realization"] for s in stores})
    slot = {}
    for store in stores:
        key = (store.attrs["hbar"], store.attrs["realization"])
        if key in slot:
            raise StoreError(f"{store.path}: duplicate of {slot[key].path} (hbar={key[0]}, realization={key[1]})")
        slot[key] = store

    def stacked(get) -> "da.Array":
        template = get(first).raw
        blank = da.full(template.shape, np.nan, chunks=template.chunks, dtype=template.dtype)
        return da.stack([
            da.stack([da.from_zarr(get(slot[h, r]).raw) if (h, r) in slot else blank for r in realizations])
            for h in hbars
        ])

    root = ("energies", "energy_density", "gap_ratio")
    per_cut = ("entropy", "schmidt_gap")
    variables = {name: (("hbar", "realization", "state"), stacked(lambda s, n=name: s.group[n])) for name in root}
    variables["fields"] = (("hbar", "realization", "site"), stacked(lambda s: s.group["fields"]))
    for name in per_cut:
        variables[name] = (("hbar", "realization", "state"), stacked(lambda s, n=name: s.cut(cut)[n]))
    variables["spectrum"] = (("hbar", "realization", "state", "level"), stacked(lambda s: s.cut(cut)["spectrum"]))
    attrs = {key: first.attrs[key] for key in ("N", "J", "sz", "seed", "boundary")}
    attrs["N_A"] = cut
    attrs["solver"] = json.dumps(first.attrs["solver"], sort_keys=True)
    return xr.Dataset(variables, coords={"hbar": hbars, "realization": realizations}, attrs=attrs)


def describe(path: str | os.PathLike) -> str:
    """Human-readable summary of a sample or classification store, or of all stores below a directory.

    Raises :class:`StoreError` if ``path`` does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such store or directory")
    if _names_a_store(path):
        lines = [f"{path}: " + ("complete" if is_complete(path) else "INCOMPLETE (no completion marker)")]
        if not is_complete(path):
            return "\n".join(lines)
        if store_kind(path) == "classification":
            return "\n".join(lines + [_describe_classification(path)])
        store = open_sample_store(path)
        a = store.attrs
        lines.append(f"  schema v{a['schema_version']}, N={a['N']} J={a['J']} sz={a['sz']} hbar={a['hbar']} "
                     f"seed={a['seed']} realization={a['realization']} boundary={a['boundary']}"
                     + (f" model {json.dumps(a['model'], sort_keys=True)}" if a.get("model") else ""))
        lines.append(f"  solver {json.dumps(a['solver'], sort_keys=True)}, mblnn {a['mblnn_version']}, "
                     f"git {a['git_revision'] or 'n/a'}, config sha256 {a['config_sha256'][:12]}…, created {a['created']}")
        lines.append("  digests: " + ("recorded (`mblnn verify` checks them)" if recorded_digests(path) is not None
                                      else "none (written before digests)"))
        arrays = [("", name, store.group[name]) for name in ("energies", "energy_density", "gap_ratio", "fields")]
        arrays += [(f"cut{c}/", name, store.cut(c)[name]) for c in store.cuts for name in ("entropy", "schmidt_gap", "spectrum")]
        for prefix, name, array in arrays:
            dims = ", ".join(f"{d}={n}" for d, n in zip(array.metadata.dimension_names, array.shape))
            lines.append(f"  {prefix + name:<22} ({dims}) {array.dtype}, chunks {array.chunks}, "
                         f"{array.nbytes_stored() / 2**10:.1f} KiB stored of {array.nbytes / 2**10:.1f} KiB")
        return "\n".join(lines)
    stores = zarr_stores(path)
    partial = sorted(p for p in path.rglob(".*.partial-*"))
    kinds = {p: store_kind(p) for p in stores}
    complete = [p for p in stores if is_complete(p)]
    samples = [p for p in complete if kinds[p] == "sample"]
    classifications = [p for p in complete if kinds[p] == "classification"]
    lines = [f"{path}: {len(samples)} complete sample stores, {len(classifications)} classification stores, "
             f"{len(stores) - len(complete)} incomplete, {len(partial)} partial leftovers of killed writers"]
    by_n: dict[int, list[dict]] = {}
    for p in samples:
        attrs = open_sample_store(p).attrs
        by_n.setdefault(attrs["N"], []).append(attrs)
    for N, attrs in sorted(by_n.items()):
        hbars = sorted({a["hbar"] for a in attrs})
        realizations = sorted({a["realization"] for a in attrs})
        cuts = sorted({c for a in attrs for c in a["cuts"]})
        missing = len(hbars) * len(realizations) - len(attrs)
        shown = hbars if len(hbars) <= 12 else f"{len(hbars)} values {hbars[0]} … {hbars[-1]}"
        lines.append(f"  N={N}: {len(attrs)} samples, hbar {shown}, realizations {realizations[0]}..{realizations[-1]}"
                     f" ({len(realizations)}), cuts {cuts}, {missing} missing (hbar, realization) pairs")
    for p in classifications:
        lines.append(f"  classification {p.relative_to(path)}: {_describe_classification(p).strip()}")
    for p in sorted(set(stores) - set(complete)):
        lines.append(f"  incomplete: {p}")
    return "\n".join(lines)


def _describe_classification(path: Path) -> str:
    group = open_group(path)
    a = dict(group.attrs["mblnn_classification"])
    shape = group["confidence"].shape
    return (f"  classification v{a.get('version')}, N={a.get('N')} cut={a.get('cut')} variant={a.get('variant', 'main')}: "
            f"{shape[0]} samples x {shape[1]} networks x {shape[2]} states")
