"""The confidence-optimized ensembles on real N = 12 entanglement spectra."""

import numpy as np
import pytest
from scipy.special import xlogy

from mblnn.errors import InputError
from mblnn.learn.network import (
    ETH,
    MBL,
    Ensemble,
    TrainingConfig,
    TrainingData,
    categories,
    train_ensemble,
)
from mblnn.learn.features import input_features, paper_n1, trimmed_states
from mblnn.sample import SampleSpec, diagonalize_sample

FAST = TrainingConfig(n_hidden=128, steps=1000, learning_rate=1e-3, seed=5, log_every=125, optimizer="adam", cost_reduction="mean")


@pytest.fixture(scope="module")
def data():
    """N = 12, half cut: h̄ = 0.25 (ETH) and 12 (MBL) labelled, h̄ = 2, 3, 4 unlabelled."""
    def spectra(hbar, realization, trim):
        result = diagonalize_sample(SampleSpec(N=12, hbar=hbar, seed=17, realization=realization, cuts=(6,)))
        spectrum = result.cuts[6].spectrum
        return input_features(spectrum[trimmed_states(len(spectrum))] if trim else spectrum)
    eth = np.concatenate([spectra(0.25, k, True) for k in range(2)])
    mbl = np.concatenate([spectra(12.0, k, True) for k in range(2)])
    tr = np.concatenate([spectra(h, 0, False) for h in (2.0, 3.0, 4.0)])
    return TrainingData(td_x=np.concatenate([eth, mbl]),
                        td_y=np.r_[np.full(len(eth), ETH), np.full(len(mbl), MBL)], tr_x=tr)


def mean_entropy(ensemble, x):
    p = ensemble.confidences(x).astype(np.float64)
    return float(np.mean(-(xlogy(p, p) + xlogy(1 - p, 1 - p))))


def test_features():
    xi = np.array([[0.5, 1.0, 2.0, 4.0, 8.0, 9.0]])
    np.testing.assert_allclose(input_features(xi), [[0.5, 1.0, 2.0]])
    np.testing.assert_allclose(input_features(xi, kind="rho"), np.exp(-np.array([[0.5, 1.0, 2.0]])), rtol=1e-6)
    np.testing.assert_allclose(input_features(xi, kind="differences"), [[0.5, 1.0]])
    assert input_features(xi, fraction=1 / 3).shape == (1, 2)
    assert trimmed_states(100) == slice(10, 90)
    with pytest.raises(InputError, match="kind"):
        input_features(xi, kind="raw")


def test_floor_and_smaller_side_block():
    xi = np.array([[0.5, 30.0, 40.0, 72.1, 72.1, 72.1]])
    cap = -np.log(1e-16)
    np.testing.assert_allclose(input_features(xi, fraction=1.0, floor=1e-16), [[0.5, 30.0, cap, cap, cap, cap]], rtol=1e-6)
    np.testing.assert_allclose(input_features(xi, fraction=1.0, kind="rho", floor=1e-16)[0, 2:], 1e-16, rtol=1e-5)
    # only the first n_levels form the spectrum (the rest is padding of a rank-deficient block)
    np.testing.assert_allclose(input_features(xi, fraction=0.5, n_levels=4), [[0.5, 30.0]])
    assert [paper_n1(18, N_A) for N_A in range(6, 13)] == [20, 35, 70, 126, 70, 35, 20]
    assert paper_n1(12, 6) == 20 and paper_n1(14, 9) == 10 and paper_n1(14, 7) == 35
    with pytest.raises(InputError, match="floor"):
        input_features(xi, floor=2.0)


@pytest.mark.slow
def test_every_member_separates_eth_from_mbl(data):
    ensemble = train_ensemble(data, members=range(4), config=FAST)
    assert ensemble.test_accuracy.tolist() == [1.0, 1.0, 1.0, 1.0]
    confidence = ensemble.confidences(data.td_x)
    assert confidence.shape == (4, len(data.td_x))
    assert np.all(confidence[:, data.td_y == MBL] > 0.5) and np.all(confidence[:, data.td_y == ETH] < 0.5)
    assert ensemble.curves.shape == (9, 4, 3) and np.all(ensemble.curves[-1, :, 0] < ensemble.curves[0, :, 0])


