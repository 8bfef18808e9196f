"""Finite-size analysis (crossings, threshold lines, scaling collapse) and learning by confusion on
synthetic data with a known transition."""

import numpy as np
import pandas as pd
import pytest

from mblnn.learn.confusion import (
    confusion_labels,
    confusion_table,
    confusion_transition,
    confusion_transitions,
    confusion_trials,
    learning_by_confusion,
)
from mblnn.errors import InputError
from mblnn.analyse.finite_size import Curves, crossing_table, mobility_edge_table, scaling_table
from mblnn.learn.network import TrainingConfig, TrainingData, train_ensemble
from mblnn.observables.levels import GOE_MEAN_GAP_RATIO, POISSON_MEAN_GAP_RATIO
from mblnn.analyse.scaling import (
    bootstrap_crossing,
    bootstrap_level_crossing,
    bootstrap_scaling_collapse,
    curve_crossing,
    fit_scaling_collapse,
    level_crossing,
)

HBAR_C, NU = 3.0, 1.2
HBAR = np.round(np.arange(0.5, 8.01, 0.25), 10)


def scaling_function(x):
    """A gap-ratio-like crossover from GOE (x → -∞) to Poisson (x → +∞)."""
    return POISSON_MEAN_GAP_RATIO + (GOE_MEAN_GAP_RATIO - POISSON_MEAN_GAP_RATIO) * 0.5 * (1 - np.tanh(x / 15))


def synthetic_ratios(sizes=(10, 12, 14, 16), realizations=30, noise=0.01, seed=1):
    """Per-realization r(h̄) of the exact scaling form y = f((h̄ - h̄_c) N^{1/ν}) plus noise: {N: (R, H)}."""
    rng = np.random.default_rng(seed)
    return {N: scaling_function((HBAR - HBAR_C) * N ** (1 / NU))[None, :] + rng.normal(0, noise, (realizations, len(HBAR)))
            for N in sizes}


def test_crossings_and_level_lines_are_exact_for_straight_lines():
    h = np.array([1.0, 2.0, 3.0, 4.0])
    assert curve_crossing(h, 2.0 - 0.5 * h, 1.5 - 0.25 * h) == pytest.approx(2.0)
    assert np.isnan(curve_crossing(h, h, h - 1))  # never cross
    assert level_crossing(h, 0.2 * h, 0.5) == pytest.approx(2.5)
    # noise around the ends does not fool it: the sign change that splits the curve best wins
    wiggly = np.array([0.01, -0.001, 0.3, 0.2, 0.1, -0.1, -0.2, -0.3])
    assert curve_crossing(np.arange(8.0), wiggly, np.zeros(8)) == pytest.approx(4.5)


def test_scaling_collapse_recovers_the_critical_point_and_exponent():
    values = synthetic_ratios()
    fit, hbar_c, nu = bootstrap_scaling_collapse(HBAR, values, (1.0, 6.0), degree=3, replicas=40, seed=0)
    assert hbar_c.error < 0.3 and nu.error < 0.3
    assert abs(hbar_c.value - HBAR_C) < 3 * hbar_c.error + 0.05
    assert abs(nu.value - NU) < 3 * nu.error + 0.05
    # noiseless data: the fit is exact up to the polynomial's approximation of f
    exact = {N: (HBAR, scaling_function((HBAR - HBAR_C) * N ** (1 / NU))) for N in (10, 12, 14, 16)}
    clean = fit_scaling_collapse({N: (h[(h >= 1) & (h <= 6)], y[(h >= 1) & (h <= 6)]) for N, (h, y) in exact.items()},
                                 degree=5, hbar_c_range=(1.0, 6.0))
    assert clean.hbar_c == pytest.approx(HBAR_C, abs=0.02) and clean.nu == pytest.approx(NU, abs=0.03)
    with pytest.raises(InputError, match="at least two chain lengths"):
        fit_scaling_collapse({10: exact[10]})


def test_bootstrap_crossing_brackets_the_known_point():
    values = synthetic_ratios()
    for small, large in ((10, 12), (12, 14), (14, 16)):
        found = bootstrap_crossing(HBAR, values[large], values[small], replicas=100, seed=2)
        assert found.found > 0.9 and found.error < 0.5
        assert abs(found.value - HBAR_C) < 3 * found.error + 0.05, (small, large, found)
    # a network-like rising output with members: its 50 % line
    rng = np.random.default_rng(3)
    members = 1 / (1 + np.exp(-(HBAR - 2.5) * 3))[None, None, :] + rng.normal(0, 0.02, (20, 8, len(HBAR)))
    line = bootstrap_level_crossing(HBAR, members, 0.5, replicas=100, seed=0)
    assert abs(line.value - 2.5) < 3 * line.error + 0.02 and line.error < 0.1


