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
    return c.group["mean"][:]


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
    i.e. the mean of |u_i| with h_i = h̄ u_i, independent of h̄), mean_abs_h_c (the mean |h_i| at
    h̄ = h̄_c, i.e. h̄_c · mean_abs_u: the ⟨|h|⟩ of the paper's Fig. 3b).
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
    table = pd.DataFrame(rows, columns=["N", "N_A", "variant", "realization", "threshold", "fraction", "hbar_c", "mean_abs_u"])
    table["mean_abs_h_c"] = table["hbar_c"] * table["mean_abs_u"]
    return table


def critical_field_table(per_realization: pd.DataFrame) -> pd.DataFrame:
    """Fig. 3a summary: h̄_c mean and standard deviation over realizations per (N, N_A, variant,
    threshold, fraction), the number of realizations with and without a transition in the grid, and
    the correlation coefficients of h̄_c with the realization's mean |u| (the disorder pattern) and
    with its mean |h| at h̄_c (Fig. 3b's ⟨|h|⟩; NaN for fewer than 3 realizations or no spread)."""
    def correlation(found: pd.DataFrame, column: str) -> float:
        if len(found) < 3 or found["hbar_c"].std() == 0 or found[column].std() == 0:
            return float("nan")
        return float(np.corrcoef(found["hbar_c"], found[column])[0, 1])

    def summary(group: pd.DataFrame) -> pd.Series:
        found = group.dropna(subset=["hbar_c"])
        return pd.Series({"hbar_c": found["hbar_c"].mean(), "hbar_c_std": found["hbar_c"].std(ddof=1),
                          "n_realizations": len(found), "n_undetermined": len(group) - len(found),
                          "correlation_mean_abs_u": correlation(found, "mean_abs_u"),
                          "correlation_mean_abs_h_c": correlation(found, "mean_abs_h_c")})
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


def transition_region_table(classifications: Iterable[Classification], threshold: float = 0.9) -> pd.DataFrame:
    """Figs. 8 and 10: the transition region per (N, N_A, variant, hbar) over all states and realizations.

    Columns: N, N_A, variant, hbar, confidence (mean ensemble confidence), fraction_mbl,
    fraction_eth, fraction_uncertain (1 - threshold ≤ confidence ≤ threshold), n_states.
    """
    frames = []
    for c in classifications:
        confidence = ensemble_confidence(c)
        valid = np.isfinite(confidence)
        hbar = np.broadcast_to(c.hbar[:, None], confidence.shape)[valid]
        states = pd.DataFrame({"hbar": hbar, "confidence": confidence[valid], "mbl": confidence[valid] > threshold,
                               "eth": confidence[valid] < 1 - threshold})
        table = states.groupby("hbar").agg(confidence=("confidence", "mean"), fraction_mbl=("mbl", "mean"),
                                           fraction_eth=("eth", "mean"), n_states=("confidence", "size")).reset_index()
        table["fraction_uncertain"] = 1 - table["fraction_mbl"] - table["fraction_eth"]
        for name, value in _key(c).items():
            table[name] = value
        frames.append(table)
    columns = ["N", "N_A", "variant", "hbar", "confidence", "fraction_mbl", "fraction_eth", "fraction_uncertain", "n_states"]
    return pd.concat(frames, ignore_index=True)[columns].sort_values(["N", "N_A", "variant", "hbar"], ignore_index=True)


def single_realization_table(c: Classification, realization: int = 0, window: int = 512, threshold: float = 0.9) -> pd.DataFrame:
    """Fig. 4: one realization across h̄, in windows of ``window`` consecutive eigenstates (energy order).

    Columns: N, N_A, variant, realization, hbar, window, eps_mean, entropy_std (standard deviation of
    the entanglement entropy in the window), dgap_dhbar (mean over the window of |ΔSchmidt gap/Δh̄|
    between this h̄ and the next one of the grid, state by state in energy order; NaN at the last h̄),
    fraction_uncertain (1 - threshold ≤ ensemble confidence ≤ threshold). A spectrum shorter than
    ``window`` forms one window.
    """
    own = np.flatnonzero(c.realization == realization)
    if own.size == 0:
        raise ValueError(f"{c.path}: no samples of realization {realization}")
    own = own[np.argsort(c.hbar[own])]
    hbar = c.hbar[own]
    gap, entropy, eps, confidence = (c.group[name].oindex[own, :] for name in ("schmidt_gap", "entropy", "energy_density", "mean"))
    n = int(np.isfinite(gap).all(axis=0).sum())
    width = min(window, n)
    n_windows = n // width
    shape = (len(own), n_windows, width)

    def windows(values):
        return values[:, : n_windows * width].reshape(shape)

    slope = np.full(gap.shape, np.nan)
    slope[:-1] = np.abs(np.diff(gap, axis=0)) / np.diff(hbar)[:, None]
    uncertain = (confidence >= 1 - threshold) & (confidence <= threshold)
    table = pd.DataFrame({
        "hbar": np.repeat(hbar, n_windows), "window": np.tile(np.arange(n_windows), len(own)),
        "eps_mean": windows(eps).mean(axis=2).ravel(), "entropy_std": windows(entropy).std(axis=2, ddof=1).ravel(),
        "dgap_dhbar": windows(slope).mean(axis=2).ravel(), "fraction_uncertain": windows(uncertain).mean(axis=2).ravel(),
    })
    for name, value in {**_key(c), "realization": int(realization)}.items():
        table.insert(0, name, value)
    return table[["N", "N_A", "variant", "realization", "hbar", "window", "eps_mean", "entropy_std", "dgap_dhbar",
                  "fraction_uncertain"]]


def fine_structure_table(c: Classification, realization: int = 0, states: int = 100) -> pd.DataFrame:
    """Fig. 4 (bottom): the ``states`` eigenstates in the middle of the spectrum of one realization,
    per h̄: columns N, N_A, variant, realization, hbar, state (index in energy order), eps,
    schmidt_gap, confidence (ensemble mean)."""
    own = np.flatnonzero(c.realization == realization)
    own = own[np.argsort(c.hbar[own])]
    n = int(np.isfinite(c.group["schmidt_gap"][own[0]]).sum())
    take = min(states, n)
    middle = np.arange((n - take) // 2, (n - take) // 2 + take)
    rows = []
    for i in own:
        rows.append(pd.DataFrame({"hbar": c.hbar[i], "state": middle, "eps": c.group["energy_density"][i][middle],
                                  "schmidt_gap": c.group["schmidt_gap"][i][middle], "confidence": c.mean_confidence(i)[middle]}))
    table = pd.concat(rows, ignore_index=True)
    for name, value in {**_key(c), "realization": int(realization)}.items():
        table.insert(0, name, value)
    return table


def spatial_structure_table(classifications: Sequence[Classification], threshold: float = 0.9) -> pd.DataFrame:
    """Fig. 6: per (N, hbar), how the categories of each eigenstate agree across entanglement cuts
    (one classification store per cut, same N, variant and samples).

    Columns: N, variant, hbar, n_cuts, all_eth (ETH for every cut), all_mbl, mixed (ETH for one cut
    and MBL for another), n_states. Fractions over the states of all realizations.
    """
    by_size: dict[tuple[int, str], list[Classification]] = {}
    for c in classifications:
        by_size.setdefault((c.N, _key(c)["variant"]), []).append(c)
    frames = []
    for (N, variant), group in sorted(by_size.items()):
        group = sorted(group, key=lambda c: int(c.attrs["cut"]))
        reference = group[0]
        for c in group[1:]:
            if not (np.array_equal(c.hbar, reference.hbar) and np.array_equal(c.realization, reference.realization)):
                raise ValueError(f"{c.path}: samples differ from {reference.path}; the cuts must classify the same samples")
        confidence = np.stack([ensemble_confidence(c) for c in group])  # (cut, sample, state)
        valid = np.isfinite(confidence).all(axis=0)
        eth, mbl = confidence < 1 - threshold, confidence > threshold
        states = pd.DataFrame({
            "hbar": np.broadcast_to(reference.hbar[:, None], valid.shape)[valid],
            "all_eth": eth.all(axis=0)[valid], "all_mbl": mbl.all(axis=0)[valid],
            "mixed": (eth.any(axis=0) & mbl.any(axis=0))[valid],
        })
        table = states.groupby("hbar").agg(all_eth=("all_eth", "mean"), all_mbl=("all_mbl", "mean"),
                                           mixed=("mixed", "mean"), n_states=("all_eth", "size")).reset_index()
        table.insert(0, "n_cuts", len(group))
        table.insert(0, "variant", variant)
        table.insert(0, "N", N)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)[["N", "variant", "hbar", "n_cuts", "all_eth", "all_mbl", "mixed", "n_states"]]


def dream_table(dreams: Iterable[dict]) -> pd.DataFrame:
    """Fig. 7: per (N, N_A, target, level) the median spectra at h_ETH and h_MBL, the mean starting
    spectrum and the mean dreamed one (averaged over spectra and networks), with the mean MBL
    confidence before and after. ``dreams`` yields the arrays of ``mblnn dream`` outputs."""
    frames = []
    for arrays in dreams:
        levels = np.arange(arrays["start"].shape[1])
        frames.append(pd.DataFrame({
            "N": int(arrays["N"]), "N_A": int(arrays["N_A"]), "target": ["eth", "mbl"][int(arrays["target"])],
            "kind": str(arrays["kind"]), "level": levels,
            "typical_eth": arrays["typical_eth"], "typical_mbl": arrays["typical_mbl"],
            "start": arrays["start"].mean(axis=0), "dreamed": arrays["dreamed"].mean(axis=(0, 1)),
            "confidence_start": float(np.mean(arrays["confidence_start"])),
            "confidence_end": float(np.mean(arrays["confidence_end"])),
        }))
    return pd.concat(frames, ignore_index=True)
