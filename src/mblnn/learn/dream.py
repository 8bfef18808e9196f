"""Dreaming (Sec. V D of the paper): gradient descent on a network's *input* towards a target class.

Starting from transition-region spectra the ensemble classifies with a confidence between 40 % and
60 %, each network k of the first K members of an ensemble descends the cross entropy of its own
output with respect to the target label (ETH or MBL),
    x ← Π(x − s · ∂CE_k(x)/∂x),
for a number of steps of size s (paper: 2·10^5 steps of 10^-4). The projection Π keeps the input a
valid entanglement spectrum after every step: for entanglement levels ξ = −ln λ it enforces λ ≤ 1
(ξ ≥ 0) and ascending order; for ρ_A eigenvalues λ it enforces 0 ≤ λ ≤ 1 and descending order; for
level differences it enforces non-negativity. Positivity of λ is automatic for ξ. Every network
dreams on its own copy of the starting spectra; the dreamed spectrum is the average over networks.
All networks and spectra are one vectorized TensorFlow loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mblnn import streams
from mblnn.hbar import same_hbar
from mblnn.schema import default
from mblnn.errors import InputError
from mblnn.learn.network import ETH, MBL, Ensemble, deterministic_tensorflow


@dataclass
class DreamResult:
    """``start (n, n_in)``: the starting spectra; ``dreamed (K, n, n_in)``: each network's dream;
    ``mean (n, n_in)``: the average over the K networks; ``confidence_start``/``confidence_end (K, n)``:
    each network's MBL confidence before and after; ``target``: 0 ETH or 1 MBL."""

    start: np.ndarray
    dreamed: np.ndarray
    confidence_start: np.ndarray
    confidence_end: np.ndarray
    target: int

    @property
    def mean(self) -> np.ndarray:
        return self.dreamed.mean(axis=0)


def select_starts(confidence: np.ndarray, window: tuple[float, float] = tuple(default("dreaming.window")),
                  max_start: int = default("dreaming.max_start"), seed: int = default("training.seed")) -> np.ndarray:
    """Indices of spectra whose ensemble-mean MBL ``confidence (n,)`` lies in ``window``: all of
    them, or a seeded uniform choice of ``max_start`` (sorted). Raises if none qualifies."""
    low, high = window
    candidates = np.flatnonzero((confidence >= low) & (confidence <= high))
    if candidates.size == 0:
        raise InputError(f"no spectrum has an ensemble confidence in [{low}, {high}] "
                         f"(range found: {np.nanmin(confidence):.3f} .. {np.nanmax(confidence):.3f}); widen the window")
    if candidates.size > max_start:
        rng = streams.generator(seed, "dream_starts")
        candidates = np.sort(rng.choice(candidates, size=max_start, replace=False))
    return candidates


def dream(ensemble: Ensemble, start: np.ndarray, target: int | str, steps: int = default("dreaming.steps"),
          step_size: float = default("dreaming.step_size"), networks: int = default("dreaming.networks"), kind: str = "entanglement", progress=None) -> DreamResult:
    """Dream ``start (n, n_in)`` (network inputs of ``kind``) towards ``target`` ("eth"/"mbl" or 0/1)
    with the first ``networks`` members of ``ensemble``; see the module docstring. ``progress(step,
    steps)``, if given, is called about ten times."""
    if isinstance(target, str):
        names = {"eth": ETH, "mbl": MBL}
        if target.lower() not in names:
            raise InputError(f"dream target must be 'eth' or 'mbl', got {target!r}")
        target = names[target.lower()]
    if steps < 0 or step_size <= 0:
        raise InputError(f"dreaming needs steps >= 0 and step_size > 0, got {steps}, {step_size}")
    if kind not in ("entanglement", "rho", "differences"):
        raise InputError(f"kind must be 'entanglement', 'rho' or 'differences', got {kind!r}")
    start = np.asarray(start, np.float32)
    K = min(int(networks), len(ensemble.members))
    if K < 1:
        raise InputError("dreaming needs at least one network")
    tf = deterministic_tensorflow()
    # (weights, biases) of every layer, first to output
    layers = [(tf.constant(w[:K], tf.float32), tf.constant(b[:K], tf.float32))
              for w, b in zip((ensemble.w1, *ensemble.hidden_w, ensemble.w2), (ensemble.b1, *ensemble.hidden_b, ensemble.b2))]
    x = tf.Variable(np.broadcast_to(start, (K,) + start.shape).copy())
    labels = tf.fill((K, start.shape[0]), tf.constant(int(target), tf.int32))
    s = tf.constant(step_size, tf.float32)

    def project(v):
        if kind == "entanglement":
            return tf.sort(tf.maximum(v, 0.0), axis=-1)
        if kind == "rho":
            return tf.sort(tf.clip_by_value(v, 0.0, 1.0), axis=-1, direction="DESCENDING")
        return tf.maximum(v, 0.0)

    @tf.function
    def descend(count):
        for _ in tf.range(count):
            with tf.GradientTape() as tape:
                h = x
                for w, b in layers[:-1]:
                    h = tf.nn.relu(tf.matmul(h, w) + b[:, None, :])
                logits = tf.matmul(h, layers[-1][0]) + layers[-1][1][:, None, :]
                # summed, not averaged: each spectrum descends its own cross entropy at step size s
                ce = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
            x.assign(project(x - s * tape.gradient(ce, x)))

    before = ensemble.confidences(start)[:K]
    # in about ten chunks, so that `progress` can report; the same sequence of updates as one call
    chunks = [len(part) for part in np.array_split(np.arange(int(steps)), min(10, max(1, int(steps))))]
    done = 0
    for chunk in chunks:
        descend(tf.constant(chunk))
        done += chunk
        if progress is not None and chunk:
            progress(done, int(steps))
    dreamed = x.numpy()
    logits = ensemble.first(K).logits_per_member(dreamed)
    after = 1.0 / (1.0 + np.exp(logits[..., ETH] - logits[..., MBL]))
    return DreamResult(start=start, dreamed=dreamed, confidence_start=before, confidence_end=after, target=int(target))


