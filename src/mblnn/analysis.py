"""Phase-diagram analyses of classification stores, each a tidy pandas table (Sec. V of the paper).

Every function takes opened classification stores (:func:`mblnn.classification.open_classification`)
or plain arrays and returns a ``DataFrame`` with one row per key; columns are documented per function.
Confidences are MBL confidences in [0, 1]; the ensemble confidence of a state is the mean over the
ensemble's networks; categories follow Appendix C (MBL above ``threshold``, ETH below
``1 - threshold``, uncertain in between).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .classification import Classification


def _key(c: Classification) -> dict:
    return {"N": c.N, "N_A": int(c.attrs["cut"]), "variant": str(c.attrs.get("variant", "main"))}


def ensemble_confidence(c: Classification) -> np.ndarray:
    """Ensemble-mean MBL confidence ``(sample, state)`` (NaN where a sample has fewer states)."""
    return np.stack([c.mean_confidence(i) for i in range(len(c.hbar))])


def phase_diagram_table(classifications: Iterable[Classification], eps_bins: int = 10, threshold: float = 0.9) -> pd.DataFrame:
    """Fig. 1: disorder-averaged MBL confidence per (N, N_A, variant, hbar, ε bin).

    Columns: N, N_A, variant, hbar, eps_low, eps_high, confidence (mean over realizations of the
    per-sample mean over the bin's states), confidence_sem (standard error over realizations, NaN
    for one), fraction_mbl / fraction_eth (states in the category, pooled), n_states, n_realizations.
    Bins split [0, 1] into ``eps_bins`` equal parts; a bin without states is left out.
    """
    edges = np.linspace(0.0, 1.0, eps_bins + 1)
    frames = []
    for c in classifications:
        confidence = ensemble_confidence(c)
        eps = c.group["energy_density"][:]
        valid = np.isfinite(confidence) & np.isfinite(eps)
        sample_index = np.broadcast_to(np.arange(len(c.hbar))[:, None], eps.shape)[valid]
        states = pd.DataFrame({
            "hbar": c.hbar[sample_index], "realization": c.realization[sample_index],
            "bin": np.clip(np.searchsorted(edges, eps[valid], side="right") - 1, 0, eps_bins - 1),
            "confidence": confidence[valid],
            "mbl": confidence[valid] > threshold, "eth": confidence[valid] < 1 - threshold,
        })
        per_sample = states.groupby(["hbar", "bin", "realization"]).agg(
            confidence=("confidence", "mean"), mbl=("mbl", "sum"), eth=("eth", "sum"), n=("confidence", "size"))
        grouped = per_sample.groupby(level=["hbar", "bin"])
        table = pd.DataFrame({
            "confidence": grouped["confidence"].mean(),
            "confidence_sem": grouped["confidence"].std(ddof=1) / np.sqrt(grouped["confidence"].count()),
            "fraction_mbl": grouped["mbl"].sum() / grouped["n"].sum(),
            "fraction_eth": grouped["eth"].sum() / grouped["n"].sum(),
            "n_states": grouped["n"].sum().astype(np.int64),
            "n_realizations": grouped["confidence"].count().astype(np.int64),
        }).reset_index()
        table["eps_low"], table["eps_high"] = edges[table["bin"]], edges[table["bin"] + 1]
        for name, value in _key(c).items():
            table[name] = value
        frames.append(table.drop(columns="bin"))
    columns = ["N", "N_A", "variant", "hbar", "eps_low", "eps_high", "confidence", "confidence_sem", "fraction_mbl",
               "fraction_eth", "n_states", "n_realizations"]
    return pd.concat(frames, ignore_index=True)[columns].sort_values(["N", "N_A", "variant", "hbar", "eps_low"],
                                                                      ignore_index=True)


def critical_fields(hbar: np.ndarray, mbl_fraction: np.ndarray, fraction: float) -> float:
    """Smallest ``hbar`` (sorted ascending, shape ``(H,)``) whose ``mbl_fraction (H,)`` of states
    classified MBL reaches ``fraction``; NaN if none does."""
    reached = np.flatnonzero(np.asarray(mbl_fraction) >= fraction)
    return float(np.asarray(hbar)[reached[0]]) if reached.size else float("nan")


def critical_field_realizations(classifications: Iterable[Classification], thresholds: Sequence[float],
                                fractions: Sequence[float]) -> pd.DataFrame:
    """Fig. 3: h̄_c of every realization, for every (confidence threshold, state fraction).

    h̄_c = the smallest h̄ at which at least ``fraction`` of the realization's states have an
    ensemble confidence above ``threshold`` (NaN: never within the h̄ grid). Columns: N, N_A,
    variant, realization, threshold, fraction, hbar_c, mean_abs_u (the realization's mean |h_i|/h̄,
    i.e. the mean of |u_i| with h_i = h̄ u_i, independent of h̄).
    """
    rows = []
    for c in classifications:
        confidence = ensemble_confidence(c)
        fields = c.group["fields"][:]
        for realization in np.unique(c.realization):
            own = np.flatnonzero(c.realization == realization)
            own = own[np.argsort(c.hbar[own])]
            nonzero = own[c.hbar[own] > 0]
            mean_abs_u = float(np.mean(np.abs(fields[nonzero[0]])) / c.hbar[nonzero[0]]) if nonzero.size else float("nan")
            for threshold in thresholds:
                above = np.nanmean(np.where(np.isfinite(confidence[own]), confidence[own] > threshold, np.nan), axis=1)
                for fraction in fractions:
                    rows.append({**_key(c), "realization": int(realization), "threshold": float(threshold),
                                 "fraction": float(fraction), "hbar_c": critical_fields(c.hbar[own], above, fraction),
                                 "mean_abs_u": mean_abs_u})
    return pd.DataFrame(rows, columns=["N", "N_A", "variant", "realization", "threshold", "fraction", "hbar_c", "mean_abs_u"])


def critical_field_table(per_realization: pd.DataFrame) -> pd.DataFrame:
    """Fig. 3a summary: h̄_c mean and standard deviation over realizations per (N, N_A, variant,
    threshold, fraction), the number of realizations with and without a transition in the grid, and
    the correlation coefficient of h̄_c with mean |u| (Fig. 3b; NaN for fewer than 3 realizations)."""
    def summary(group: pd.DataFrame) -> pd.Series:
        found = group.dropna(subset=["hbar_c"])
        correlation = (float(np.corrcoef(found["hbar_c"], found["mean_abs_u"])[0, 1])
                       if len(found) >= 3 and found["hbar_c"].std() > 0 else float("nan"))
        return pd.Series({"hbar_c": found["hbar_c"].mean(), "hbar_c_std": found["hbar_c"].std(ddof=1),
                          "n_realizations": len(found), "n_undetermined": len(group) - len(found),
                          "correlation_mean_abs_u": correlation})
    keys = ["N", "N_A", "variant", "threshold", "fraction"]
    table = per_realization.groupby(keys).apply(summary, include_groups=False).reset_index()
    return table.astype({"n_realizations": np.int64, "n_undetermined": np.int64})


def consistency_table(classifications: Iterable[Classification], threshold: float = 0.9) -> pd.DataFrame:
    """Fig. 9: agreement between the networks of one ensemble, per (N, N_A, variant, hbar).

    For each state, over all pairs of networks: ``changed`` = fraction of pairs that put the state in
    different categories; ``flipped`` = fraction of pairs where one says ETH and the other MBL.
    Columns: N, N_A, variant, hbar, changed, flipped (means over the states of all realizations),
    n_states. Counting per state: with n_k networks in category k of M, the differing pairs are
    (M² − Σ n_k²)/2 and the flipping pairs n_ETH·n_MBL, out of M(M−1)/2.
    """
    rows = []
    for c in classifications:
        confidence = c.group["confidence"]
        M = confidence.shape[1]
        pairs = M * (M - 1) / 2
        per_sample = []
        for i in range(len(c.hbar)):
            p = confidence[i]  # (member, state)
            valid = np.isfinite(p).all(axis=0)
            n_mbl = (p[:, valid] > threshold).sum(axis=0)
            n_eth = (p[:, valid] < 1 - threshold).sum(axis=0)
            n_mid = M - n_mbl - n_eth
            changed = (M * M - n_mbl**2 - n_eth**2 - n_mid**2) / 2 / pairs if pairs else np.zeros(valid.sum())
            flipped = n_mbl * n_eth / pairs if pairs else np.zeros(valid.sum())
            per_sample.append((c.hbar[i], changed.sum(), flipped.sum(), valid.sum()))
        sums = pd.DataFrame(per_sample, columns=["hbar", "changed", "flipped", "n_states"]).groupby("hbar").sum()
        table = pd.DataFrame({"changed": sums["changed"] / sums["n_states"], "flipped": sums["flipped"] / sums["n_states"],
                              "n_states": sums["n_states"].astype(np.int64)}).reset_index()
        for name, value in _key(c).items():
            table[name] = value
        rows.append(table)
    return pd.concat(rows, ignore_index=True)[["N", "N_A", "variant", "hbar", "changed", "flipped", "n_states"]]


def levels_vs_network_table(levels: pd.DataFrame, phase: pd.DataFrame, window: tuple[float, float]) -> pd.DataFrame:
    """Fig. 5: mean gap ratio and the network's energy-averaged ETH confidence per (N, hbar), one
    column ``eth_confidence_<variant>`` per variant (half-chain cut), averaged over the ε bins that
    lie inside ``window`` weighted by their state counts."""
    low, high = window
    inside = phase[(phase["eps_low"] >= low - 1e-12) & (phase["eps_high"] <= high + 1e-12)].copy()
    half = inside["N_A"] == inside["N"] // 2
    inside = inside[half]
    inside["weighted"] = (1 - inside["confidence"]) * inside["n_states"]
    grouped = inside.groupby(["N", "hbar", "variant"])
    eth = (grouped["weighted"].sum() / grouped["n_states"].sum()).rename("eth_confidence").reset_index()
    wide = eth.pivot_table(index=["N", "hbar"], columns="variant", values="eth_confidence")
    wide.columns = [f"eth_confidence_{name}" for name in wide.columns]
    return levels.merge(wide.reset_index(), on=["N", "hbar"], how="left")
