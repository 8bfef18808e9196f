"""Phase-diagram analyses of classification stores, each a tidy pandas table (Sec. V of the paper).

Every function takes opened classification stores (:func:`mblnn.learn.classify.open_classification`)
or plain arrays and returns a ``DataFrame`` with one row per key; columns are documented per function.
Confidences are MBL confidences in [0, 1]; the ensemble confidence of a state is the mean over the
ensemble's networks; categories follow Appendix C (MBL above ``threshold``, ETH below
``1 - threshold``, uncertain in between).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from mblnn import streams
from mblnn.schema import default
from mblnn.learn.classify import Classification


def _key(c: Classification) -> dict:
    return {"N": c.N, "N_A": int(c.attrs["cut"]), "variant": str(c.attrs.get("variant", "main"))}


def ensemble_confidence(c: Classification) -> np.ndarray:
    """Ensemble-mean MBL confidence ``(sample, state)`` (NaN where a sample has fewer states)."""
    return c.group["mean"][:]


def phase_diagram_table(classifications: Iterable[Classification], eps_bins: int = default("analysis.eps_bins"), threshold: float = default("analysis.threshold")) -> pd.DataFrame:
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
    """Grid reading: the smallest ``hbar`` (sorted ascending, shape ``(H,)``) whose ``mbl_fraction (H,)``
    of states classified MBL reaches ``fraction``; NaN if none does (the plateaus of the paper's Fig. 3a)."""
    reached = np.flatnonzero(np.asarray(mbl_fraction) >= fraction)
    return float(np.asarray(hbar)[reached[0]]) if reached.size else float("nan")


def interpolated_crossing(hbar: np.ndarray, curve: np.ndarray, level: float) -> tuple[float, bool]:
    """Where ``curve (H,)`` over ascending ``hbar (H,)`` first reaches ``level``, by linear
    interpolation between the two grid points around it; returns ``(h̄_c, at_edge)``.

    ``at_edge`` is True when the grid does not bracket the crossing: the curve is at or above
    ``level`` already at the first grid point (h̄_c = that point, an upper bound) or never reaches it
    (h̄_c = NaN). NaN points of the curve are skipped."""
    hbar, curve = np.asarray(hbar, float), np.asarray(curve, float)
    finite = np.isfinite(curve)
    hbar, curve = hbar[finite], curve[finite]
    reached = np.flatnonzero(curve >= level)
    if reached.size == 0:
        return float("nan"), True
    i = int(reached[0])
    if i == 0:
        return float(hbar[0]), True
    h0, h1, c0, c1 = hbar[i - 1], hbar[i], curve[i - 1], curve[i]
    return float(h0 + (level - c0) / (c1 - c0) * (h1 - h0)), False


def _crossings(hbar: np.ndarray, curves: np.ndarray, level: float) -> np.ndarray:
    """:func:`interpolated_crossing` of each row of ``curves (B, H)``; NaN where not bracketed."""
    values = [interpolated_crossing(hbar, row, level) for row in curves]
    return np.array([np.nan if edge else value for value, edge in values])


def mbl_fraction_curves(classifications: Iterable[Classification], thresholds: Sequence[float]) -> pd.DataFrame:
    """Per realization and h̄, the fraction of its states whose ensemble confidence exceeds each
    threshold (the curves behind Fig. 3a). Columns: N, N_A, variant, realization, threshold, hbar,
    fraction_above, mean_abs_u (the realization's ⟨|u_i|⟩ with h_i = h̄ u_i, independent of h̄)."""
    frames = []
    for c in classifications:
        confidence = ensemble_confidence(c)
        fields = c.group["fields"][:]
        nonzero = c.hbar > 0
        mean_abs_u = np.full(len(c.hbar), np.nan)
        mean_abs_u[nonzero] = np.abs(fields[nonzero]).mean(axis=1) / c.hbar[nonzero]
        u_of = pd.Series(mean_abs_u).groupby(c.realization).first()  # the pattern's value, from any h̄ > 0
        valid = np.isfinite(confidence)
        for threshold in thresholds:
            above = np.where(valid, confidence > threshold, False).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
            frames.append(pd.DataFrame({**_key(c), "realization": c.realization.astype(np.int64), "threshold": float(threshold),
                                        "hbar": c.hbar, "fraction_above": above,
                                        "mean_abs_u": u_of.reindex(c.realization).to_numpy()}))
    columns = ["N", "N_A", "variant", "realization", "threshold", "hbar", "fraction_above", "mean_abs_u"]
    return pd.concat(frames, ignore_index=True)[columns].sort_values(["N", "N_A", "variant", "threshold", "realization", "hbar"],
                                                                      ignore_index=True)


def critical_field_realizations(curves: pd.DataFrame, fractions: Sequence[float]) -> pd.DataFrame:
    """Fig. 3b input: h̄_c of every realization for every (threshold, fraction), from its own curve
    of :func:`mbl_fraction_curves`.

    Columns: N, N_A, variant, realization, threshold, fraction, hbar_c (linear interpolation, NaN
    when the grid does not bracket the crossing), at_edge, hbar_c_grid (the first grid h̄ reaching the
    fraction: the paper's plateau reading), mean_abs_u, mean_abs_h_c (= h̄_c ⟨|u|⟩, the mean |h_i| at
    h̄_c), inverse_hbar_c.
    """
    rows = []
    keys = ["N", "N_A", "variant", "threshold", "realization"]
    for key, part in curves.groupby(keys, sort=True):
        part = part.sort_values("hbar")
        for fraction in fractions:
            value, edge = interpolated_crossing(part["hbar"].to_numpy(), part["fraction_above"].to_numpy(), fraction)
            rows.append({**dict(zip(keys, key)), "fraction": float(fraction), "hbar_c": np.nan if edge else value,
                         "at_edge": bool(edge),
                         "hbar_c_grid": critical_fields(part["hbar"].to_numpy(), part["fraction_above"].to_numpy(), fraction),
                         "mean_abs_u": float(part["mean_abs_u"].iloc[0])})
    table = pd.DataFrame(rows, columns=["N", "N_A", "variant", "realization", "threshold", "fraction", "hbar_c", "at_edge",
                                        "hbar_c_grid", "mean_abs_u"])
    table["mean_abs_h_c"] = table["hbar_c"] * table["mean_abs_u"]
    table["inverse_hbar_c"] = 1.0 / table["hbar_c"]
    return table.astype({"N": np.int64, "N_A": np.int64, "realization": np.int64})


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def _bootstrap_correlation(x: np.ndarray, y: np.ndarray, picks: np.ndarray) -> tuple[float, float]:
    """2.5 and 97.5 percentiles of the correlation over resampled pairs ``picks (B, n)``."""
    values = np.array([_correlation(x[p], y[p]) for p in picks])
    values = values[np.isfinite(values)]
    return (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))) if len(values) >= 10 else (np.nan, np.nan)