def dream_from_samples(paths, ensemble: Ensemble, target: str, dreaming: dict, seed: int, progress=None) -> dict:
    """Dream the transition-region spectra of the sample stores ``paths`` towards ``target`` ("eth"/"mbl") with the
    first ``dreaming["networks"]`` members of ``ensemble`` (``dreaming``: the config section; ``seed``: the training
    seed, which chooses the starting spectra). Returns the arrays of a dream archive (:func:`write_dream`): the
    start, each network's dream, their mean, confidences before and after, and the median spectra at h_eth and
    h_mbl for comparison."""
    from mblnn.learn.classify import feature_settings_of
    from mblnn.learn.features import sample_features
    from mblnn.store.samples import open_sample_store

    settings = feature_settings_of(ensemble)
    data = ensemble.config["data"]
    # TD as the ensemble saw it (edges trimmed); TR too, untrimmed unless it was trained with trim_tr
    # (ensembles from before that option trimmed TR)
    tr_trim = data["edge_fraction"] if data.get("trim_tr", True) else None

    def trim(store):
        return tr_trim if data["h_eth"] < float(store.attrs["hbar"]) < data["h_mbl"] else data["edge_fraction"]
    samples = [sample_features(store, settings, trim(store))
               for store in (open_sample_store(p, cut=settings.cut) for p in paths)]
    transition = [s for s in samples if data["h_eth"] < s.hbar < data["h_mbl"]]
    if not transition:
        raise InputError(f"dream: no sample store with {data['h_eth']} < hbar < {data['h_mbl']} among those given")
    features = np.concatenate([s.features for s in transition])
    # the start set is chosen with the networks that dream (the first K members), not the whole ensemble
    dreamers = ensemble.first(max(1, min(dreaming["networks"], len(ensemble.members))))
    chosen = select_starts(dreamers.confidences(features).mean(axis=0), tuple(dreaming["window"]), dreaming["max_start"],
                           seed)
    result = dream(dreamers, features[chosen], target, steps=dreaming["steps"], step_size=dreaming["step_size"],
                   networks=len(dreamers.members), kind=settings.kind, progress=progress)

    def typical(hbar):
        rows = [s.features for s in samples if same_hbar(s.hbar, hbar)]
        return np.median(np.concatenate(rows), axis=0) if rows else np.full(features.shape[1], np.nan, np.float32)

    return {"start": result.start, "dreamed": result.dreamed, "mean": result.mean,
            "confidence_start": result.confidence_start, "confidence_end": result.confidence_end,
            "target": np.int64(result.target), "typical_eth": typical(data["h_eth"]), "typical_mbl": typical(data["h_mbl"]),
            "kind": np.asarray(settings.kind), "steps": np.int64(dreaming["steps"]),
            "step_size": np.float64(dreaming["step_size"]), "N": np.int64(samples[0].N), "N_A": np.int64(settings.cut)}


def write_dream(path, arrays: dict):
    """Write a dream archive (``.npz``) atomically."""
    from mblnn.store.atomic import atomic_write

    def write(temporary):
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)

    return atomic_write(path, write)
