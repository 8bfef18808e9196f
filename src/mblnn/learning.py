"""Confidence-optimized neural-network ensembles (Sec. II, IV and Appendices A-C of the paper).

Network, Eq. (7): x (n1 inputs) → ReLU(V⁽²¹⁾x + a⁽²⁾) (n2 hidden units, default 1024) → Softmax of
V⁽³²⁾h + a⁽³⁾ over the two classes (0 = ETH, 1 = MBL). Weights and biases start from N(0, 0.1²).
During training each step uses exactly half of the hidden units, a fresh random half per step
(the paper's projector P; inverted scaling by 2 keeps inference dropout-free).

Cost, Eq. (8), per network and step:
    CE (mean over a batch of 100 labelled spectra, TD)
  + δ · H (mean Shannon entropy of the output on a batch of 100 unlabelled spectra, TR)
  + μ · ‖V⁽²¹⁾‖²  (sum of squares of the first-layer weights only).
Means rather than sums over the batches: the batch size then does not rescale δ and μ.

Ensembles: M networks with independent initializations, train/test splits and batches are
trained as one TensorFlow program — stacked weights of shape (M, ...), batched matmuls, one compiled
step for all members. Every random number of member m (initial weights, split, batches, dropout)
depends only on (seed, m) and the step — a counter-based hash inside the graph — so a member
trains exactly as it would alone, whatever the ensemble it belongs to. The ensemble's loss is the
sum of the members' losses, whose gradient with respect to member m's weights is member m's own.

Speed: only the kept half of the hidden units is gathered and computed each step, and the parameter
update (dense decay gradient + scattered unit gradients + Adam) is one XLA-compiled program, since it
is memory-bound (see :func:`_compiled_update`; numbers in the README).

Determinism: TensorFlow op determinism is enabled (``tf.config.experimental.enable_op_determinism``);
the XLA update scatters into distinct rows only (each kept unit once), so its result does not depend
on the order of the additions. The same data, seeds and configuration give the same confidences
(tested bit for bit).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .errors import InputError

ETH, MBL = 0, 1
_MASK32 = 0xFFFFFFFF


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters of Eq. (7)/(8) and of the optimizer (defaults: the paper's, Appendix B)."""

    n_hidden: int = 1024
    steps: int = 3500
    batch: int = 100
    delta: float = 1.0
    mu: float = 1.0
    optimizer: str = "adam"
    learning_rate: float = 1e-4
    init_std: float = 0.1
    seed: int = 0
    log_every: int = 10

    def validated(self) -> "TrainingConfig":
        for name in ("n_hidden", "steps", "batch", "log_every"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"training.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.n_hidden % 2:
            raise InputError(f"training.n_hidden must be even (half the units are dropped), got {self.n_hidden}")
        if self.optimizer not in ("adam", "sgd"):
            raise InputError(f"training.optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        for name in ("delta", "mu"):
            if getattr(self, name) < 0:
                raise InputError(f"training.{name} must be >= 0, got {getattr(self, name)!r}")
        return self


def input_features(spectra: np.ndarray, fraction: float = 0.5, kind: str = "entanglement") -> np.ndarray:
    """Network inputs from largest-block entanglement spectra ξ (ascending), shape ``(n, n1)``.

    ``kind``: ``"entanglement"`` — the lowest ⌈fraction·n1⌉ levels ξ (the paper's input);
    ``"rho"`` — the same levels as ρ_A eigenvalues λ = e^{-ξ} (Appendix A, input a);
    ``"differences"`` — differences of consecutive levels among them (Appendix A, input b).
    Returns float32 ``(n, n_in)``.
    """
    if not 0 < fraction <= 1:
        raise InputError(f"fraction must lie in (0, 1], got {fraction}")
    spectra = np.asarray(spectra, dtype=np.float64)
    keep = max(2 if kind == "differences" else 1, int(np.ceil(fraction * spectra.shape[1])))
    lower = spectra[:, :keep]
    if kind == "entanglement":
        features = lower
    elif kind == "rho":
        features = np.exp(-lower)
    elif kind == "differences":
        features = np.diff(lower, axis=1)
    else:
        raise InputError(f"kind must be 'entanglement', 'rho' or 'differences', got {kind!r}")
    return features.astype(np.float32)


def trimmed_states(n_states: int, edge_fraction: float = 0.1) -> slice:
    """The states left after removing the lowest and highest ``edge_fraction`` of the energies
    (states sorted by energy), as used for the labelled training data."""
    cut = int(np.floor(edge_fraction * n_states))
    return slice(cut, n_states - cut)


@dataclass
class TrainingData:
    """Labelled data TD (features ``td_x (n_td, n_in)``, labels ``td_y (n_td,)``: 0 ETH, 1 MBL) and
    unlabelled transition-region spectra ``tr_x (n_tr, n_in)``.

    ``td_y`` may also be ``(M, n_td)``: one labelling per ensemble member (learning by confusion,
    where every member tries another trial transition point on the same spectra)."""

    td_x: np.ndarray
    td_y: np.ndarray
    tr_x: np.ndarray

    def __post_init__(self):
        if self.td_x.ndim != 2 or self.tr_x.ndim != 2 or self.td_x.shape[1] != self.tr_x.shape[1]:
            raise InputError(f"TD and TR features must be 2-D with equal widths: {self.td_x.shape}, {self.tr_x.shape}")
        labels = np.atleast_2d(self.td_y)
        if labels.ndim != 2 or labels.shape[1] != len(self.td_x):
            raise InputError(f"TD labels must have shape (n_td,) or (members, n_td) with n_td = {len(self.td_x)}, got {self.td_y.shape}")
        if any(set(np.unique(row)) != {ETH, MBL} for row in labels):
            raise InputError("TD must hold both labels (ETH = 0 and MBL = 1) in every labelling")
        if len(self.tr_x) == 0:
            raise InputError("TR is empty: the confidence term needs unlabelled spectra between h_ETH and h_MBL")


def member_key(seed: int, member: int) -> int:
    """31-bit key of ensemble member ``member`` (its random streams depend only on this)."""
    return int(np.random.SeedSequence(entropy=int(seed), spawn_key=(int(member),)).generate_state(1, np.uint32)[0]) & 0x7FFFFFFF


def member_rng(seed: int, member: int) -> np.random.Generator:
    """Host-side generator of member ``member`` (initial weights, train/test split)."""
    return np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=(int(member), 1)))


