"""Phase-diagram tables on synthetic classification stores with known answers, and their figures."""

import numpy as np
import pandas as pd
import pytest

from mblnn.analyse import phase as analysis
from mblnn.learn.classify import open_classification, write_classification
from mblnn.plot.figures import (
    consistency_figure,
    critical_field_figure,
    disorder_correlation_figure,
    levels_vs_network_figure,
    phase_diagram_figure,
    save_figure,
)

HBARS = [0.5, 1.0, 2.0, 3.0, 4.0, 6.0]
ONSET = {0: 2.0, 1: 4.0}  # realization -> first MBL hbar


def synthetic(tmp_path, confidence_of, members=3, n=40, N=10, name="c.zarr"):
    """A classification store of N with two realizations over HBARS; ``confidence_of(hbar, realization,
    eps)`` gives each member's confidences ``(members, n)``."""
    samples = [(h, r) for h in HBARS for r in (0, 1)]
    eps = np.linspace(0.0, 1.0, n, endpoint=False) + 0.5 / n
    rng = np.random.default_rng(0)
    fields = np.stack([h * rng.uniform(-1, 1, N) for h, _ in samples])
    rows = ({"confidence": confidence_of(h, r, eps), "energy_density": eps, "entropy": np.ones(n), "schmidt_gap": np.zeros(n)}
            for h, r in samples)
    path = write_classification(tmp_path / name, {"N": N, "cut": N // 2, "fraction": 0.5, "kind": "entanglement",
                                                   "variant": "main"},
                                hbar=[h for h, _ in samples], realization=[r for _, r in samples], fields=fields,
                                members=range(members), test_accuracy=np.ones(members), n_states=n, rows=rows)
    return open_classification(path)


def step(hbar, realization, eps, members=3):
    return np.full((members, len(eps)), 0.97 if hbar >= ONSET[realization] else 0.02)


def test_phase_diagram_of_a_step(tmp_path):
    table = analysis.phase_diagram_table([synthetic(tmp_path, step)], eps_bins=4, threshold=0.9)
    assert list(table.columns) == ["N", "N_A", "variant", "hbar", "eps_low", "eps_high", "confidence", "confidence_sem",
                                   "fraction_mbl", "fraction_eth", "n_states", "n_realizations"]
    assert len(table) == len(HBARS) * 4 and (table["n_states"] == 20).all() and (table["n_realizations"] == 2).all()
    at = table.set_index(["hbar", "eps_low"])
    assert at.loc[(1.0, 0.0), "confidence"] == pytest.approx(0.02) and at.loc[(1.0, 0.0), "fraction_eth"] == 1
    assert at.loc[(3.0, 0.5), "confidence"] == pytest.approx((0.97 + 0.02) / 2) and at.loc[(3.0, 0.5), "fraction_mbl"] == 0.5
    assert at.loc[(6.0, 0.75), "fraction_mbl"] == 1 and table["eps_high"].max() == 1.0
    assert not table.drop(columns="confidence_sem").isna().any().any()
    assert table["N"].dtype == np.int64 and table["confidence"].dtype == np.float64


def test_critical_field_of_a_step_is_exact(tmp_path):
    classification = synthetic(tmp_path, step)
    curves = analysis.mbl_fraction_curves([classification], thresholds=[0.9, 0.99])
    per_realization = analysis.critical_field_realizations(curves, fractions=[0.5, 0.75])
    at_half = per_realization[(per_realization["threshold"] == 0.9) & (per_realization["fraction"] == 0.5)].set_index("realization")
    # each realization's curve jumps 0 -> 1 between the grid points around its onset: the midpoint
    assert at_half["hbar_c"].to_dict() == {0: 1.5, 1: 3.5} and not at_half["at_edge"].any()
    assert at_half["hbar_c_grid"].to_dict() == ONSET  # the paper's plateau reading: the first grid point
    never = per_realization[per_realization["threshold"] == 0.99]
    assert never["hbar_c"].isna().all() and never["at_edge"].all()
    assert np.isfinite(per_realization["mean_abs_u"]).all() and per_realization["mean_abs_u"].between(0, 1).all()
    found = per_realization.dropna(subset=["hbar_c"])
    np.testing.assert_allclose(found["mean_abs_h_c"], found["hbar_c"] * found["mean_abs_u"])
    summary = analysis.critical_field_table(curves, per_realization, [0.5, 0.75], replicas=50, seed=1).set_index(["threshold", "fraction"])
    # averaged curve 0, 0, 1/2, 1/2, 1, 1 over h̄ = 0.5 ... 6
    assert summary.loc[(0.9, 0.5), "hbar_c"] == 2.0 and summary.loc[(0.9, 0.75), "hbar_c"] == 3.5
    assert summary.loc[(0.9, 0.5), "realization_mean"] == 2.5 and summary.loc[(0.9, 0.5), "n_realizations"] == 2
    assert summary.loc[(0.9, 0.5), "hbar_c_err"] > 0 and summary.loc[(0.9, 0.5), "hbar_c_low"] == 1.5
    assert summary.loc[(0.99, 0.5), "at_edge"] and np.isnan(summary.loc[(0.99, 0.5), "hbar_c"])
    assert summary.loc[(0.99, 0.5), "n_undetermined"] == 2 and summary.loc[(0.99, 0.5), "edge_replicas"] == 1.0
    assert set(analysis.CORRELATIONS) <= set(summary.columns)