#: Fig. 3b correlations: column stem -> (x, y) columns of the per-realization table
CORRELATIONS = {
    "rho_inverse_hbar_c_u": ("inverse_hbar_c", "mean_abs_u"),   # the text: ⟨|h|⟩ of the pattern vs 1/h̄_c
    "rho_hbar_c_h": ("hbar_c", "mean_abs_h_c"),                 # the caption's formula with ⟨|h|⟩ at h̄_c
    "rho_hbar_c_u": ("hbar_c", "mean_abs_u"),                   # h̄_c against the pattern's ⟨|u|⟩
}


def critical_field_table(curves: pd.DataFrame, per_realization: pd.DataFrame, fractions: Sequence[float],
                         replicas: int = default("analysis.replicas"), seed: int = default("analysis.seed")) -> pd.DataFrame:
    """Fig. 3a/3b: h̄_c per (N, N_A, variant, threshold, fraction) read from the disorder-averaged
    curve (the mean over realizations of each realization's MBL fraction) by linear interpolation,
    with a bootstrap over realizations; and the Fig. 3b correlations over realizations.

    Columns: N, N_A, variant, threshold, fraction, hbar_c, hbar_c_err (standard deviation of the
    bootstrap replicas whose crossing the grid brackets; NaN for one realization), hbar_c_low /
    hbar_c_high (their 2.5 / 97.5 percentiles), at_edge (the averaged curve's crossing is not bracketed by the grid), edge_replicas
    (fraction of replicas not bracketed), hbar_c_grid (first grid point of the averaged curve),
    n_realizations, realization_mean / realization_std (of the per-realization interpolated h̄_c),
    n_undetermined (realizations whose crossing the grid does not bracket), and for each name of
    :data:`CORRELATIONS` its value and 95 % bootstrap interval (``_low``, ``_high``) over the
    realizations with a bracketed h̄_c (NaN for fewer than 3).
    """
    rng = streams.generator(seed, "critical_bootstrap")
    rows = []
    keys = ["N", "N_A", "variant", "threshold"]
    own_rows = dict(list(per_realization.groupby(keys)))
    for key, part in curves.groupby(keys, sort=True):
        matrix = part.pivot_table(index="realization", columns="hbar", values="fraction_above")  # (R, H)
        hbar, values = matrix.columns.to_numpy(float), matrix.to_numpy()
        R = len(values)
        picks = rng.integers(0, R, size=(replicas, R))
        averaged = np.nanmean(values, axis=0)
        replica_curves = np.nanmean(values[picks], axis=1)  # (B, H)
        own = own_rows.get(key, per_realization.iloc[:0])
        for fraction in fractions:
            value, edge = interpolated_crossing(hbar, averaged, fraction)
            # one realization (a single-realization campaign) has no spread to resample
            replica = _crossings(hbar, replica_curves, fraction) if R > 1 else np.full(replicas, np.nan)
            bracketed = replica[np.isfinite(replica)]
            found = own[own["fraction"] == fraction].dropna(subset=["hbar_c"])
            row = {**dict(zip(keys, key)), "fraction": float(fraction), "hbar_c": value, "at_edge": bool(edge),
                   "hbar_c_err": float(np.std(bracketed, ddof=1)) if len(bracketed) > 1 else np.nan,
                   "hbar_c_low": float(np.percentile(bracketed, 2.5)) if len(bracketed) else np.nan,
                   "hbar_c_high": float(np.percentile(bracketed, 97.5)) if len(bracketed) else np.nan,
                   "edge_replicas": float(1 - len(bracketed) / replicas) if R > 1 else np.nan,
                   "hbar_c_grid": critical_fields(hbar, averaged, fraction), "n_realizations": R,
                   "realization_mean": float(found["hbar_c"].mean()) if len(found) else np.nan,
                   "realization_std": float(found["hbar_c"].std(ddof=1)) if len(found) > 1 else np.nan,
                   "n_undetermined": int((own["fraction"] == fraction).sum() - len(found))}
            pair_picks = rng.integers(0, len(found), size=(replicas, len(found))) if len(found) else np.zeros((0, 0), int)
            for name, (x, y) in CORRELATIONS.items():
                xs, ys = found[x].to_numpy(float), found[y].to_numpy(float)
                row[name] = _correlation(xs, ys)
                row[f"{name}_low"], row[f"{name}_high"] = (_bootstrap_correlation(xs, ys, pair_picks) if len(found) >= 3
                                                           else (np.nan, np.nan))
            rows.append(row)
    return pd.DataFrame(rows).astype({"N": np.int64, "N_A": np.int64, "n_realizations": np.int64, "n_undetermined": np.int64})