@dataclass
class Ensemble:
    """Trained networks, stacked: ``w1 (M, n_in, n2)``, ``b1 (M, n2)``, ``w2 (M, n2, 2)``, ``b2 (M, 2)``.

    ``members`` are the member indices (their seeds), ``test_accuracy (M,)`` η on each member's own
    test half, ``curves (n_logged, M, 3)`` the cost terms (CE, entropy, decay) every ``log_every``
    steps, ``config`` the training configuration.
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    members: np.ndarray
    test_accuracy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    curves: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 3)))
    config: dict = field(default_factory=dict)

    def confidences(self, features: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """MBL confidence of every member for every spectrum, shape ``(M, n)`` (all hidden units)."""
        out = []
        for start in range(0, len(features), chunk):
            x = np.asarray(features[start:start + chunk], dtype=np.float32)
            hidden = np.maximum(np.einsum("ni,mih->mnh", x, self.w1) + self.b1[:, None, :], 0)
            logits = np.einsum("mnh,mhc->mnc", hidden, self.w2) + self.b2[:, None, :]
            out.append(1.0 / (1.0 + np.exp(logits[..., ETH] - logits[..., MBL])))
        return np.concatenate(out, axis=1) if out else np.zeros((len(self.members), 0), np.float32)

    def logits_per_member(self, features: np.ndarray) -> np.ndarray:
        """Output logits ``(M, n, 2)`` of member m on its own inputs ``features[m]`` of shape ``(M, n, n_in)``."""
        hidden = np.maximum(np.einsum("mni,mih->mnh", features, self.w1) + self.b1[:, None, :], 0)
        return np.einsum("mnh,mhc->mnc", hidden, self.w2) + self.b2[:, None, :]

    def save(self, path: str | os.PathLike) -> Path:
        """Write the ensemble (weights, accuracies, curves, configuration) to an ``.npz``, atomically."""
        import json

        arrays = {k: getattr(self, k) for k in ("w1", "b1", "w2", "b2", "members", "test_accuracy", "curves")}
        arrays["config"] = np.asarray(json.dumps(self.config))

        def write(temporary):
            with open(temporary, "wb") as handle:
                np.savez(handle, **arrays)

        return atomic_write(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Ensemble":
        import json

        with np.load(path, allow_pickle=False) as archive:
            values = {k: archive[k] for k in archive.files if k != "config"}
            config = json.loads(str(archive["config"]))
        return cls(**values, config=config)


def categories(confidence: np.ndarray, threshold: float = 0.9) -> np.ndarray:
    """Appendix C: +1 MBL (confidence > threshold), -1 ETH (< 1 - threshold), 0 otherwise."""
    return np.where(confidence > threshold, 1, np.where(confidence < 1 - threshold, -1, 0)).astype(np.int8)


def _tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    return tf


def _hash_uniform(tf, keys, step, stream: int, n: int):
    """Counter-based uniform numbers in [0, 1): shape ``(M, n)``, a function of (key_m, step, stream, i).

    Integer mixing of Mueller's hash32 in int64 arithmetic kept below 2^63, masked to 32 bits.
    """
    mask = tf.constant(_MASK32, tf.int64)
    mult = tf.constant(0x45D9F3B, tf.int64)

    def mix(x):
        x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
        x = tf.bitwise.bitwise_and(x * mult, mask)
        x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
        x = tf.bitwise.bitwise_and(x * mult, mask)
        return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))

    base = mix(tf.bitwise.bitwise_and(keys + tf.cast(step, tf.int64) * 0x9E3779B + stream * 0x3C6EF35, mask))
    counter = tf.range(n, dtype=tf.int64) * 0x27D4EB2D
    x = mix(tf.bitwise.bitwise_and(base[:, None] ^ counter[None, :], mask))
    x = mix(tf.bitwise.bitwise_and(x + 0x165667B1, mask))
    return tf.cast(tf.bitwise.right_shift(x, 8), tf.float32) * (1.0 / (1 << 24))


def _compiled_update(tf, units_in, units_out, b2, decay_gradient, config: TrainingConfig):
    """The parameter update of one step as one XLA program: Adam (β1 = 0.9, β2 = 0.999, ε = 1e-7,
    Keras's defaults and TensorFlow's fused-kernel formula) or plain SGD.

    The dense gradient of the first layer is the decay's 2μV(2,1) (``units_in · decay_gradient``)
    plus the kept units' gradients scattered into their rows; XLA fuses building it with the Adam
    moments and the weight update into single passes over the stacked parameters, which are large
    (M · n2 · (n1 + 1) floats) and make the update memory-bound: with separate TensorFlow kernels
    the step took 18.4 ms instead of 14.9 ms (n2 = 1024, 50 members, 2 cores). Returns ``update(rows (K, 1), rows_in (K, n1 + 1), rows_out (K, 2),
    gradient_b2 (M, 2), step)``.
    """
    variables = (units_in, units_out, b2)
    lr = config.learning_rate
    if config.optimizer == "adam":
        slots = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in variables]
    beta1, beta2, epsilon = 0.9, 0.999, 1e-7

    @tf.function(jit_compile=True)
    def update(rows, rows_in, rows_out, gradient_b2, step):
        gradients = (tf.tensor_scatter_nd_add(units_in * decay_gradient, rows, rows_in),
                     tf.scatter_nd(rows, rows_out, tf.shape(units_out, out_type=rows.dtype)), gradient_b2)
        if config.optimizer == "sgd":
            for variable, gradient in zip(variables, gradients):
                variable.assign_sub(lr * gradient)
            return
        t = tf.cast(step + 1, tf.float32)
        lr_t = lr * tf.sqrt(1.0 - tf.pow(beta2, t)) / (1.0 - tf.pow(beta1, t))
        for variable, (m, v), gradient in zip(variables, slots, gradients):
            m_new = m + (gradient - m) * (1.0 - beta1)
            v_new = v + (tf.square(gradient) - v) * (1.0 - beta2)
            m.assign(m_new)
            v.assign(v_new)
            variable.assign_sub(lr_t * m_new / (tf.sqrt(v_new) + epsilon))

    return update


def train_ensemble(data: TrainingData, members: Sequence[int], config: TrainingConfig = TrainingConfig()) -> Ensemble:
    """Train one network per member index in ``members`` on ``data`` (see the module docstring).

    Each member splits TD 50/50 into its own training and test halves (seeded by ``config.seed``
    and its index) and reports its test accuracy η.
    """
    config = config.validated()
    members = np.asarray(list(members), dtype=np.int64)
    if members.size == 0 or np.unique(members).size != members.size:
        raise InputError("members must be distinct member indices, at least one")
    tf = _tensorflow()
    n_td, n_in = data.td_x.shape
    n_train = n_td // 2
    if n_train < 1 or n_td - n_train < 1:
        raise InputError(f"TD holds {n_td} spectra: too few to split into training and test halves")
    H = config.n_hidden

    inits, train_idx, test_idx = [], [], []
    for m in members:
        rng = member_rng(config.seed, m)
        order = rng.permutation(n_td)
        train_idx.append(order[:n_train])
        test_idx.append(order[n_train:])
        inits.append([rng.normal(0.0, config.init_std, size=s).astype(np.float32)
                      for s in ((n_in, H), (H,), (H, 2), (2,))])
    M = len(members)
    per_member_labels = np.ndim(data.td_y) == 2
    if per_member_labels and len(data.td_y) != M:
        raise InputError(f"TD has {len(data.td_y)} labellings for {M} members")
    w1_init, b1_init, w2_init, b2_init = (np.stack([init[i] for init in inits]) for i in range(4))
    # Unit-major layout: row m·H + j holds hidden unit j of member m — its first-layer weights and
    # bias (n_in + 1 values) in `units_in`, its two output weights in `units_out`. Gathering the
    # kept units is then a gather of whole rows, and their gradients a scatter-add of whole rows.
    units_in = tf.Variable(np.concatenate([w1_init, b1_init[:, None, :]], axis=1).transpose(0, 2, 1).reshape(M * H, n_in + 1))
    units_out = tf.Variable(w2_init.reshape(M * H, 2))
    b2 = tf.Variable(b2_init)
    row_offset = tf.constant(np.arange(M, dtype=np.int32)[:, None] * H)
    weight_columns = tf.constant(np.r_[np.ones(n_in, np.float32), 0.0].astype(np.float32))  # the bias is not decayed
    decay_gradient = tf.constant(np.r_[np.full(n_in, 2.0 * config.mu), 0.0].astype(np.float32))
    apply_update = _compiled_update(tf, units_in, units_out, b2, decay_gradient, config)
    td_x, td_y = tf.constant(data.td_x, tf.float32), tf.constant(data.td_y, tf.int32)
    tr_x = tf.constant(data.tr_x, tf.float32)
    train_rows = tf.constant(np.stack(train_idx), tf.int64)
    keys = tf.constant([member_key(config.seed, m) for m in members], tf.int64)
    B, n_tr = config.batch, len(data.tr_x)
    delta = tf.constant(config.delta, tf.float32)

    @tf.function  # the whole step under XLA was slower (6.9 s vs 5.1 s on bench/train.py --quick); only the update is
    def step(t, log: bool):
        picks = tf.cast(tf.floor(_hash_uniform(tf, keys, t, 0, B) * n_train), tf.int64)
        rows = tf.gather(train_rows, picks, batch_dims=1)  # (M, B)
        tr_rows = tf.cast(tf.floor(_hash_uniform(tf, keys, t, 1, B) * n_tr), tf.int64)
        x = tf.concat([tf.gather(td_x, rows), tf.gather(tr_x, tr_rows)], axis=1)  # (M, 2B, n_in)
        x = tf.concat([x, tf.ones_like(x[:, :, :1])], axis=2)  # a column of ones carries the bias
        labels = tf.gather(td_y, rows, batch_dims=1) if per_member_labels else tf.gather(td_y, rows)
        # exactly half the units: those of the H/2 largest hash values (in no particular order)
        kept = tf.math.top_k(_hash_uniform(tf, keys, t, 2, H), k=H // 2, sorted=False).indices  # (M, H/2)
        rows_kept = tf.reshape(kept + row_offset, [-1, 1])
        # A dropped unit contributes nothing to the output and receives no gradient (ReLU(0) = 0),
        # so the step runs on the kept half only (inverted scaling by 2 on the output weights).
        first = tf.reshape(tf.gather_nd(units_in, rows_kept), (-1, H // 2, n_in + 1))
        second = tf.reshape(tf.gather_nd(units_out, rows_kept), (-1, H // 2, 2))
        with tf.GradientTape() as tape:
            tape.watch([first, second])
            hidden = tf.nn.relu(tf.matmul(x, first, transpose_b=True))  # (M, 2B, H/2)
            logits = tf.matmul(hidden, 2.0 * second) + b2[:, None, :]
            ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits[:, :B]), axis=1)
            log_p = tf.nn.log_softmax(logits[:, B:])
            entropy = tf.reduce_mean(-tf.reduce_sum(tf.exp(log_p) * log_p, axis=-1), axis=1)
            loss = tf.reduce_sum(ce + delta * entropy)
        g_first, g_second, g_b2 = tape.gradient(loss, [first, second, b2])
        if log:  # the decay μ‖V(2,1)‖² (before this step's update) is only recorded; its gradient is in the update
            decay = tf.reduce_sum(tf.reshape(tf.square(units_in * weight_columns), (M, -1)), axis=1)
        else:
            decay = tf.zeros_like(ce)
        apply_update(rows_kept, tf.reshape(g_first, (-1, n_in + 1)), tf.reshape(g_second, (-1, 2)), g_b2, t)
        return tf.stack([ce, entropy, decay], axis=1)

    curves = []
    for t in range(config.steps):
        log = t % config.log_every == 0 or t == config.steps - 1
        terms = step(tf.constant(t, tf.int64), log)
        if log:
            curves.append(terms.numpy())
    per_unit = units_in.numpy().reshape(M, H, n_in + 1)
    ensemble = Ensemble(w1=np.ascontiguousarray(per_unit[:, :, :n_in].transpose(0, 2, 1)), b1=per_unit[:, :, n_in].copy(),
                        w2=units_out.numpy().reshape(M, H, 2), b2=b2.numpy(), members=members,
                        curves=np.stack(curves), config={**asdict(config), "n_in": n_in})
    test_x = data.td_x[np.stack(test_idx)]  # (M, n_test, n_in)
    predicted = np.argmax(ensemble.logits_per_member(test_x), axis=-1)
    truth = np.take_along_axis(data.td_y, np.stack(test_idx), axis=1) if per_member_labels else data.td_y[np.stack(test_idx)]
    ensemble.test_accuracy = (predicted == truth).mean(axis=1)
    return ensemble
