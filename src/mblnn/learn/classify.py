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

attrs also carry ``variant``, the name of the ensemble's cost weights (δ, μ) in the campaign.

Samples are sorted by (hbar, realization); state rows follow each store's energy order. Samples with
fewer states than the largest (shift-invert windows missing pairs) are NaN-padded. The completion
marker ``mblnn_complete`` and the file digests ``mblnn_digests`` are written last and the store appears
atomically, as for sample stores.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr

from mblnn.config import default
from mblnn.store.atomic import atomic_write
from mblnn.learn.features import FeatureSettings, sample_features
from mblnn.errors import InputError
from mblnn.store.integrity import CheckedGroup
from mblnn.learn.network import Ensemble, categories, input_features, paper_n1
from mblnn.store.samples import (
    STATE_CHUNK,
    StoreError,
    _compressors,
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
    n_s ≤ ``n_states``); one sample is in memory at a time. ``threshold`` sets the stored categories.
    """
    S, M, n = len(hbar), len(members), int(n_states)
    chunk = max(1, min(STATE_CHUNK, n))

    def padded(values, dtype=np.float64):
        values = np.asarray(values)
        out = np.full(values.shape[:-1] + (n,), np.nan, dtype)
        out[..., : values.shape[-1]] = values
        return out

    def write(temporary: Path) -> None:
        root = zarr.open_group(temporary, mode="w", zarr_format=3)
        root.attrs["mblnn_classification"] = {"version": CLASSIFICATION_VERSION, **attrs}
        kw = {"compressors": _compressors(), "fill_value": np.nan}
        arrays = {"confidence": root.create_array("confidence", shape=(S, M, n), chunks=(1, M, chunk), dtype="float32",
                                                  dimension_names=("sample", "member", "state"), **kw)}
        for name, dtype in (("energy_density", "float64"), ("entropy", "float64"), ("schmidt_gap", "float64"),
                            ("mean", "float32"), ("std", "float32")):
            arrays[name] = root.create_array(name, shape=(S, n), chunks=(1, chunk), dtype=dtype,
                                             dimension_names=("sample", "state"), **kw)
        arrays["category"] = root.create_array("category", shape=(S, n), chunks=(1, chunk), dtype="int8", fill_value=-2,
                                               compressors=_compressors(), dimension_names=("sample", "state"))
        written = 0
        for i, row in enumerate(rows):
            confidence = np.asarray(row["confidence"], np.float32)
            arrays["confidence"][i] = padded(confidence, np.float32)
            for name in ("energy_density", "entropy", "schmidt_gap"):
                arrays[name][i] = padded(row[name])
            mean = confidence.mean(axis=0)
            arrays["mean"][i] = padded(mean, np.float32)
            arrays["std"][i] = padded(confidence.std(axis=0), np.float32)
            category = np.full(n, -2, np.int8)
            category[: mean.size] = categories(mean, threshold)
            arrays["category"][i] = category
            written += 1
        if written != S:
            raise InputError(f"classification: {written} samples written, {S} expected")
        root.create_array("hbar", data=np.asarray(hbar, np.float64), dimension_names=("sample",))
        root.create_array("realization", data=np.asarray(realization, np.int64), dimension_names=("sample",))
        root.create_array("fields", data=np.asarray(fields, np.float64), dimension_names=("sample", "site"))
        root.create_array("members", data=np.asarray(members, np.int64), dimension_names=("member",))
        root.create_array("test_accuracy", data=np.asarray(test_accuracy, np.float64), dimension_names=("member",))
        root.attrs["mblnn_classification"] = {**root.attrs["mblnn_classification"], "threshold": threshold}
        mark_complete(root, temporary, {"version": CLASSIFICATION_VERSION, "samples": S})

    return atomic_write(out, write, directory=True)


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
             "ensemble": str(ensemble_path), "ensemble_sha256": _sha256(ensemble_path)}

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
