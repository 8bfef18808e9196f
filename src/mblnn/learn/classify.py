"""Per-eigenstate classification of sample stores by a trained ensemble, stored as Zarr.

Schema (version 1) — one store per (N, cut, ensemble)
-----------------------------------------------------
::

    N12_cut6.zarr/                               attrs["mblnn_classification"]: N, cut, feature settings,
                                                 the ensemble's training config, its path and SHA-256
      confidence      (sample, member, state) float32  MBL confidence of each network (NaN padding)
      mean            (sample, state)         float32  ensemble mean of the confidence
      std             (sample, state)         float32  its standard deviation over the networks
      category        (sample, state)         int8     Appendix C: +1 MBL (mean > threshold), -1 ETH
                                                       (mean < 1 - threshold), 0 other; -2 padding
      energy_density  (sample, state)         float64  ε of each state (NaN padding)
      entropy         (sample, state)         float64  entanglement entropy at the cut (nats)
      schmidt_gap     (sample, state)         float64  λ1 - λ2 at the cut
      hbar            (sample)                float64  disorder strength of each sample
      realization     (sample)                int64    realization index
      fields          (sample, site)          float64  h_1..h_N (units of J)
      members         (member)                int64    member indices (their seeds)
      test_accuracy   (member)                float64  η of each network on its own test half

attrs also carry ``variant``, the name of the ensemble's cost weights (δ, μ) in the campaign, and ``software``, the
versions it ran with (:func:`mblnn.provenance.software_versions`). When the ensemble's training spectra or the
classified ones come from a chain other than Eq. (5), ``chains`` records both ({"ensemble": …, "samples": …}, each
J, sz and the model beyond Eq. (5), :func:`mblnn.model.chain.chain_record`) and ``transfer``: whether they differ,
i.e. the networks classify a model they were not trained on.

Each per-state array is stored in shards of :func:`classification_block` samples (at most 8 per array, one
file each; chunks of one sample × 1024 states inside). The store is a directory or a ``*.zarr.zip`` archive
(:mod:`mblnn.store.layout`).

Samples are sorted by (hbar, realization); state rows follow each store's energy order. Samples with
fewer states than the largest (shift-invert windows missing pairs) are NaN-padded. The completion
marker ``mblnn_complete`` and the file digests ``mblnn_digests`` are written last and the store appears
atomically, as for sample stores.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr

from mblnn.model.chain import chain_record, is_paper_chain, paper_chain
from mblnn.provenance import software_versions
from mblnn.schema import default
from mblnn.store.layout import write_store
from mblnn.learn.features import FeatureSettings, sample_features
from mblnn.errors import InputError
from mblnn.store.integrity import CheckedGroup
from mblnn.learn.features import input_features, paper_n1
from mblnn.learn.network import Ensemble, categories
from mblnn.store.samples import (
    STATE_CHUNK,
    StoreError,
    array_compressors,
    checked_group,
    is_complete,
    mark_complete,
    open_sample_store,
)

CLASSIFICATION_VERSION = 1


def feature_settings_of(ensemble: Ensemble) -> FeatureSettings:
    """The input settings an ensemble was trained with (recorded by ``mblnn train``)."""
    data = ensemble.config.get("data")
    if not data:
        raise InputError("the ensemble does not record its input settings (cut, fraction, kind): train it with `mblnn train`")
    floor = data.get("floor")  # ensembles trained before the floor existed used the store's resolution
    return FeatureSettings(cut=int(data["cut"]), fraction=float(data["fraction"]), kind=str(data["kind"]),
                           floor=None if floor is None else float(floor))


def _sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_classification(out: str | os.PathLike, attrs: dict, hbar: Sequence[float], realization: Sequence[int],
                         fields: np.ndarray, members: Sequence[int], test_accuracy: Sequence[float], n_states: int,
                         rows: Iterable[dict], threshold: float = default("analysis.threshold")) -> Path:
    """Write a classification store (schema in the module docstring), atomically.

    ``rows`` yields, sample by sample in the order of ``hbar``/``realization``, a mapping with
    ``confidence (M, n_s)``, ``energy_density``, ``entropy`` and ``schmidt_gap`` (each ``(n_s,)``,
    n_s ≤ ``n_states``); one block of :func:`classification_block` samples is in memory at a time (at most 256 MB of
    confidences). ``threshold`` sets the stored categories.
    """
    S, M, n = len(hbar), len(members), int(n_states)
    chunk = max(1, min(STATE_CHUNK, n))
    block = classification_block(S, M, n)
    n_shard = -(-n // chunk) * chunk

    per_state = {"confidence": ((M,), np.float32, np.nan), "energy_density": ((), np.float64, np.nan),
                 "entropy": ((), np.float64, np.nan), "schmidt_gap": ((), np.float64, np.nan),
                 "mean": ((), np.float32, np.nan), "std": ((), np.float32, np.nan), "category": ((), np.int8, -2)}

    def write(temporary: Path) -> None:
        root = zarr.open_group(temporary, mode="w", zarr_format=3)
        root.attrs["mblnn_classification"] = {"version": CLASSIFICATION_VERSION, **attrs}
        arrays = {}
        for name, (middle, dtype, fill) in per_state.items():
            dims = ("sample",) + (("member",) if middle else ()) + ("state",)
            arrays[name] = root.create_array(name, shape=(S, *middle, n), chunks=(1, *middle, chunk),
                                             shards=(block, *middle, n_shard), dtype=dtype, fill_value=fill,
                                             compressors=array_compressors(), dimension_names=dims)
        # a block of samples is gathered in memory and written as whole shards: writing one sample into a
        # shard would read and rewrite the shard each time. The buffers hold the fill values (the padding of
        # samples with fewer states) wherever a row does not reach.
        buffers = {name: np.full((block, *middle, n), fill, dtype) for name, (middle, dtype, fill) in per_state.items()}
        written = start = 0

        def flush(stop: int) -> None:
            for name, buffer in buffers.items():
                arrays[name][start:stop] = buffer[: stop - start]
                buffer[...] = per_state[name][2]

        for i, row in enumerate(rows):
            if i >= S:
                raise InputError(f"classification: more than the {S} samples expected")
            confidence = np.asarray(row["confidence"], np.float32)
            mean = confidence.mean(axis=0)
            values = {"confidence": confidence, "mean": mean, "std": confidence.std(axis=0),
                      "category": categories(mean, threshold), **{k: row[k] for k in ("energy_density", "entropy", "schmidt_gap")}}
            for name, value in values.items():
                value = np.asarray(value)
                buffers[name][i - start, ..., : value.shape[-1]] = value
            written = i + 1
            if written - start == block:
                flush(written)
                start = written
        if written != S:
            raise InputError(f"classification: {written} samples written, {S} expected")
        if written > start:
            flush(written)
        root.create_array("hbar", data=np.asarray(hbar, np.float64), dimension_names=("sample",))
        root.create_array("realization", data=np.asarray(realization, np.int64), dimension_names=("sample",))
        root.create_array("fields", data=np.asarray(fields, np.float64), dimension_names=("sample", "site"))
        root.create_array("members", data=np.asarray(members, np.int64), dimension_names=("member",))
        root.create_array("test_accuracy", data=np.asarray(test_accuracy, np.float64), dimension_names=("member",))
        root.attrs["mblnn_classification"] = {**root.attrs["mblnn_classification"], "threshold": threshold}
        mark_complete(root, temporary, {"version": CLASSIFICATION_VERSION, "samples": S})

    return write_store(out, write)


#: at most this many shards per array of a classification store, and at most this many bytes of confidences
#: gathered in memory for one shard
CLASSIFICATION_SHARDS, CLASSIFICATION_BUFFER_BYTES = 8, 2**28


def classification_store_files(samples: int, members: int, n_states: int, archive: bool) -> int:
    """Files of one classification store as :func:`write_classification` lays it out (hidden files aside): the
    root ``zarr.json``, 7 per-state arrays of a ``zarr.json`` and one shard per block of samples, 5 small arrays
    of a ``zarr.json`` and one chunk; 1 for an archive."""
    shards = -(-max(1, samples) // classification_block(samples, members, n_states))
    return 1 if archive else 1 + 7 * (1 + shards) + 5 * 2


def classification_block(samples: int, members: int, n_states: int) -> int:
    """Samples per shard of a classification store: the samples split into :data:`CLASSIFICATION_SHARDS`
    shards, fewer per shard where a block's confidences (float32, members × states each) would exceed
    :data:`CLASSIFICATION_BUFFER_BYTES`."""
    per_sample = 4 * max(1, members) * max(1, n_states)
    return max(1, min(-(-max(1, samples) // CLASSIFICATION_SHARDS), CLASSIFICATION_BUFFER_BYTES // per_sample))


def classify_samples(ensemble_path: str | os.PathLike, paths: Iterable[str | os.PathLike], out: str | os.PathLike,
                     variant: str = "main", threshold: float = default("analysis.threshold")) -> Path:
    """Classify every state of every sample store in ``paths`` with the ensemble saved at
    ``ensemble_path`` and write the store ``out`` (schema in the module docstring); ``variant``
    labels the ensemble (cost weights) in the tables."""
    ensemble = Ensemble.load(ensemble_path)
    settings = feature_settings_of(ensemble)
    paths = [str(p) for p in paths]
    if not paths:
        raise InputError("classify: no sample stores given")
    headers = sorted((open_sample_store(p, cut=settings.cut) for p in paths),
                     key=lambda s: (float(s.attrs["hbar"]), int(s.attrs["realization"])))
    sizes = {s.N for s in headers}
    if len(sizes) != 1:
        raise InputError(f"classify: stores of one chain length expected, got N in {sorted(sizes)}")
    n_in = int(ensemble.config.get("n_in", ensemble.w1.shape[1]))
    n1 = paper_n1(headers[0].N, settings.cut)
    width = input_features(np.zeros((1, n1)), settings.fraction, settings.kind, settings.floor, n1).shape[1]
    if width != n_in:
        raise InputError(f"classify: the stores give {width} inputs per spectrum, the ensemble expects {n_in}")
    attrs = {"N": headers[0].N, **settings.as_dict(), "variant": variant,
             "training": {k: v for k, v in ensemble.config.items() if k != "data"},
             "ensemble": str(ensemble_path), "ensemble_sha256": _sha256(ensemble_path), "software": software_versions()}
    chains = {"ensemble": ensemble.config["data"].get("chain", paper_chain()),
              "samples": chain_record(headers[0].attrs)}
    if len({json.dumps(chain_record(s.attrs), sort_keys=True) for s in headers}) > 1:
        raise InputError("classify: the sample stores hold different chains (model, J or sz); classify one campaign at a time")
    if not all(map(is_paper_chain, chains.values())):  # both sides' chains, when either is not Eq. (5)
        attrs["chains"] = chains | {"transfer": chains["ensemble"] != chains["samples"]}

    def rows():
        for store in headers:
            sample = sample_features(store, settings)
            cut = store.cut(settings.cut)
            yield {"confidence": ensemble.confidences(sample.features), "energy_density": sample.energy_density,
                   "entropy": cut["entropy"][:], "schmidt_gap": cut["schmidt_gap"][:]}

    return write_classification(
        out, attrs, hbar=[float(s.attrs["hbar"]) for s in headers], realization=[int(s.attrs["realization"]) for s in headers],
        fields=np.stack([s.group["fields"][:] for s in headers]), members=ensemble.members,
        test_accuracy=ensemble.test_accuracy, n_states=max(s.group["energies"].shape[0] for s in headers), rows=rows(),
        threshold=threshold)


@dataclass(frozen=True)
class Classification:
    """An opened classification store; arrays are read on access (checked against the store's
    digests, :mod:`mblnn.store.integrity`) except the small ones."""

    path: Path
    group: CheckedGroup
    attrs: dict
    hbar: np.ndarray
    realization: np.ndarray

    @property
    def N(self) -> int:
        return int(self.attrs["N"])

    def mean_confidence(self, sample: int) -> np.ndarray:
        """Ensemble-mean MBL confidence of each state of one sample, shape ``(n_state,)`` (NaN padding)."""
        return self.group["mean"][sample]


def open_classification(path: str | os.PathLike) -> Classification:
    path = Path(path)
    if not is_complete(path):
        raise StoreError(f"{path}: no complete classification store here (missing, or its writer did not finish): rerun `mblnn classify`")
    group = checked_group(path)
    attrs = dict(group.attrs["mblnn_classification"])
    if attrs.get("version") != CLASSIFICATION_VERSION:
        raise StoreError(f"{path}: classification version {attrs.get('version')!r}, this mblnn reads {CLASSIFICATION_VERSION}")
    return Classification(path=path, group=group, attrs=attrs, hbar=group["hbar"][:], realization=group["realization"][:])