def test_interpolated_crossing():
    hbar = np.array([1.0, 2.0, 3.0])
    assert analysis.interpolated_crossing(hbar, np.array([0.2, 0.6, 1.0]), 0.5) == (pytest.approx(1.75), False)
    assert analysis.interpolated_crossing(hbar, np.array([0.6, 0.8, 1.0]), 0.5) == (1.0, True)
    value, edge = analysis.interpolated_crossing(hbar, np.array([0.2, 0.3, 0.4]), 0.5)
    assert np.isnan(value) and edge
    assert analysis.critical_fields(hbar, np.array([0.2, 0.6, 1.0]), 0.5) == 2.0
    assert np.isnan(analysis.critical_fields(hbar, np.array([0.2, 0.3, 0.4]), 0.5))


def test_fig3b_correlations_of_a_known_dependence():
    """h̄_c = 2/⟨|u|⟩ exactly (piecewise-linear curves, so interpolation is exact): ρ(1/h̄_c, ⟨|u|⟩) = 1."""
    grid = np.arange(0.5, 10.01, 0.5)
    u = np.linspace(0.35, 0.65, 8)
    rows = [{"N": 12, "N_A": 6, "variant": "main", "realization": r, "threshold": 0.9, "hbar": h,
             "fraction_above": float(np.clip((h - 2 / u[r]) / 2 + 0.5, 0, 1)), "mean_abs_u": u[r]}
            for r in range(len(u)) for h in grid]
    curves = pd.DataFrame(rows)
    per_realization = analysis.critical_field_realizations(curves, [0.5])
    np.testing.assert_allclose(per_realization.sort_values("realization")["hbar_c"], 2 / u)
    row = analysis.critical_field_table(curves, per_realization, [0.5], replicas=100).iloc[0]
    assert row["rho_inverse_hbar_c_u"] == pytest.approx(1.0)
    assert row["rho_hbar_c_u"] < -0.95 and np.isnan(row["rho_hbar_c_h"])  # h̄_c ⟨|u|⟩ = 2 has no spread
    assert row["rho_inverse_hbar_c_u_low"] <= row["rho_inverse_hbar_c_u"] + 1e-12 <= row["rho_inverse_hbar_c_u_high"] + 2e-12


def test_consistency_of_a_two_category_toy(tmp_path):
    def toy(hbar, realization, eps):
        confidence = np.empty((3, len(eps)))
        confidence[:, ::2] = [[0.95], [0.95], [0.05]]   # MBL, MBL, ETH: 2 of 3 pairs differ, both flip
        confidence[:, 1::2] = [[0.95], [0.5], [0.5]]    # MBL, ?, ?: 2 of 3 pairs differ: confident vs uncertain
        return confidence if hbar == 2.0 else np.full((3, len(eps)), 0.97)
    table = analysis.consistency_table([synthetic(tmp_path, toy)], threshold=0.9)
    at = table.set_index("hbar")
    assert at.loc[2.0, "changed"] == pytest.approx(2 / 3) and at.loc[2.0, "flipped"] == pytest.approx(1 / 3)
    assert at.loc[2.0, "confident_uncertain"] == pytest.approx(1 / 3)
    np.testing.assert_allclose(table["changed"], table["confident_uncertain"] + table["flipped"])
    assert at.loc[6.0, "changed"] == 0 and at.loc[6.0, "flipped"] == 0 and (table["n_states"] == 80).all()
    summary = analysis.consistency_summary(table, h_eth=0.5, h_mbl=6.0).iloc[0]  # TR: h̄ = 1, 2, 3, 4
    assert summary["n_hbar"] == 4 and summary["changed"] == pytest.approx(1 / 6) and summary["flipped"] == pytest.approx(1 / 12)
    assert summary["hbar_max_changed"] == 2.0 and summary["hbar_max_flipped"] == 2.0