def consistency_table(classifications: Iterable[Classification], threshold: float = default("analysis.threshold")) -> pd.DataFrame:
    """Fig. 9 and Appendix C: agreement between the networks of one ensemble, per (N, N_A, variant, hbar).

    Each network puts a state in one of three categories: MBL (confidence > threshold), ETH
    (< 1 − threshold), or neither. Over all pairs of networks, per state: ``changed`` = fraction of
    pairs in different categories (any switch: the caption of Fig. 9a); ``confident_uncertain`` =
    pairs where one network is confident (MBL or ETH) and the other is not (the text's 0.07);
    ``flipped`` = pairs where one says ETH and the other MBL (Fig. 9b, the text's 0.008); changed =
    confident_uncertain + flipped. Columns: N, N_A, variant, hbar, changed, confident_uncertain, flipped
    (means over the states of all realizations), n_states. Counting: with n_k networks in category k
    of M, the differing pairs are (M² − Σ n_k²)/2, confident-uncertain pairs (n_ETH + n_MBL)·n_other
    and flipping pairs n_ETH·n_MBL, out of M(M−1)/2.
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
            if pairs:
                changed = (M * M - n_mbl**2 - n_eth**2 - n_mid**2) / 2 / pairs
                confident_uncertain, flipped = (n_mbl + n_eth) * n_mid / pairs, n_mbl * n_eth / pairs
            else:
                changed = confident_uncertain = flipped = np.zeros(valid.sum())
            per_sample.append((c.hbar[i], changed.sum(), confident_uncertain.sum(), flipped.sum(), valid.sum()))
        sums = pd.DataFrame(per_sample, columns=["hbar", "changed", "confident_uncertain", "flipped", "n_states"]).groupby("hbar").sum()
        table = pd.DataFrame({name: sums[name] / sums["n_states"] for name in ("changed", "confident_uncertain", "flipped")})
        table["n_states"] = sums["n_states"].astype(np.int64)
        table = table.reset_index()
        for name, value in _key(c).items():
            table[name] = value
        rows.append(table)
    return pd.concat(rows, ignore_index=True)[["N", "N_A", "variant", "hbar", "changed", "confident_uncertain", "flipped",
                                               "n_states"]]


def consistency_summary(consistency: pd.DataFrame, h_eth: float, h_mbl: float) -> pd.DataFrame:
    """The Appendix C averages: the fractions of :func:`consistency_table` averaged over the
    transition-region grid h_eth < h̄ < h_mbl (each h̄ weighted by its states), per (N, N_A, variant),
    with the h̄ of the largest ``changed`` and ``flipped`` (one estimate of h̄_c, Fig. 9).
    Columns: N, N_A, variant, changed, confident_uncertain, flipped, hbar_max_changed,
    hbar_max_flipped, n_hbar."""
    inside = consistency[(consistency["hbar"] > h_eth + 1e-12) & (consistency["hbar"] < h_mbl - 1e-12)]
    rows = []
    for key, part in inside.groupby(["N", "N_A", "variant"], sort=True):
        weights = part["n_states"] / part["n_states"].sum()
        rows.append({"N": key[0], "N_A": key[1], "variant": key[2],
                     **{name: float((part[name] * weights).sum()) for name in ("changed", "confident_uncertain", "flipped")},
                     "hbar_max_changed": float(part.loc[part["changed"].idxmax(), "hbar"]),
                     "hbar_max_flipped": float(part.loc[part["flipped"].idxmax(), "hbar"]), "n_hbar": len(part)})
    columns = ["N", "N_A", "variant", "changed", "confident_uncertain", "flipped", "hbar_max_changed", "hbar_max_flipped", "n_hbar"]
    return pd.DataFrame(rows, columns=columns).astype({"N": np.int64, "N_A": np.int64, "n_hbar": np.int64})


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


def transition_region_table(classifications: Iterable[Classification], threshold: float = default("analysis.threshold")) -> pd.DataFrame:
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


def single_realization_table(c: Classification, realization: int = default("analysis.single_realization.realization"), window: int = default("analysis.single_realization.window"), threshold: float = default("analysis.threshold")) -> pd.DataFrame:
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


def fine_structure_table(c: Classification, realization: int = default("analysis.single_realization.realization"), states: int = default("analysis.single_realization.middle_states")) -> pd.DataFrame:
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


def spatial_structure_table(classifications: Sequence[Classification], threshold: float = default("analysis.threshold")) -> pd.DataFrame:
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
