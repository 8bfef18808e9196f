"""A campaign's headline numbers in one table: the quantities the paper quotes, per ensemble.

One row per (N, N_A, variant) of the classification stores, from the campaign's other tables (no store
is reread except for the networks' test accuracies):

* ``eta_min``, ``eta_mean``: test accuracy η of the networks (Sec. IV: η = 1 in the paper);
* ``learning_rate``, ``steps``: the step λ the ensemble trained with (chosen by ``learning_rate: auto``) and its
  number of steps;
* ``retrained_members``, ``failed_members``: networks retrained from a new initialization because they failed
  (η below ``training.min_accuracy`` or a cost that diverged), and networks kept although they failed every attempt
  (only with ``training.allow_failed_members``; 0 otherwise, since such an ensemble fails its training job);
* ``hbar_c``, ``hbar_c_err``, ``hbar_c_at_edge``: h̄_c at the given threshold and state fraction (the
  paper's headline: 90 %, 50 %, h̄_c = 2.8 ± 0.5 at N = 16), read from the disorder-averaged curve, with
  its bootstrap error; ``hbar_c_grid``: the first grid h̄ reaching it (the paper's plateau reading);
  ``hbar_c_realizations``, ``hbar_c_realizations_std``: mean and sd of the per-realization values;
* ``r_midpoint``: where the mean gap ratio ⟨r⟩ crosses the midpoint of GOE 0.5307 and Poisson 0.3863
  (linear interpolation; NaN when not bracketed);
* ``uncertain_peak``, ``hbar_uncertain_peak``: the largest fraction of states with
  1 − threshold ≤ confidence ≤ threshold over the transition region, and where (Figs. 8, 10);
* ``confident_uncertain``, ``flipped``, ``changed``: the Appendix C pair fractions averaged over the
  transition region (paper: 0.07 and 0.008);
* ``rho_inverse_hbar_c_u``, ``rho_hbar_c_h``, ``rho_hbar_c_u`` with ``_low``/``_high`` 95 % intervals:
  the Fig. 3b correlations (paper: ρ ≈ 0.76).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mblnn.schema import default
from mblnn.analyse.phase import CORRELATIONS, interpolated_crossing
from mblnn.learn.classify import Classification
from mblnn.observables.levels import GOE_MEAN_GAP_RATIO, POISSON_MEAN_GAP_RATIO

KEY = ["N", "N_A", "variant"]


def gap_ratio_midpoint(levels: pd.DataFrame) -> pd.DataFrame:
    """Per N, the h̄ where ⟨r⟩ falls through (r_GOE + r_Poisson)/2, linearly interpolated. Columns: N, r_midpoint."""
    midpoint = (GOE_MEAN_GAP_RATIO + POISSON_MEAN_GAP_RATIO) / 2
    rows = []
    for N, part in levels.groupby("N", sort=True):
        part = part.sort_values("hbar")
        # ⟨r⟩ decreases through the transition: find where 1 − ⟨r⟩ rises through 1 − midpoint
        value, edge = interpolated_crossing(part["hbar"].to_numpy(), -part["r_mean"].to_numpy(), -midpoint)
        rows.append({"N": int(N), "r_midpoint": np.nan if edge else value})
    return pd.DataFrame(rows, columns=["N", "r_midpoint"])


def _ensemble_row(c: Classification) -> dict:
    """An ensemble's key, its networks' test accuracies and its health (step, steps, retrained and failed networks,
    as its training recorded them; missing in stores written before they were recorded)."""
    eta, training = c.group["test_accuracy"][:], c.attrs.get("training", {})
    return {"N": c.N, "N_A": int(c.attrs["cut"]), "variant": str(c.attrs.get("variant", "main")),
            "eta_min": float(np.min(eta)), "eta_mean": float(np.mean(eta)),
            "learning_rate": float(training.get("learning_rate", np.nan)), "steps": float(training.get("steps", np.nan)),
            "retrained_members": len(training.get("retrained", [])), "failed_members": len(training.get("failed_members", []))}


def campaign_summary(classifications: list[Classification], critical: pd.DataFrame, levels: pd.DataFrame,
                     transition: pd.DataFrame, consistency: pd.DataFrame, h_eth: float, h_mbl: float,
                     threshold: float = default("analysis.threshold"), fraction: float = default("analysis.critical_fraction")) -> pd.DataFrame:
    """The headline table (module docstring) from the opened classification stores and the tables
    ``critical_field``, ``level_statistics``, ``transition_region`` and ``consistency_summary``."""
    eta = pd.DataFrame([_ensemble_row(c) for c in classifications])
    at = critical[np.isclose(critical["threshold"], threshold) & np.isclose(critical["fraction"], fraction)]
    columns = {"hbar_c": "hbar_c", "hbar_c_err": "hbar_c_err", "at_edge": "hbar_c_at_edge", "hbar_c_grid": "hbar_c_grid",
               "realization_mean": "hbar_c_realizations", "realization_std": "hbar_c_realizations_std"}
    for name in CORRELATIONS:
        columns.update({name: name, f"{name}_low": f"{name}_low", f"{name}_high": f"{name}_high"})
    table = eta.merge(at[KEY + list(columns)].rename(columns=columns), on=KEY, how="left")
    table = table.merge(gap_ratio_midpoint(levels), on="N", how="left")
    inside = transition[(transition["hbar"] > h_eth + 1e-12) & (transition["hbar"] < h_mbl - 1e-12)]
    peaks = inside.loc[inside.groupby(KEY)["fraction_uncertain"].idxmax(), KEY + ["fraction_uncertain", "hbar"]]
    table = table.merge(peaks.rename(columns={"fraction_uncertain": "uncertain_peak", "hbar": "hbar_uncertain_peak"}),
                        on=KEY, how="left")
    table = table.merge(consistency[KEY + ["confident_uncertain", "flipped", "changed"]], on=KEY, how="left")
    return table.sort_values(KEY, ignore_index=True)