def test_member_trains_as_it_would_alone(data):
    config = TrainingConfig(n_hidden=64, steps=50, learning_rate=1e-3, seed=9, optimizer="adam", cost_reduction="mean")
    together = train_ensemble(data, members=[0, 1, 2], config=config)
    alone = train_ensemble(data, members=[1], config=config)
    for name in ("w1", "b1", "w2", "b2"):
        np.testing.assert_allclose(getattr(together, name)[1], getattr(alone, name)[0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(together.curves[:, 1], alone.curves[:, 0], rtol=1e-5)
    assert together.test_accuracy[1] == alone.test_accuracy[0]


def test_same_seeds_same_confidences(data):
    config = TrainingConfig(n_hidden=64, steps=30, learning_rate=1e-3, seed=3, optimizer="adam", cost_reduction="mean")
    a = train_ensemble(data, members=range(2), config=config).confidences(data.tr_x)
    b = train_ensemble(data, members=range(2), config=config).confidences(data.tr_x)
    assert a.tobytes() == b.tobytes()
    c = train_ensemble(data, members=range(2), config=TrainingConfig(n_hidden=64, steps=30, learning_rate=1e-3, seed=4, optimizer="adam", cost_reduction="mean"))
    assert not np.array_equal(a, c.confidences(data.tr_x))
    # progress reports only read the logged terms: the same networks, about ten reports, the last at the end
    seen = []
    reported = train_ensemble(data, members=range(2), config=config, progress=lambda t, n, terms: seen.append((t, n, terms.shape)))
    assert reported.confidences(data.tr_x).tobytes() == a.tobytes()
    assert seen[-1] == (30, 30, (2, 3)) and 2 <= len(seen) <= 11 and [t for t, _, _ in seen] == sorted({t for t, _, _ in seen})


def test_weight_decay_touches_only_the_first_layer(data):
    """One SGD step from the same initial weights with μ = 0 and μ = 1: only V(2,1) moves differently,
    and by exactly -lr · 2μ · V(2,1)."""
    base = dict(n_hidden=64, steps=1, optimizer="sgd", learning_rate=0.01, seed=2, cost_reduction="mean")
    initial = train_ensemble(data, [0], TrainingConfig(**{**base, "learning_rate": 0.0}))
    without = train_ensemble(data, [0], TrainingConfig(**base, mu=0.0))
    with_decay = train_ensemble(data, [0], TrainingConfig(**base, mu=1.0))
    for name in ("b1", "w2", "b2"):
        assert getattr(without, name).tobytes() == getattr(with_decay, name).tobytes(), name
    np.testing.assert_allclose(with_decay.w1 - without.w1, -0.01 * 2 * initial.w1, atol=1e-7)


@pytest.mark.slow
def test_confidence_term_lowers_the_entropy_on_the_transition_region(data):
    entropy = {}
    for delta in (0.0, 1.0):
        config = TrainingConfig(n_hidden=128, steps=1000, learning_rate=1e-3, seed=5, delta=delta, optimizer="adam", cost_reduction="mean")
        entropy[delta] = mean_entropy(train_ensemble(data, members=range(3), config=config), data.tr_x)
    assert entropy[1.0] < entropy[0.0]


def test_save_load_and_categories(tmp_path, data):
    ensemble = train_ensemble(data, members=[3, 7], config=TrainingConfig(n_hidden=32, steps=5, seed=1))
    back = Ensemble.load(ensemble.save(tmp_path / "ensemble.npz"))
    assert back.members.tolist() == [3, 7] and back.config["n_hidden"] == 32
    assert back.confidences(data.tr_x).tobytes() == ensemble.confidences(data.tr_x).tobytes()
    np.testing.assert_array_equal(categories(np.array([0.95, 0.5, 0.05, 0.9])), [1, 0, -1, 0])


@pytest.mark.parametrize("config, key", [
    (TrainingConfig(n_hidden=33), "n_hidden"),
    (TrainingConfig(optimizer="rmsprop"), "optimizer"),
    (TrainingConfig(delta=-1), "delta"),
    (TrainingConfig(steps=0), "steps"),
])
def test_bad_training_config(data, config, key):
    with pytest.raises(InputError, match=key):
        train_ensemble(data, [0], config)


def test_two_hidden_layers_train_save_and_dream(tmp_path, data):
    """Appendix A(b): a second hidden layer (masked path); members independent of their ensemble."""
    from mblnn.learn.dream import dream

    config = TrainingConfig(n_hidden=32, hidden_layers=2, steps=300, learning_rate=3e-3, seed=2, optimizer="adam",
                            cost_reduction="mean", log_every=50)
    ensemble = train_ensemble(data, members=[0, 1], config=config)
    assert len(ensemble.hidden_w) == 1 and ensemble.hidden_w[0].shape == (2, 32, 32)
    assert ensemble.test_accuracy.min() > 0.95
    alone = train_ensemble(data, members=[1], config=config)
    np.testing.assert_allclose(ensemble.hidden_w[0][1], alone.hidden_w[0][0], atol=1e-5)
    back = Ensemble.load(ensemble.save(tmp_path / "deep.npz"))
    assert back.confidences(data.tr_x).tobytes() == ensemble.confidences(data.tr_x).tobytes()
    result = dream(back, data.tr_x[:3], "mbl", steps=50, step_size=1e-2, networks=2)
    assert result.confidence_end.mean() >= result.confidence_start.mean()
    steps_seen = []
    chunked = dream(back, data.tr_x[:3], "mbl", steps=50, step_size=1e-2, networks=2, progress=lambda t, n: steps_seen.append(t))
    assert chunked.dreamed.tobytes() == result.dreamed.tobytes() and steps_seen == list(range(5, 55, 5))


def test_step_scan_keeps_the_papers_step_at_n12(data):
    """learning_rate auto at N = 12 with the default campaign's networks (512 units, 2000 steps, plain gradient
    descent on Eq. (8) with sums): the paper's 1e-4 trains the scan's networks and is chosen, at no extra cost."""
    from mblnn.learn.train import train_checked

    config = TrainingConfig(n_hidden=512, steps=2000, learning_rate=1e-4, seed=0)
    scan = {"grid": [1e-4, 3e-5, 1e-5], "members": 3, "max_steps": 20000}
    chosen = train_checked(data, range(3), config, min_accuracy=0.99, attempts=0, step_scan=scan)
    assert [(r["learning_rate"], r["steps"], r["accepted"]) for r in chosen.config["step_scan"]] == [(1e-4, 2000, True)]
    assert chosen.config["learning_rate"] == 1e-4 and (chosen.test_accuracy >= 0.99).all()
