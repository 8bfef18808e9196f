"""Energy-resolved transition and its drift with N: the mobility edge from the mean gap ratio and from
the network, crossings, scaling collapse and learning by confusion, as tidy tables.

Energy resolution. An *ε bin* is the set of states with |ε - ε_c| ≤ width/2 around a centre ε_c
(``eps`` in the config's ``finite_size`` section). Dense samples fill every bin; shift-invert samples
fill the bins that contain their targets (a 100-state window spans Δε ≈ 10⁻³ at N = 16), so
choose the centres among the shift-invert targets.

Per (N, ε bin) two curves over the h̄ grid, as per-realization arrays (see :mod:`mblnn.analyse.scaling`):
  * gap ratio r: ``(R, H)`` — per sample the mean of the states' r_n (Eq. 9; within a shift-invert
    window, never across windows);
  * network: ``(R, M, H)`` — per sample and member the mean MBL confidence of the bin's states, from
    the classification store of the half-chain ensemble trained on that N's own spectra.
Missing samples or empty bins are NaN.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mblnn.schema import default
from mblnn.learn.classify import Classification
from mblnn.errors import InputError
from mblnn.observables.levels import energy_bins
from mblnn.analyse.scaling import (
    bootstrap_crossing,
    bootstrap_level_crossing,
    bootstrap_scaling_collapse,
    mean_and_sem,
)
from mblnn.store.samples import open_sample_store


@dataclass
class Curves:
    """Per-realization curves of one observable: ``values[(N, eps)]`` of shape ``(R, H)`` or
    ``(R, M, H)`` on the common grid ``hbar (H,)``."""

    hbar: np.ndarray
    values: dict[tuple[int, float], np.ndarray]

    def sizes(self, eps: float) -> list[int]:
        return sorted(N for N, e in self.values if e == eps)

    def eps(self) -> list[float]:
        return sorted({e for _, e in self.values})


def _masked_mean(values: np.ndarray, mask: np.ndarray, axis: int = -1) -> np.ndarray:
    total = np.where(mask, values, 0.0).sum(axis=axis)
    count = mask.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def gap_ratio_curves(paths: Iterable[str | os.PathLike], eps: Sequence[float], width: float) -> Curves:
    """Mean gap ratio per sample and ε bin from sample stores (any N; realizations and h̄ from the
    stores' attributes)."""
    rows = []
    for path in paths:
        store = open_sample_store(path)
        ratio, density = store.group["gap_ratio"][:], store.group["energy_density"][:]
        masks = energy_bins(density, eps, width) & np.isfinite(ratio)[None]
        rows.append((store.N, float(store.attrs["hbar"]), int(store.attrs["realization"]), _masked_mean(ratio[None], masks)))
    if not rows:
        raise InputError("no sample stores given")
    hbar = np.unique([h for _, h, _, _ in rows])
    values = {}
    for N in sorted({row[0] for row in rows}):
        own = [row for row in rows if row[0] == N]
        realizations = np.unique([r for _, _, r, _ in own])
        grid = np.full((len(eps), len(realizations), len(hbar)), np.nan)
        for _, h, r, means in own:
            grid[:, np.searchsorted(realizations, r), np.searchsorted(hbar, h)] = means
        for i, e in enumerate(eps):
            values[(N, float(e))] = grid[i]
    return Curves(hbar=hbar, values=values)


def network_curves(classifications: Iterable[Classification], eps: Sequence[float], width: float,
                   hbar: np.ndarray | None = None) -> Curves:
    """Per-member mean MBL confidence per sample and ε bin from classification stores (one per N)."""
    values = {}
    classifications = list(classifications)
    all_hbar = np.unique(np.concatenate([c.hbar for c in classifications])) if hbar is None else np.asarray(hbar, float)
    for c in classifications:
        if any(N == c.N for N, _ in values):
            raise InputError(f"two classification stores for N = {c.N}: give one (the half-chain main ensemble) per N")
        confidence = c.group["confidence"][:]  # (sample, member, state)
        masks = energy_bins(c.group["energy_density"][:], eps, width) & np.isfinite(confidence[:, 0])[None]
        realizations = np.unique(c.realization)
        grid = np.full((len(eps), len(realizations), confidence.shape[1], len(all_hbar)), np.nan)
        for i, e in enumerate(eps):
            means = _masked_mean(confidence, masks[i][:, None, :])  # (sample, member)
            grid[i, np.searchsorted(realizations, c.realization), :, np.searchsorted(all_hbar, c.hbar)] = means
            values[(c.N, float(e))] = grid[i]
    return Curves(hbar=all_hbar, values=values)


def mobility_edge_table(ratios: Curves, network: Curves | None = None) -> pd.DataFrame:
    """The energy-resolved phase diagram: one row per (N, eps, hbar) with r, r_sem, confidence,
    confidence_sem (NaN without network data) and n_realizations (of r)."""
    frames = []
    for (N, eps), values in sorted(ratios.values.items()):
        r, r_sem, count = mean_and_sem(values)
        frame = pd.DataFrame({"N": N, "eps": eps, "hbar": ratios.hbar, "r": r, "r_sem": r_sem,
                              "confidence": np.nan, "confidence_sem": np.nan, "n_realizations": count.astype(np.int64)})
        if network is not None and (N, eps) in network.values:
            c, c_sem, _ = mean_and_sem(network.values[(N, eps)])
            on_grid = np.searchsorted(network.hbar, ratios.hbar).clip(0, len(network.hbar) - 1)
            match = network.hbar[on_grid] == ratios.hbar
            frame["confidence"] = np.where(match, c[on_grid], np.nan)
            frame["confidence_sem"] = np.where(match, c_sem[on_grid], np.nan)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).dropna(subset=["r", "confidence"], how="all").reset_index(drop=True)


