"""Phase-diagram tables on synthetic classification stores with known answers, and their figures."""

import numpy as np
import pandas as pd
import pytest

from mblnn import analysis
from mblnn.classification import open_classification, write_classification
from mblnn.plotting import (
    plot_consistency,
    plot_critical_field,
    plot_levels_vs_network,
    plot_phase_diagram,
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
    per_realization = analysis.critical_field_realizations([classification], thresholds=[0.9, 0.99], fractions=[0.5])
    found = per_realization[per_realization["threshold"] == 0.9].set_index("realization")["hbar_c"]
    assert found.to_dict() == ONSET
    assert per_realization[per_realization["threshold"] == 0.99]["hbar_c"].isna().all()
    summary = analysis.critical_field_table(per_realization)
    row = summary[summary["threshold"] == 0.9].iloc[0]
    assert row["hbar_c"] == 3.0 and row["hbar_c_std"] == pytest.approx(np.sqrt(2)) and row["n_realizations"] == 2
    assert summary[summary["threshold"] == 0.99].iloc[0]["n_undetermined"] == 2
    assert np.isfinite(per_realization["mean_abs_u"]).all() and per_realization["mean_abs_u"].between(0, 1).all()


def test_critical_field_needs_the_fraction_of_states():
    hbar = np.array([1.0, 2.0, 3.0])
    assert analysis.critical_fields(hbar, np.array([0.2, 0.6, 1.0]), 0.5) == 2.0
    assert analysis.critical_fields(hbar, np.array([0.2, 0.6, 1.0]), 0.9) == 3.0
    assert np.isnan(analysis.critical_fields(hbar, np.array([0.2, 0.3, 0.4]), 0.5))


def test_consistency_of_a_two_category_toy(tmp_path):
    def toy(hbar, realization, eps):
        confidence = np.empty((3, len(eps)))
        confidence[:, ::2] = [[0.95], [0.95], [0.05]]   # MBL, MBL, ETH: 2 of 3 pairs differ, both flip
        confidence[:, 1::2] = [[0.95], [0.5], [0.5]]    # MBL, ?, ?: 2 of 3 pairs differ, none flips
        return confidence if hbar == 2.0 else np.full((3, len(eps)), 0.97)
    table = analysis.consistency_table([synthetic(tmp_path, toy)], threshold=0.9)
    at = table.set_index("hbar")
    assert at.loc[2.0, "changed"] == pytest.approx(2 / 3) and at.loc[2.0, "flipped"] == pytest.approx(1 / 3)
    assert at.loc[6.0, "changed"] == 0 and at.loc[6.0, "flipped"] == 0 and (table["n_states"] == 80).all()


def test_levels_vs_network_merges_per_variant(tmp_path):
    phase = analysis.phase_diagram_table([synthetic(tmp_path, step)], eps_bins=4)
    levels = pd.DataFrame({"N": 10, "hbar": HBARS, "r_mean": np.linspace(0.53, 0.39, len(HBARS)), "r_sem": 0.01})
    table = analysis.levels_vs_network_table(levels, phase, window=(0.25, 0.75))
    assert table.set_index("hbar")["eth_confidence_main"].to_dict() == pytest.approx(
        {0.5: 0.98, 1.0: 0.98, 2.0: 0.505, 3.0: 0.505, 4.0: 0.03, 6.0: 0.03}, rel=1e-5)  # float32 confidences


def test_figures_are_written(tmp_path):
    classification = synthetic(tmp_path, step)
    phase = analysis.phase_diagram_table([classification], eps_bins=4)
    critical = analysis.critical_field_table(analysis.critical_field_realizations([classification], [0.8, 0.9], [0.5]))
    levels = pd.DataFrame({"N": 10, "hbar": HBARS, "r_mean": 0.45, "r_sem": 0.01})
    for draw, table, name in ((plot_phase_diagram, phase, "phase"), (plot_critical_field, critical, "critical"),
                              (plot_levels_vs_network, analysis.levels_vs_network_table(levels, phase, (0, 1)), "levels"),
                              (plot_consistency, analysis.consistency_table([classification]), "consistency")):
        written = draw(table, tmp_path / f"{name}.png")
        assert [p.suffix for p in written] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in written)