def test_levels_vs_network_merges_per_variant(tmp_path):
    phase = analysis.phase_diagram_table([synthetic(tmp_path, step)], eps_bins=4)
    levels = pd.DataFrame({"N": 10, "hbar": HBARS, "r_mean": np.linspace(0.53, 0.39, len(HBARS)), "r_sem": 0.01})
    table = analysis.levels_vs_network_table(levels, phase, window=(0.25, 0.75))
    assert table.set_index("hbar")["eth_confidence_main"].to_dict() == pytest.approx(
        {0.5: 0.98, 1.0: 0.98, 2.0: 0.505, 3.0: 0.505, 4.0: 0.03, 6.0: 0.03}, rel=1e-5)  # float32 confidences


def test_figures_are_written(tmp_path):
    classification = synthetic(tmp_path, step)
    phase = analysis.phase_diagram_table([classification], eps_bins=4)
    curves = analysis.mbl_fraction_curves([classification], [0.8, 0.9])
    critical = analysis.critical_field_table(curves, analysis.critical_field_realizations(curves, [0.5]), [0.5], replicas=20)
    levels = pd.DataFrame({"N": 10, "hbar": HBARS, "r_mean": 0.45, "r_sem": 0.01})
    for draw, table, name in ((phase_diagram_figure, phase, "phase"), (critical_field_figure, critical, "critical"),
                              (levels_vs_network_figure, analysis.levels_vs_network_table(levels, phase, (0, 1)), "levels"),
                              (consistency_figure, analysis.consistency_table([classification]), "consistency"),
                              (disorder_correlation_figure, analysis.critical_field_realizations(curves, [0.5]), "correlation")):
        written = save_figure(draw(table), tmp_path / f"{name}.png")
        assert [p.suffix for p in written] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in written)
        again = save_figure(draw(table), tmp_path / "again" / f"{name}.png")  # reproducible: no creation date, no version
        assert [p.read_bytes() for p in again] == [p.read_bytes() for p in written], name