CROSSING_COLUMNS = ["method", "eps", "N_small", "N_large", "hbar_c", "error", "found"]


def crossing_table(ratios: Curves, network: Curves | None = None, level: float = default("finite_size.level"),
                   replicas: int = default("finite_size.replicas"), seed: int = default("finite_size.seed")) -> pd.DataFrame:
    """Transition points per ε with bootstrap errors: ``gap_ratio`` — crossing of r between
    consecutive N (N_small, N_large); ``network`` — the network's ``level`` line per N
    (N_small = N_large = N). Columns: method, eps, N_small, N_large, hbar_c, error, found."""
    rows = []
    for eps in ratios.eps():
        sizes = ratios.sizes(eps)
        for small, large in zip(sizes[:-1], sizes[1:]):
            e = bootstrap_crossing(ratios.hbar, ratios.values[(large, eps)], ratios.values[(small, eps)], replicas, seed)
            rows.append({"method": "gap_ratio", "eps": eps, "N_small": small, "N_large": large, **e.__dict__})
    if network is not None:
        for eps in network.eps():
            for N in network.sizes(eps):
                e = bootstrap_level_crossing(network.hbar, network.values[(N, eps)], level, replicas, seed)
                rows.append({"method": "network", "eps": eps, "N_small": N, "N_large": N, **e.__dict__})
    table = pd.DataFrame(rows, columns=["method", "eps", "N_small", "N_large", "value", "error", "found"])
    return table.rename(columns={"value": "hbar_c"}).astype({"N_small": np.int64, "N_large": np.int64})


def scaling_table(curves: Mapping[str, Curves], fit_range: tuple[float, float], degree: int = default("finite_size.degree"),
                  replicas: int = default("finite_size.replicas"), seed: int = default("finite_size.seed"), value_ranges: Mapping[str, tuple[float, float]] | None = None) -> pd.DataFrame:
    """Scaling collapse y = f((h̄ - h̄_c) N^{1/ν}) per observable (``curves``: name → Curves) and ε,
    for every largest size N_max (sizes N_min … N_max, at least two): the drift of h̄_c and ν with
    the sizes included. Columns: observable, eps, N_min, N_max, n_sizes, hbar_c, hbar_c_error, nu,
    nu_error, cost (χ²/dof with the standard errors over realizations as weights), at_bound (the
    optimum sits on the edge of the search: h̄_c at an end of ``fit_range`` or ν at 0.2 or 10 — not
    determined by the data). ``value_ranges`` (observable → (low, high)) drops points whose mean is
    outside, e.g. the network's saturated plateaus (see :func:`mblnn.analyse.scaling.bootstrap_scaling_collapse`)."""
    rows = []
    for name, c in curves.items():
        for eps in c.eps():
            sizes = c.sizes(eps)
            for k in range(2, len(sizes) + 1):
                included = sizes[:k]
                try:
                    fit, hbar_c, nu = bootstrap_scaling_collapse(
                        c.hbar, {N: c.values[(N, eps)] for N in included}, fit_range, degree, replicas, seed,
                        value_range=(value_ranges or {}).get(name))
                except InputError:
                    continue  # too few points in the window for this degree: no row rather than a bad fit
                rows.append({"observable": name, "eps": eps, "N_min": included[0], "N_max": included[-1], "n_sizes": k,
                             "hbar_c": hbar_c.value, "hbar_c_error": hbar_c.error, "nu": nu.value, "nu_error": nu.error,
                             "cost": fit.cost, "at_bound": fit.at_bound})
    columns = ["observable", "eps", "N_min", "N_max", "n_sizes", "hbar_c", "hbar_c_error", "nu", "nu_error", "cost", "at_bound"]
    return pd.DataFrame(rows, columns=columns)
