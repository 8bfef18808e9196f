import numpy as np
import pytest

from mblnn.observables.levels import (
    GOE_MEAN_GAP_RATIO,
    POISSON_MEAN_GAP_RATIO,
    gap_ratio,
    mean_gap_ratio,
)
from mblnn.sample import SampleSpec, diagonalize_sample


def test_gap_ratio_by_hand():
    r = gap_ratio(np.array([0.0, 1.0, 3.0, 3.5]))
    assert np.isnan(r[0]) and np.isnan(r[-1])
    np.testing.assert_allclose(r[1:-1], [0.5, 0.25])


def test_exact_degeneracy_is_undefined_not_zero_division():
    r = gap_ratio(np.array([0.0, 1.0, 1.0, 1.0, 2.0]))
    assert r[1] == 0.0 and np.isnan(r[2]) and r[3] == 0.0
    assert mean_gap_ratio(np.array([0.0, 1.0, 1.0, 1.0, 2.0])) == 0.0


def test_unsorted_energies_rejected():
    with pytest.raises(ValueError, match="ascending"):
        gap_ratio(np.array([0.0, 2.0, 1.0]))


def test_goe_limit():
    rng = np.random.default_rng(2017)
    means = []
    for _ in range(8):
        X = rng.normal(size=(1000, 1000))
        means.append(mean_gap_ratio(np.linalg.eigvalsh(X + X.T), window=(0.2, 0.8)))
    assert np.mean(means) == pytest.approx(GOE_MEAN_GAP_RATIO, abs=0.01)


def test_poisson_limit():
    levels = np.sort(np.random.default_rng(1).uniform(size=200_000))
    assert mean_gap_ratio(levels) == pytest.approx(POISSON_MEAN_GAP_RATIO, abs=0.01)
    assert POISSON_MEAN_GAP_RATIO == pytest.approx(0.3863, abs=1e-4)


@pytest.mark.parametrize("hbar, side", [(0.25, "goe"), (12.0, "poisson")])
def test_heisenberg_chain_lands_on_the_right_side(hbar, side):
    """N = 12: weak disorder is thermal (GOE-like r), strong disorder localized (Poisson-like r)."""
    rs = []
    for realization in range(3):
        result = diagonalize_sample(SampleSpec(N=12, hbar=hbar, seed=7, realization=realization))
        rs.append(mean_gap_ratio(result.energies, result.energy_density, (0.1, 0.9)))
    midpoint = (GOE_MEAN_GAP_RATIO + POISSON_MEAN_GAP_RATIO) / 2
    r = np.mean(rs)
    if side == "goe":
        assert r > midpoint and r == pytest.approx(GOE_MEAN_GAP_RATIO, abs=0.02)
    else:
        assert r < midpoint and r == pytest.approx(POISSON_MEAN_GAP_RATIO, abs=0.02)
