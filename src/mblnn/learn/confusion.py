"""Learning by confusion (van Nieuwenburg, Liu & Huber, Nat. Phys. 13, 435 (2017)) on entanglement spectra.

For each trial transition point h̄' the spectra of samples with h̄ < h̄' are labelled ETH and those
with h̄ > h̄' MBL, a network is trained on half of them and tested on the other half. The test
accuracy η(h̄') is 1 at both ends of the grid (all but one h̄ carry the same label, which a network
nearly gets by predicting the majority) and, if the data change character at h̄_c, again high at
h̄' ≈ h̄_c, where the labels agree with the data: the W shape. Unlike the paper's scheme no h̄ is
assumed deep in either phase.

Trials are the midpoints between consecutive h̄ of the data, so no sample sits on a trial point. All
trials × repeats are members of one vectorized ensemble (:func:`mblnn.learn.network.train_ensemble` with
one labelling per member); member ``t · repeats + k`` is repeat k of trial t. The confidence term
is off (δ = 0): there is no unlabelled data. The transition estimate is the middle peak of the W
(:func:`confusion_transition`), found with the help of the *excess* accuracy η − η_trivial, where
η_trivial = max(f, 1 - f) is what predicting the majority label scores (f: the fraction labelled
ETH): the trivial arms of the W carry no excess. If the network cannot tell the phases apart, the
accuracy stays near η_trivial everywhere and the estimate is noise near the middle of the grid:
look at the curve (table ``confusion``) before trusting the number.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from mblnn import streams
from mblnn.schema import default
from mblnn.errors import InputError
from mblnn.learn.features import FeatureSettings, sample_features
from mblnn.learn.network import ETH, MBL, TrainingConfig, TrainingData, train_ensemble
from mblnn.observables.levels import energy_bins
from mblnn.store.samples import open_sample_store


#: first member index of the confusion networks (the paper's ensembles use 0, 1, ...)
CONFUSION_MEMBERS = 2**20


def confusion_trials(hbar: np.ndarray) -> np.ndarray:
    """Midpoints between consecutive distinct values of ``hbar``: shape ``(n_distinct - 1,)``."""
    values = np.unique(np.asarray(hbar, float))
    if values.size < 3:
        raise InputError(f"learning by confusion needs at least 3 distinct hbar values, got {values.tolist()}")
    return 0.5 * (values[1:] + values[:-1])


def confusion_labels(hbar: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Labels ``(T, n)``: MBL (1) where the spectrum's ``hbar (n,)`` exceeds trial t, else ETH (0)."""
    return np.where(np.asarray(hbar, float)[None, :] > np.asarray(trials, float)[:, None], MBL, ETH).astype(np.int64)


def learning_by_confusion(features: np.ndarray, hbar: np.ndarray, config: TrainingConfig, repeats: int = default("finite_size.confusion.repeats"),
                          trials: np.ndarray | None = None) -> pd.DataFrame:
    """Train ``repeats`` networks per trial point on ``features (n, n_in)`` of spectra at ``hbar (n,)``.

    ``config.delta`` is ignored (set to 0). Returns one row per network: trial, repeat, member,
    accuracy (η on the network's own test half), trivial (majority-label accuracy on all the data),
    excess = accuracy - trivial.
    """
    if repeats < 1:
        raise InputError(f"confusion repeats must be >= 1, got {repeats}")
    features, hbar = np.asarray(features, np.float32), np.asarray(hbar, float)
    if len(features) != len(hbar):
        raise InputError(f"{len(features)} spectra but {len(hbar)} hbar values")
    trials = confusion_trials(hbar) if trials is None else np.asarray(trials, float)
    labels = confusion_labels(hbar, trials)
    members = np.arange(len(trials) * repeats)
    # δ = 0: the entropy term is off, so the unlabelled batch (a stand-in slice of TD) is unused.
    data = TrainingData(td_x=features, td_y=np.repeat(labels, repeats, axis=0), tr_x=features[: config.batch])
    # member indices from CONFUSION_MEMBERS: random streams of their own, never an ensemble member's (mblnn.streams)
    ensemble = train_ensemble(data, CONFUSION_MEMBERS + members, replace(config, delta=0.0))
    eth_fraction = (labels == ETH).mean(axis=1)
    trivial = np.maximum(eth_fraction, 1 - eth_fraction)
    table = pd.DataFrame({"trial": np.repeat(trials, repeats), "repeat": np.tile(np.arange(repeats), len(trials)),
                          "member": members, "accuracy": ensemble.test_accuracy,
                          "trivial": np.repeat(trivial, repeats)})
    table["excess"] = table["accuracy"] - table["trivial"]
    return table


