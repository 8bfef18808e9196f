"""Network inputs read from sample stores: the labelled data TD, the transition region TR, and the
per-sample features that classification and dreaming consume.

Conventions (Sec. IV and Appendix B of the paper): ETH-labelled spectra come from the samples at
h̄ = h_eth, MBL ones from h̄ = h_mbl, TR from every h_eth < h̄ < h_mbl. The lowest and highest
``edge_fraction`` of each full spectrum are removed from TD (states are sorted by energy); TR keeps
every state, as in Appendix B ("for the dataset corresponding to the pure ETH and MBL regimes"), unless
``trim_tr`` asks for the trimming there too. A shift-invert sample holds only the windows its targets
chose, and is used whole. Classification uses every state. The input of a cut is the largest block of
the smaller side, n1 = C(N_s, ⌊N_s/2⌋) (:func:`paper_n1`).
"""

from __future__ import annotations

import os
from math import comb
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from mblnn import streams
from mblnn.hbar import same_hbar
from mblnn.schema import default
from mblnn.errors import InputError
from mblnn.learn.network import ETH, MBL, TrainingData
from mblnn.store.samples import SampleStore, open_sample_store


def paper_n1(N: int, N_A: int) -> int:
    """Length of the network's entanglement spectrum for cut N_A of an N-site chain in the S^z = 0
    sector: n1 = C(N_s, ⌊N_s/2⌋) with N_s = min(N_A, N - N_A), the largest S^z block of the smaller
    side (ρ_A and ρ_B share their nonzero eigenvalues). The paper's n1 = C(N_A, ⌊N_A/2⌋) for
    N_A ≤ N/2, at most C(9, 4) = 126 at N = 18; for N_A > N/2 the stored block of A has only this many
    nonzero eigenvalues, the rest is padding."""
    smaller = min(int(N_A), int(N) - int(N_A))
    return comb(smaller, smaller // 2)


def input_features(spectra: np.ndarray, fraction: float = 0.5, kind: str = "entanglement",
                   floor: float | None = None, n_levels: int | None = None) -> np.ndarray:
    """Network inputs from largest-block entanglement spectra ξ (ascending), shape ``(n, n1)``.

    ``n_levels``: the spectrum's length n1 (default: all columns; see :func:`paper_n1`); the input is
    the lowest ⌈fraction·n1⌉ levels of it. ``floor``: ξ is capped at -ln(floor), every ρ_A eigenvalue below
    it set to it (1e-16: the hard-floor reading of the paper's Sec. IV); ``None`` (the preset) keeps the
    store's resolution (docs/physics.md, "The 1e-16 floor"). ``kind``: ``"entanglement"`` — the levels ξ
    (the paper's input); ``"rho"`` — the same levels as ρ_A eigenvalues λ = e^{-ξ} (Appendix A, input a);
    ``"differences"`` — differences of consecutive levels among them (Appendix A, input b). Returns float32
    ``(n, n_in)``.
    """
    if not 0 < fraction <= 1:
        raise InputError(f"fraction must lie in (0, 1], got {fraction}")
    if floor is not None and not 0 < floor < 1:
        raise InputError(f"floor must lie in (0, 1) or be None, got {floor}")
    spectra = np.asarray(spectra, dtype=np.float64)
    n1 = spectra.shape[1] if n_levels is None else int(n_levels)
    if not 1 <= n1 <= spectra.shape[1]:
        raise InputError(f"n_levels={n_levels} must lie in [1, {spectra.shape[1]}] (the stored spectrum's length)")
    keep = max(2 if kind == "differences" else 1, int(np.ceil(fraction * n1)))
    lower = spectra[:, :keep]
    if floor is not None:
        lower = np.minimum(lower, -np.log(floor))
    if kind == "entanglement":
        features = lower
    elif kind == "rho":
        features = np.exp(-lower)
    elif kind == "differences":
        features = np.diff(lower, axis=1)
    else:
        raise InputError(f"kind must be 'entanglement', 'rho' or 'differences', got {kind!r}")
    return features.astype(np.float32)


def trimmed_states(n_states: int, edge_fraction: float = 0.1) -> slice:
    """The states left after removing the lowest and highest ``edge_fraction`` of the energies
    (states sorted by energy), as used for the labelled training data."""
    cut = int(np.floor(edge_fraction * n_states))
    return slice(cut, n_states - cut)


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

