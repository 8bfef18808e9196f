"""Network inputs read from sample stores: the labelled data TD, the transition region TR, and the
per-sample features that classification and dreaming consume.

Conventions (Sec. IV and Appendix B of the paper): ETH-labelled spectra come from the samples at
h̄ = h_eth, MBL ones from h̄ = h_mbl, TR from every h_eth < h̄ < h_mbl. The lowest and highest
``edge_fraction`` of each full spectrum are removed from TD (states are sorted by energy); TR keeps
every state, as in Appendix B ("for the dataset corresponding to the pure ETH and MBL regimes"), unless
``trim_tr`` asks for the trimming there too. A shift-invert sample holds only the windows its targets
chose, and is used whole. Classification uses every state. The input of a cut is the largest block of
the smaller side, n1 = C(N_s, ⌊N_s/2⌋) (:func:`mblnn.learn.network.paper_n1`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from mblnn import streams
from mblnn.hbar import same_hbar
from mblnn.schema import default
from mblnn.errors import InputError
from mblnn.learn.network import ETH, MBL, TrainingData, input_features, paper_n1, trimmed_states
from mblnn.store.samples import SampleStore, open_sample_store


@dataclass(frozen=True)
class FeatureSettings:
    """How spectra become network inputs: cut N_A, the fraction of the largest-block entanglement
    spectrum kept (lowest levels), the input kind (``entanglement``, ``rho``, ``differences``) and the
    floor on ρ_A eigenvalues (ξ ≤ -ln floor; ``None``: the store's full resolution, ~1e-32 by SVD)."""

    cut: int
    fraction: float = default("training.fraction")
    kind: str = default("training.input")
    floor: float | None = default("training.floor")

    @classmethod
    def from_training(cls, training: dict, cut: int) -> "FeatureSettings":
        """From a (variant's) ``training`` section: its fraction, input and floor."""
        return cls(cut=int(cut), fraction=training["fraction"], kind=training["input"], floor=training["floor"])

    def as_dict(self) -> dict:
        return {"cut": self.cut, "fraction": self.fraction, "kind": self.kind, "floor": self.floor}


@dataclass
class SampleFeatures:
    """Network inputs of one sample: ``features (n_states, n_in)`` float32 for its states (all, or the
    trimmed ones), with their ``energy_density (n_states,)`` and index ``state (n_states,)`` into the store."""

    path: str
    N: int
    hbar: float
    realization: int
    features: np.ndarray
    energy_density: np.ndarray
    state: np.ndarray
    fields: np.ndarray = field(default_factory=lambda: np.zeros(0))


def sample_features(path: str | os.PathLike | SampleStore, settings: FeatureSettings,
                    edge_fraction: float | None = None) -> SampleFeatures:
    """Read one store's features for ``settings.cut`` (``path`` may be an opened store); with
    ``edge_fraction``, drop that fraction of the lowest and of the highest energies of a full
    spectrum (shift-invert samples are kept whole)."""
    store = path if isinstance(path, SampleStore) else open_sample_store(path, cut=settings.cut)
    spectrum = store.cut(settings.cut)["spectrum"][:]
    n = spectrum.shape[0]
    keep = slice(0, n)
    if edge_fraction is not None and "targets" not in store.group:
        keep = trimmed_states(n, edge_fraction)
    return SampleFeatures(
        path=str(store.path), N=store.N, hbar=float(store.attrs["hbar"]), realization=int(store.attrs["realization"]),
        features=input_features(spectrum[keep], settings.fraction, settings.kind, settings.floor,
                                paper_n1(store.N, settings.cut)),
        energy_density=store.group["energy_density"][keep], state=np.arange(n)[keep], fields=store.group["fields"][:],
    )


def training_data(
    paths: Iterable[str | os.PathLike],
    settings: FeatureSettings,
    h_eth: float = default("training.h_eth"),
    h_mbl: float = default("training.h_mbl"),
    edge_fraction: float = default("training.edge_fraction"),
    tr_max_spectra: int | None = None,
    seed: int = default("training.seed"),
    trim_tr: bool = default("training.trim_tr"),
) -> TrainingData:
    """TD and TR of one chain length from its sample stores (see the module docstring).

    ``edge_fraction`` trims TD (and TR too with ``trim_tr``, which is not the paper's protocol).

    ``tr_max_spectra`` caps TR by a seeded uniform subsample (the confidence term only needs batches
    of 100 spectra; a paper-size campaign has millions). Raises :class:`InputError` naming what is
    missing: no sample at h_eth or h_mbl, no sample in between, or mixed chain lengths.
    """
    if not h_eth < h_mbl:
        raise InputError(f"training.h_eth={h_eth} must be below training.h_mbl={h_mbl}")
    stores = [open_sample_store(p, cut=settings.cut) for p in paths]
    hbars = np.array([float(s.attrs["hbar"]) for s in stores])
    groups = {
        "ETH": [s for s, h in zip(stores, hbars) if same_hbar(h, h_eth)],
        "MBL": [s for s, h in zip(stores, hbars) if same_hbar(h, h_mbl)],
        "TR": [s for s, h in zip(stores, hbars) if h_eth < h < h_mbl and not same_hbar(h, h_eth) and not same_hbar(h, h_mbl)],
    }
    for name, members in groups.items():
        if not members:
            where = {"ETH": f"h_eth={h_eth}", "MBL": f"h_mbl={h_mbl}", "TR": f"{h_eth} < hbar < {h_mbl}"}[name]
            raise InputError(f"no {name} samples ({where}) among the {len(stores)} stores given; hbar values: "
                             f"{sorted(set(hbars.tolist()))}")
    trim = {"ETH": edge_fraction, "MBL": edge_fraction, "TR": edge_fraction if trim_tr else None}
    read = {name: [sample_features(s, settings, trim[name]) for s in members] for name, members in groups.items()}
    sizes = {s.N for samples in read.values() for s in samples}
    if len(sizes) != 1:
        raise InputError(f"training data must come from one chain length, got N in {sorted(sizes)}")
    eth = np.concatenate([s.features for s in read["ETH"]])
    mbl = np.concatenate([s.features for s in read["MBL"]])
    tr = np.concatenate([s.features for s in read["TR"]])
    if tr_max_spectra is not None and len(tr) > tr_max_spectra:
        rng = streams.generator(seed, "tr_subsample")
        tr = tr[np.sort(rng.choice(len(tr), size=tr_max_spectra, replace=False))]
    return TrainingData(td_x=np.concatenate([eth, mbl]), td_y=np.r_[np.full(len(eth), ETH), np.full(len(mbl), MBL)], tr_x=tr)