def confusion_curve(per_network: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over repeats per trial: columns trial, accuracy, accuracy_std,
    trivial, excess (mean), repeats."""
    grouped = per_network.groupby("trial")
    return pd.DataFrame({
        "accuracy": grouped["accuracy"].mean(), "accuracy_std": grouped["accuracy"].std(ddof=1),
        "trivial": grouped["trivial"].first(), "excess": grouped["excess"].mean(),
        "repeats": grouped["accuracy"].size().astype(np.int64),
    }).reset_index()


def _peak(trial: np.ndarray, accuracy: np.ndarray, trivial: np.ndarray) -> float:
    excess = accuracy - trivial
    informative = excess >= excess.max() - 0.5 * abs(excess.max())  # half the largest excess (if any)
    return float(trial[informative][np.argmax(accuracy[informative])])


def confusion_transition(per_network: pd.DataFrame) -> tuple[float, float]:
    """h̄_c = the middle peak of the W: the trial of highest accuracy among the trials whose excess
    over the majority label is at least half the largest excess (this excludes the trivial arms,
    where the accuracy is high only because one label dominates). Returns (h̄_c, spread), the
    spread being the standard deviation of the same estimate over the repeats (NaN for one)."""
    curve = confusion_curve(per_network)
    best = _peak(curve["trial"].to_numpy(), curve["accuracy"].to_numpy(), curve["trivial"].to_numpy())
    per_repeat = [_peak(part["trial"].to_numpy(), part["accuracy"].to_numpy(), part["trivial"].to_numpy())
                  for _, part in per_network.sort_values("trial").groupby("repeat")]
    spread = float(np.std(per_repeat, ddof=1)) if len(per_repeat) > 1 else float("nan")
    return best, spread


def confusion_table(per_network: pd.DataFrame) -> pd.DataFrame:
    """:func:`confusion_curve` per (N, eps) of a per-network table with N and eps columns:
    columns N, eps, trial, accuracy, accuracy_std, trivial, excess, repeats."""
    frames = [confusion_curve(part).assign(N=N, eps=eps) for (N, eps), part in per_network.groupby(["N", "eps"])]
    columns = ["N", "eps", "trial", "accuracy", "accuracy_std", "trivial", "excess", "repeats"]
    return pd.concat(frames, ignore_index=True)[columns]


def confusion_transitions(per_network: pd.DataFrame) -> pd.DataFrame:
    """:func:`confusion_transition` per (N, eps), as rows of the crossing table (method "confusion",
    N_small = N_large = N, error = the spread over repeats)."""
    rows = []
    for (N, eps), part in per_network.groupby(["N", "eps"]):
        best, spread = confusion_transition(part)
        rows.append({"method": "confusion", "eps": eps, "N_small": N, "N_large": N, "hbar_c": best, "error": spread, "found": 1.0})
    return pd.DataFrame(rows)


def confusion_from_samples(paths, cut: int, training: dict, section: dict, report=None) -> pd.DataFrame:
    """Learning by confusion on the spectra of cut N_A = ``cut`` of the sample stores ``paths`` (one N, every h̄),
    per ε bin of ``section`` (the ``finite_size`` config section; its ``confusion`` part sets the networks) with
    the network inputs of ``training`` (fraction, input, floor). One row per network (:func:`learning_by_confusion`)
    with N and eps; ``report(N, eps, n_spectra, per_network, seconds)`` is called after each bin."""
    import time


    c = section["confusion"]
    settings = FeatureSettings.from_training(training, cut)
    # confusion (beyond the paper) keeps the optimizer and batch means it was measured with
    config = TrainingConfig(n_hidden=c["n_hidden"], steps=c["steps"], batch=c["batch"], mu=c["mu"], optimizer="adam",
                            cost_reduction="mean", learning_rate=c["learning_rate"], seed=c["seed"], log_every=c["steps"])
    frames = []
    spectra, N = confusion_spectra(paths, settings, c["eps"], section["eps_width"], c["max_per_sample"], c["seed"])
    for eps, (features, hbar) in spectra.items():
        started = time.perf_counter()
        per_network = learning_by_confusion(features, hbar, config, repeats=c["repeats"])
        per_network.insert(0, "eps", eps)
        per_network.insert(0, "N", N)
        frames.append(per_network)
        if report is not None:
            report(N, eps, len(features), per_network, time.perf_counter() - started)
    return pd.concat(frames, ignore_index=True)


def confusion_spectra(paths: Iterable[str | os.PathLike], settings, eps: Sequence[float], width: float,
                      max_per_sample: int | None = None, seed: int = default("finite_size.confusion.seed")) -> tuple[dict[float, tuple[np.ndarray, np.ndarray]], int]:
    """Network inputs of the states in each ε bin of every sample store (one N), with each
    spectrum's h̄: ``({eps: (features (n, n_in), hbar (n,))}, N)``; each store is read once for all
    bins. ``max_per_sample`` caps the states per sample and bin by a seeded choice (the same number
    per sample keeps the h̄ values balanced)."""
    bins = {float(e): ([], []) for e in eps}
    sizes = set()
    for path in paths:
        store = open_sample_store(path, cut=settings.cut)
        sample = sample_features(store, settings)
        h = float(store.attrs["hbar"])
        for (features, hbar), mask in zip(bins.values(), energy_bins(sample.energy_density, list(bins), width)):
            inside = np.flatnonzero(mask)
            if max_per_sample is not None and inside.size > max_per_sample:
                rng = streams.generator(seed, "confusion_subsample", store.N, store.attrs["realization"], h)
                inside = np.sort(rng.choice(inside, size=max_per_sample, replace=False))
            features.append(sample.features[inside])
            hbar.append(np.full(inside.size, h))
        sizes.add(store.N)
    if len(sizes) != 1:
        raise InputError(f"confusion: stores of one chain length expected, got N in {sorted(sizes)}")
    spectra = {}
    for e, (features, hbar) in bins.items():
        spectra[e] = (np.concatenate(features), np.concatenate(hbar))
        if spectra[e][0].size == 0:
            raise InputError(f"confusion: no states with |eps - {e}| <= {width / 2} in the stores given")
    return spectra, sizes.pop()