def test_finite_size_tables_have_their_schema():
    ratios = Curves(hbar=HBAR, values={(N, 0.5): v for N, v in synthetic_ratios(sizes=(10, 12, 14)).items()})
    rng = np.random.default_rng(0)
    network = Curves(hbar=HBAR, values={(N, 0.5): np.clip(1 / (1 + np.exp(-(HBAR - 2.5) * N / 4))[None, None, :]
                                                          + rng.normal(0, 0.02, (10, 5, len(HBAR))), 0, 1)
                                        for N in (10, 12, 14)})
    edge = mobility_edge_table(ratios, network)
    assert list(edge.columns) == ["N", "eps", "hbar", "r", "r_sem", "confidence", "confidence_sem", "n_realizations"]
    assert len(edge) == 3 * len(HBAR) and not edge.isna().any().any() and (edge["n_realizations"] == 30).all()
    crossings = crossing_table(ratios, network, replicas=20)
    assert list(crossings.columns) == ["method", "eps", "N_small", "N_large", "hbar_c", "error", "found"]
    assert list(crossings["method"]) == ["gap_ratio"] * 2 + ["network"] * 3
    assert crossings["hbar_c"].notna().all() and crossings["N_small"].dtype == np.int64
    network_lines = crossings[crossings["method"] == "network"]["hbar_c"]
    assert np.allclose(network_lines, 2.5, atol=0.1)
    scaling = scaling_table({"gap_ratio": ratios}, (1.0, 6.0), degree=3, replicas=10)
    assert list(scaling[["N_min", "N_max", "n_sizes"]].itertuples(index=False, name=None)) == [(10, 12, 2), (10, 14, 3)]
    assert scaling[["hbar_c", "nu", "hbar_c_error", "nu_error", "cost"]].notna().all().all()
    assert scaling["at_bound"].dtype == bool and not scaling["at_bound"].any()
    # the network's saturated plateaus are left out when asked: fewer points, still a fit
    bounded = scaling_table({"network": network}, (1.0, 6.0), degree=2, replicas=5, value_ranges={"network": (0.02, 0.98)})
    assert len(bounded) == 2 and bounded["hbar_c"].between(1.0, 6.0).all()


def test_confusion_labels_and_trials():
    assert confusion_trials([3.0, 1.0, 2.0, 1.0]).tolist() == [1.5, 2.5]
    assert confusion_labels(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5])).tolist() == [[0, 1, 1], [0, 0, 1]]
    with pytest.raises(InputError, match="at least 3 distinct"):
        confusion_trials([1.0, 2.0])


def test_per_member_labellings_are_each_members_own():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4)).astype(np.float32)
    by_first, by_second = (x[:, 0] > 0).astype(int), (x[:, 1] > 0).astype(int)
    data = TrainingData(td_x=x, td_y=np.stack([by_first, by_second]), tr_x=x[:100])
    ensemble = train_ensemble(data, [0, 1], TrainingConfig(n_hidden=32, steps=400, learning_rate=1e-2, delta=0.0, mu=0.0, optimizer="adam", cost_reduction="mean"))
    assert ensemble.test_accuracy.min() > 0.9
    confidence = ensemble.confidences(x)
    assert ((confidence[0] > 0.5) == by_first).mean() > 0.9 and ((confidence[1] > 0.5) == by_second).mean() > 0.9
    with pytest.raises(InputError, match="2 labellings for 3 members"):
        train_ensemble(data, [0, 1, 2], TrainingConfig(n_hidden=8, steps=1))


@pytest.mark.parametrize("transition, expected", [(3.2, 3.25), (4.7, 4.75)])
def test_learning_by_confusion_finds_a_known_transition(transition, expected):
    """Spectra whose distribution jumps at h̄ = transition (and drifts slowly with h̄ elsewhere): the
    W's middle peak sits at the trial point just above it, also off the grid's middle."""
    rng = np.random.default_rng(0)
    grid = np.arange(0.5, 6.01, 0.5)
    hbar = np.repeat(grid, 200)
    features = rng.normal(size=(len(hbar), 8)) + 2.0 * (hbar > transition)[:, None] + 0.05 * hbar[:, None]
    per_network = learning_by_confusion(features, hbar, TrainingConfig(n_hidden=64, steps=600, learning_rate=3e-3,
                                                                       mu=0.0, seed=1, optimizer="adam", cost_reduction="mean"), repeats=3)
    assert len(per_network) == 11 * 3 and set(per_network.columns) >= {"trial", "repeat", "accuracy", "trivial", "excess"}
    best, spread = confusion_transition(per_network)
    assert best == expected and spread == 0.0
    curve = confusion_table(per_network.assign(N=8, eps=0.5))
    at = curve.set_index("trial")
    assert at.loc[expected, "accuracy"] > 0.97 and at.loc[expected, "accuracy"] > at.loc[expected - 1.0, "accuracy"] + 0.05
    rows = confusion_transitions(per_network.assign(N=8, eps=0.5))
    assert rows.to_dict("records") == [{"method": "confusion", "eps": 0.5, "N_small": 8, "N_large": 8, "hbar_c": expected,
                                        "error": 0.0, "found": 1.0}]
    assert isinstance(curve, pd.DataFrame) and list(curve.columns)[:3] == ["N", "eps", "trial"]
