"""The trainer's cost and gradient, Eq. (8), against a computation by hand (numpy, float64).

One SGD step of one member from its known initial weights, with the batch rows and dropout units the
trainer drew (read back through ``step_draws``): the recorded cost terms must equal the hand-computed
sums, and the updated weights the initial ones minus λ times the hand-computed gradient. The hand
gradient is itself checked against central finite differences of the hand cost.
"""

import numpy as np
import pytest

from mblnn.learn.network import TrainingConfig, TrainingData, initial_parameters, step_draws, train_ensemble

N_IN, N_TD, N_TR, HIDDEN, BATCH = 3, 10, 7, 6, 5


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    td_x = rng.normal(1.0, 1.0, size=(N_TD, N_IN)).astype(np.float32)
    td_y = np.r_[np.zeros(N_TD // 2, int), np.ones(N_TD - N_TD // 2, int)]
    return TrainingData(td_x=td_x, td_y=td_y, tr_x=rng.normal(1.0, 1.0, size=(N_TR, N_IN)).astype(np.float32))


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def hand_cost(params, batch, delta, mu, scale):
    """Eq. (8) for one dropout draw: scale·(Σ_TD CE + δ Σ_TR H) + μ‖V(2,1)‖² (all first-layer weights)."""
    w1, b1, w2, b2 = params
    x_td, y, x_tr, kept = batch

    def logits(x):
        hidden = np.maximum(x @ w1[:, kept] + b1[kept], 0)
        return hidden @ (2.0 * w2[kept]) + b2  # inverted dropout: the kept half carries twice the weight

    p_td, p_tr = softmax(logits(x_td)), softmax(logits(x_tr))
    ce = -np.log(p_td[np.arange(len(y)), y]).sum()
    entropy = -(p_tr * np.log(p_tr)).sum()
    return scale * ce, scale * entropy, np.sum(w1**2), scale * (ce + delta * entropy) + mu * np.sum(w1**2)


def hand_gradient(params, batch, delta, mu, scale):
    """Backpropagation of :func:`hand_cost` written out: softmax-CE gives p - onehot, the entropy
    H(softmax z) gives dH/dz_j = -p_j (ln p_j + H)."""
    w1, b1, w2, b2 = params
    x_td, y, x_tr, kept = batch
    grads = [np.zeros_like(w1), np.zeros_like(b1), np.zeros_like(w2), np.zeros_like(b2)]
    for x, is_td in ((x_td, True), (x_tr, False)):
        pre = x @ w1[:, kept] + b1[kept]
        hidden = np.maximum(pre, 0)
        p = softmax(hidden @ (2.0 * w2[kept]) + b2)
        if is_td:
            d_logits = scale * (p - np.eye(2)[y])
        else:
            h = -(p * np.log(p)).sum(axis=1, keepdims=True)
            d_logits = scale * delta * (-p * (np.log(p) + h))
        grads[3] += d_logits.sum(axis=0)
        grads[2][kept] += 2.0 * hidden.T @ d_logits
        d_pre = (d_logits @ (2.0 * w2[kept]).T) * (pre > 0)
        grads[0][:, kept] += x.T @ d_pre
        grads[1][kept] += d_pre.sum(axis=0)
    grads[0] += 2.0 * mu * w1
    return grads


def one_step(data, config, member=0):
    """The trainer's one step and the same step by hand: (ensemble, initial params, batch, scale)."""
    train, _, init = initial_parameters(config.seed, member, N_IN, HIDDEN, N_TD, config.init_std)
    picks, tr_rows, kept = step_draws(config.seed, member, 0, BATCH, len(train), N_TR, HIDDEN)
    rows = train[picks]
    batch = (data.td_x[rows].astype(np.float64), data.td_y[rows], data.tr_x[tr_rows].astype(np.float64), np.sort(kept))
    params = [p.astype(np.float64) for p in init]
    ensemble = train_ensemble(data, [member], config)
    scale = 1.0 if config.cost_reduction == "sum" else 1.0 / config.batch
    return ensemble, params, batch, scale


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_one_step_matches_the_hand_computed_cost_and_gradient(data, reduction):
    config = TrainingConfig(n_hidden=HIDDEN, steps=1, batch=BATCH, delta=0.7, mu=0.3, optimizer="sgd",
                            learning_rate=0.05, seed=4, cost_reduction=reduction, log_every=1)
    ensemble, params, batch, scale = one_step(data, config)
    ce, entropy, norm, _ = hand_cost(params, batch, config.delta, config.mu, scale)
    np.testing.assert_allclose(ensemble.curves[0, 0], [ce, entropy, norm], rtol=2e-5)
    gradient = hand_gradient(params, batch, config.delta, config.mu, scale)
    trained = (ensemble.w1[0], ensemble.b1[0], ensemble.w2[0], ensemble.b2[0])
    for name, before, g, after in zip(("w1", "b1", "w2", "b2"), params, gradient, trained):
        np.testing.assert_allclose(after, before - config.learning_rate * g, atol=2e-6, err_msg=name)


def test_hand_gradient_against_finite_differences(data):
    config = TrainingConfig(n_hidden=HIDDEN, batch=BATCH, seed=4)
    train, _, init = initial_parameters(config.seed, 0, N_IN, HIDDEN, N_TD, config.init_std)
    picks, tr_rows, kept = step_draws(config.seed, 0, 0, BATCH, len(train), N_TR, HIDDEN)
    batch = (data.td_x[train[picks]].astype(np.float64), data.td_y[train[picks]],
             data.tr_x[tr_rows].astype(np.float64), np.sort(kept))
    params = [p.astype(np.float64) for p in init]
    gradient = hand_gradient(params, batch, 0.7, 0.3, 1.0)
    step = 1e-6
    for which, g in enumerate(gradient):
        numeric = np.zeros_like(g)
        for index in np.ndindex(g.shape):
            shifted = [p.copy() for p in params]
            shifted[which][index] += step
            up = hand_cost(shifted, batch, 0.7, 0.3, 1.0)[3]
            shifted[which][index] -= 2 * step
            down = hand_cost(shifted, batch, 0.7, 0.3, 1.0)[3]
            numeric[index] = (up - down) / (2 * step)
        np.testing.assert_allclose(g, numeric, atol=1e-7)


def test_batch_means_are_sums_with_the_decay_times_the_batch_size(data):
    """The one convention: SGD on means (λ, μ) is SGD on sums with (λ/B, μ·B)."""
    base = dict(n_hidden=HIDDEN, steps=3, batch=BATCH, delta=0.7, optimizer="sgd", seed=4)
    means = train_ensemble(data, [0], TrainingConfig(**base, mu=0.3, learning_rate=0.05, cost_reduction="mean"))
    sums = train_ensemble(data, [0], TrainingConfig(**base, mu=0.3 * BATCH, learning_rate=0.05 / BATCH, cost_reduction="sum"))
    for name in ("w1", "b1", "w2", "b2"):
        np.testing.assert_allclose(getattr(means, name), getattr(sums, name), atol=1e-6, err_msg=name)


def test_paper_defaults():
    config = TrainingConfig()
    assert (config.cost_reduction, config.optimizer, config.learning_rate, config.batch, config.delta, config.mu,
            config.n_hidden, config.init_std) == ("sum", "sgd", 1e-4, 100, 1.0, 1.0, 1024, 0.1)