def test_transition_region_of_a_step(tmp_path):
    def half_uncertain(hbar, realization, eps):
        confidence = step(hbar, realization, eps)
        if hbar == 3.0:
            confidence[:, : len(eps) // 2] = 0.5
        return confidence
    table = analysis.transition_region_table([synthetic(tmp_path, half_uncertain)])
    at = table.set_index("hbar")
    assert at.loc[1.0, "fraction_eth"] == 1 and at.loc[6.0, "fraction_mbl"] == 1
    # h̄ = 3: half the states of both realizations uncertain; the rest MBL (realization 0) or ETH (1)
    assert at.loc[3.0, "fraction_uncertain"] == pytest.approx(0.5) and at.loc[3.0, "fraction_mbl"] == pytest.approx(0.25)
    assert at.loc[3.0, "fraction_eth"] == pytest.approx(0.25)
    assert (table["n_states"] == 80).all() and list(table["variant"].unique()) == ["main"]


def test_spatial_structure_counts_states_across_cuts(tmp_path):
    def cut_a(hbar, realization, eps):
        return np.full((3, len(eps)), 0.95 if hbar >= 3.0 else 0.05)

    def cut_b(hbar, realization, eps):
        confidence = cut_a(hbar, realization, eps)
        if hbar == 3.0:
            confidence[:, ::4] = 0.05  # a quarter of the states: MBL at one cut, ETH at the other
        return confidence
    a = synthetic(tmp_path, cut_a, name="a.zarr")
    b = synthetic(tmp_path, cut_b, name="b.zarr")
    object.__setattr__(b, "attrs", {**b.attrs, "cut": 6})
    table = analysis.spatial_structure_table([a, b]).set_index("hbar")
    assert table.loc[1.0, "all_eth"] == 1 and table.loc[6.0, "all_mbl"] == 1 and table.loc[3.0, "n_cuts"] == 2
    assert table.loc[3.0, "mixed"] == pytest.approx(0.25) and table.loc[3.0, "all_mbl"] == pytest.approx(0.75)


def test_single_realization_windows_and_fine_structure(tmp_path):
    c = synthetic(tmp_path, step, n=40)
    table = analysis.single_realization_table(c, realization=1, window=10)
    assert len(table) == len(HBARS) * 4 and set(table["window"]) == {0, 1, 2, 3}
    # constant entropy and Schmidt gap in the synthetic store: zero spread and zero slope
    assert (table["entropy_std"] == 0).all() and table.groupby("hbar")["dgap_dhbar"].first().isna().tolist() == [False] * 5 + [True]
    assert table.set_index(["hbar", "window"]).loc[(2.0, 0), "fraction_uncertain"] == 0
    fine = analysis.fine_structure_table(c, realization=1, states=10)
    assert len(fine) == len(HBARS) * 10 and fine["state"].min() == 15 and fine["state"].max() == 24


def test_dream_table(tmp_path):
    arrays = {"start": np.ones((4, 3)), "dreamed": np.full((2, 4, 3), 2.0), "typical_eth": np.zeros(3), "typical_mbl": np.arange(3.0),
              "confidence_start": np.full((2, 4), 0.5), "confidence_end": np.full((2, 4), 0.9), "target": np.int64(1),
              "kind": np.asarray("entanglement"), "N": np.int64(10), "N_A": np.int64(5)}
    table = analysis.dream_table([arrays])
    assert table["target"].unique().tolist() == ["mbl"] and table["dreamed"].tolist() == [2.0, 2.0, 2.0]
    assert table["confidence_end"].iloc[0] == pytest.approx(0.9) and table["level"].tolist() == [0, 1, 2]


def test_gap_ratio_midpoint_and_campaign_summary(tmp_path):
    from mblnn.analyse.summary import campaign_summary, gap_ratio_midpoint

    levels = pd.DataFrame({"N": 10, "hbar": [0.5, 1.0, 2.0, 4.0], "r_mean": [0.53, 0.50, 0.42, 0.39]})
    midpoint = (0.5307 + 0.3863) / 2
    expected = 1.0 + (0.50 - midpoint) / (0.50 - 0.42) * 1.0
    assert gap_ratio_midpoint(levels)["r_midpoint"].iloc[0] == pytest.approx(expected, abs=1e-3)
    classification = synthetic(tmp_path, step)
    curves = analysis.mbl_fraction_curves([classification], [0.9])
    critical = analysis.critical_field_table(curves, analysis.critical_field_realizations(curves, [0.5]), [0.5], replicas=20)
    transition = analysis.transition_region_table([classification])
    consistency = analysis.consistency_summary(analysis.consistency_table([classification]), 0.5, 6.0)
    row = campaign_summary([classification], critical, levels, transition, consistency, 0.5, 6.0).iloc[0]
    assert row["eta_min"] == 1.0 and row["hbar_c"] == 2.0 and row["hbar_c_grid"] == 2.0
    assert row["r_midpoint"] == pytest.approx(expected, abs=1e-3) and row["flipped"] == 0


def test_critical_field_of_one_realization_has_no_bootstrap_error():
    grid = np.arange(0.5, 4.01, 0.5)
    curves = pd.DataFrame({"N": 8, "N_A": 4, "variant": "main", "realization": 0, "threshold": 0.9, "hbar": grid,
                           "fraction_above": np.clip(grid / 4, 0, 1), "mean_abs_u": 0.5})
    row = analysis.critical_field_table(curves, analysis.critical_field_realizations(curves, [0.5]), [0.5], replicas=20).iloc[0]
    assert row["hbar_c"] == pytest.approx(2.0) and np.isnan(row["hbar_c_err"]) and np.isnan(row["edge_replicas"])
    assert row["n_realizations"] == 1 and np.isnan(row["rho_inverse_hbar_c_u"])


def test_figures_of_a_campaign_without_a_main_variant(tmp_path):
    """A campaign may name its only variant otherwise (the floor study's `float64`): its one-variant figures draw it
    (they drew nothing and failed before)."""
    phase = analysis.phase_diagram_table([synthetic(tmp_path, step)], eps_bins=4)
    renamed = phase.assign(variant="float64")
    written = save_figure(phase_diagram_figure(renamed), tmp_path / "phase.png")
    reference = save_figure(phase_diagram_figure(phase), tmp_path / "reference" / "phase.png")
    assert [p.read_bytes() for p in written] == [p.read_bytes() for p in reference]
