"""Confidence-optimized neural-network ensembles (Sec. II, IV and Appendices A-C of the paper).

Network, Eq. (7): x (n1 inputs) → ReLU(V⁽²¹⁾x + a⁽²⁾) (n2 hidden units, default 1024) → Softmax of
V⁽³²⁾h + a⁽³⁾ over the two classes (0 = ETH, 1 = MBL). Weights and biases start from N(0, 0.1²)
(Appendix B specifies the weights; the biases are drawn alike). During training each step uses
exactly half of the hidden units, a fresh random half per step (the paper's projector P; inverted
scaling by 2, as TensorFlow's dropout does, keeps inference dropout-free).
``hidden_layers = 2`` (Appendix A, input b) inserts further ReLU layers of n2 units each, every hidden
layer with the same dropout; the weight decay stays on V⁽²¹⁾ only. That network trains on a plain
masked (not gathered) path, :func:`_train_deep`.

Cost, Eq. (8), per network and step (``cost_reduction="sum"``, the default, as printed in the paper):
    Σ_{x ∈ TD batch} CE(x)          (cross entropy over a batch of 100 labelled spectra)
  + δ · Σ_{x ∈ TR batch} H(x)       (Shannon entropy of the output on a batch of 100 unlabelled spectra)
  + μ · ‖V⁽²¹⁾‖²                    (sum of squares of the first-layer weights only).
``cost_reduction="mean"`` replaces both sums by batch means, which is the same as the sums with μ
multiplied by the batch size B: the decay is then B = 100 times stronger relative to the data terms
than in Eq. (8) (measured: h̄_c moves by about +0.5 at N = 12; docs/physics.md). This is the one place
where the convention is applied (:func:`_data_scale`).

Optimizer: plain gradient descent, Eq. (4), with λ = 1e-4 (Appendix B) by default; Adam is the named
fast option (``optimizer="adam"``).

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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from mblnn import streams
from mblnn.store.atomic import atomic_write
from mblnn.schema import default
from mblnn.errors import InputError

ETH, MBL = 0, 1
#: the keys of a variant's training section that configure the trainer
TRAINING_KEYS = ("n_hidden", "hidden_layers", "steps", "batch", "delta", "mu", "cost_reduction", "optimizer", "learning_rate",
                 "init_std", "seed")
_MASK32 = 0xFFFFFFFF


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters of Eq. (7)/(8) and of the optimizer; the defaults are the config schema's (the paper's,
    Appendix B), read from it."""

    n_hidden: int = default("training.n_hidden")
    hidden_layers: int = default("training.hidden_layers")
    steps: int = default("training.steps")
    batch: int = default("training.batch")
    delta: float = default("training.variants")["main"]["delta"]
    mu: float = default("training.variants")["main"]["mu"]
    cost_reduction: str = default("training.cost_reduction")
    optimizer: str = default("training.optimizer")
    #: the schema's step, or with its ``auto`` the largest step of the scan's grid (mblnn.learn.train.train_at_chosen_step)
    learning_rate: float = (default("training.learning_rate") if default("training.learning_rate") != "auto"
                            else max(default("training.step_scan.grid")))
    init_std: float = default("training.init_std")
    seed: int = default("training.seed")
    log_every: int = 10  # steps between recorded cost terms (not a physics setting)

    @classmethod
    def from_training(cls, training: dict, log_every: int = 10) -> "TrainingConfig":
        """From a variant's resolved ``training`` section (:func:`mblnn.config.variant_training`)."""
        return cls(**{name: training[name] for name in TRAINING_KEYS}, log_every=log_every)

    def validated(self) -> "TrainingConfig":
        for name in ("n_hidden", "hidden_layers", "steps", "batch", "log_every"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"training.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.n_hidden % 2:
            raise InputError(f"training.n_hidden must be even (half the units are dropped), got {self.n_hidden}")
        if self.optimizer not in ("adam", "sgd"):
            raise InputError(f"training.optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.cost_reduction not in ("sum", "mean"):
            raise InputError(f"training.cost_reduction must be 'sum' (Eq. 8) or 'mean', got {self.cost_reduction!r}")
        for name in ("delta", "mu"):
            if getattr(self, name) < 0:
                raise InputError(f"training.{name} must be >= 0, got {getattr(self, name)!r}")
        return self


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
    return int(streams.sequence(seed, "member", member).generate_state(1, np.uint32)[0]) & 0x7FFFFFFF


def member_rng(seed: int, member: int) -> np.random.Generator:
    """Host-side generator of member ``member`` (initial weights, train/test split)."""
    return streams.generator(seed, "member_init", member)


@dataclass
class Ensemble:
    """Trained networks, stacked: ``w1 (M, n_in, n2)``, ``b1 (M, n2)``, ``w2 (M, n2, 2)``, ``b2 (M, 2)``.

    ``members`` are the member indices (their seeds), ``test_accuracy (M,)`` η on each member's own
    test half, ``curves (n_logged, M, 3)`` the cost terms every ``log_every`` steps: the batch's cross
    entropy and output entropy (summed or averaged over the batch as ``cost_reduction`` says, δ not
    applied) and ‖V⁽²¹⁾‖² (μ not applied); ``config`` the training configuration.
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    members: np.ndarray
    test_accuracy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    curves: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 3)))
    config: dict = field(default_factory=dict)
    hidden_w: tuple = ()  # further hidden layers (Appendix A b): (M, n2, n2) each
    hidden_b: tuple = ()  # and their biases (M, n2)

    def _logits(self, x: np.ndarray) -> np.ndarray:
        """Logits ``(M, n, 2)`` from inputs ``x`` of shape ``(n, n_in)`` (shared) or ``(M, n, n_in)``
        (one set per member); batched matmuls (BLAS), the activations updated in place."""
        hidden = np.matmul(x, self.w1)
        hidden += self.b1[:, None, :]
        np.maximum(hidden, 0, out=hidden)
        for w, b in zip(self.hidden_w, self.hidden_b):
            hidden = np.matmul(hidden, w)
            hidden += b[:, None, :]
            np.maximum(hidden, 0, out=hidden)
        return np.matmul(hidden, self.w2) + self.b2[:, None, :]

    def confidences(self, features: np.ndarray, chunk: int = 64) -> np.ndarray:
        """MBL confidence of every member for every spectrum, shape ``(M, n)`` (all hidden units).

        Small chunks keep the activations (M · chunk · n2 floats) in cache: ``bench/classify.py`` measures
        chunks of 64 against 1024 and against the previous einsum formulation."""
        out = []
        for start in range(0, len(features), chunk):
            logits = self._logits(np.asarray(features[start:start + chunk], dtype=np.float32))
            out.append(1.0 / (1.0 + np.exp(logits[..., ETH] - logits[..., MBL])))
        return np.concatenate(out, axis=1) if out else np.zeros((len(self.members), 0), np.float32)

    def logits_per_member(self, features: np.ndarray) -> np.ndarray:
        """Output logits ``(M, n, 2)`` of member m on its own inputs ``features[m]`` of shape ``(M, n, n_in)``."""
        return self._logits(np.asarray(features, dtype=np.float32))

    #: the per-member arrays (the member axis is 0, of ``curves`` 1)
    MEMBER_ARRAYS = ("w1", "b1", "w2", "b2", "members", "test_accuracy", "curves")

    def with_members_replaced(self, positions: Sequence[int], other: "Ensemble") -> "Ensemble":
        """This ensemble with its members at ``positions`` replaced by the members of ``other`` (in order: weights,
        member indices, accuracies and cost curves); the configuration is this ensemble's."""
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions) != len(other.members):
            raise ValueError(f"{len(positions)} positions for {len(other.members)} replacing members")

        def put(mine: np.ndarray, theirs: np.ndarray, axis: int = 0) -> np.ndarray:
            merged = np.array(mine, copy=True)
            index = [slice(None)] * merged.ndim
            index[axis] = positions
            merged[tuple(index)] = theirs
            return merged

        arrays = {name: put(getattr(self, name), getattr(other, name), 1 if name == "curves" else 0)
                  for name in self.MEMBER_ARRAYS}
        return Ensemble(**arrays, config=dict(self.config),
                        hidden_w=tuple(put(w, o) for w, o in zip(self.hidden_w, other.hidden_w)),
                        hidden_b=tuple(put(b, o) for b, o in zip(self.hidden_b, other.hidden_b)))

    def diverged(self) -> np.ndarray:
        """Per member, whether its training diverged, shape ``(M,)``: a recorded cost term or a weight is not finite, or
        the batch cross entropy rose above its value at the start (an untrained network's) in the second half of the
        training. Measured (docs/results.md section 9): never in the 100 networks of the default campaign (N = 8-12,
        gradient descent at 1e-4), in 14 of 50 at N = 14's half chain with the same step, whose cross entropy spiked to
        10-44,000 times its start; those networks still classified their test halves (eta >= 0.996) but disagreed on
        the transition region (pairs flipped 0.22)."""
        bad = ~np.isfinite(self.curves).all(axis=(0, 2)) if self.curves.size else np.zeros(len(self.members), bool)
        if len(self.curves) > 1:
            cross_entropy = self.curves[:, :, 0]
            with np.errstate(invalid="ignore"):
                bad |= (cross_entropy[len(cross_entropy) // 2:] > cross_entropy[0]).any(axis=0)
        for weights in (self.w1, self.b1, self.w2, self.b2, *self.hidden_w, *self.hidden_b):
            bad |= ~np.isfinite(weights.reshape(len(weights), -1)).all(axis=1)
        return bad

    def failed(self, min_accuracy: float) -> np.ndarray:
        """Positions of the members that failed: test accuracy η below ``min_accuracy`` (or not finite), or a diverged
        training (:meth:`diverged`)."""
        accuracy = np.asarray(self.test_accuracy, dtype=float)
        return np.flatnonzero(self.diverged() | ~(accuracy >= min_accuracy))

    def first(self, K: int) -> "Ensemble":
        """The first ``K`` members (weights only)."""
        return Ensemble(w1=self.w1[:K], b1=self.b1[:K], w2=self.w2[:K], b2=self.b2[:K], members=self.members[:K],
                        hidden_w=tuple(w[:K] for w in self.hidden_w), hidden_b=tuple(b[:K] for b in self.hidden_b))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the ensemble (weights, accuracies, curves, configuration) to an ``.npz``, atomically."""
        import json

        arrays = {k: getattr(self, k) for k in self.MEMBER_ARRAYS}
        for i, (w, b) in enumerate(zip(self.hidden_w, self.hidden_b)):
            arrays[f"hidden_w{i}"], arrays[f"hidden_b{i}"] = w, b
        arrays["config"] = np.asarray(json.dumps(self.config))

        def write(temporary):
            with open(temporary, "wb") as handle:
                np.savez(handle, **arrays)

        return atomic_write(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Ensemble":
        import json

        with np.load(path, allow_pickle=False) as archive:
            values = {k: archive[k] for k in archive.files if k != "config" and not k.startswith("hidden_")}
            layers = sum(1 for k in archive.files if k.startswith("hidden_w"))
            hidden_w = tuple(archive[f"hidden_w{i}"] for i in range(layers))
            hidden_b = tuple(archive[f"hidden_b{i}"] for i in range(layers))
            config = json.loads(str(archive["config"]))
        return cls(**values, config=config, hidden_w=hidden_w, hidden_b=hidden_b)


def categories(confidence: np.ndarray, threshold: float = default("analysis.threshold")) -> np.ndarray:
    """Appendix C: +1 MBL (confidence > threshold), -1 ETH (< 1 - threshold), 0 otherwise."""
    return np.where(confidence > threshold, 1, np.where(confidence < 1 - threshold, -1, 0)).astype(np.int8)


def deterministic_tensorflow():
    """TensorFlow, imported on first use (commands that never train stay fast) with deterministic ops: the same
    seeds give the same networks bit for bit."""
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
    slots = _optimizer_slots(tf, variables, config.optimizer)

    @tf.function(jit_compile=True)
    def update(rows, rows_in, rows_out, gradient_b2, step):
        gradients = (tf.tensor_scatter_nd_add(units_in * decay_gradient, rows, rows_in),
                     tf.scatter_nd(rows, rows_out, tf.shape(units_out, out_type=rows.dtype)), gradient_b2)
        _apply_update(tf, variables, gradients, slots, config.learning_rate, step)

    return update


#: Adam's constants: Keras's defaults and TensorFlow's fused-kernel formula
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-7


def _optimizer_slots(tf, variables, optimizer: str) -> list:
    """Adam's first and second moments per variable (zeros); none for plain gradient descent."""
    return [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in variables] if optimizer == "adam" else []


def _apply_update(tf, variables, gradients, slots, lr: float, step) -> None:
    """One optimizer step on ``variables``: plain gradient descent, Eq. (4), without ``slots``; Adam with them
    (bias-corrected step size at step ``step + 1``)."""
    if not slots:
        for variable, gradient in zip(variables, gradients):
            variable.assign_sub(lr * gradient)
        return
    t = tf.cast(step + 1, tf.float32)
    lr_t = lr * tf.sqrt(1.0 - tf.pow(ADAM_BETA2, t)) / (1.0 - tf.pow(ADAM_BETA1, t))
    for variable, (m, v), gradient in zip(variables, slots, gradients):
        m_new = m + (gradient - m) * (1.0 - ADAM_BETA1)
        v_new = v + (tf.square(gradient) - v) * (1.0 - ADAM_BETA2)
        m.assign(m_new)
        v.assign(v_new)
        variable.assign_sub(lr_t * m_new / (tf.sqrt(v_new) + ADAM_EPSILON))


def _data_scale(config: TrainingConfig) -> float:
    """Factor on the batch sums of the cross entropy and of the output entropy: 1 for Eq. (8) as
    printed (sums), 1/B for batch means (the μ term is never rescaled)."""
    return 1.0 if config.cost_reduction == "sum" else 1.0 / config.batch


def _data_terms(tf, logits, labels, batch: int, scale: float):
    """The data terms of Eq. (8) per member from ``logits (M, 2B, 2)`` (TD batch first, then TR) and
    the TD ``labels (M, B)``: ``scale`` · Σ cross entropy and ``scale`` · Σ output entropy, each ``(M,)``."""
    ce = scale * tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits[:, :batch]), axis=1)
    log_p = tf.nn.log_softmax(logits[:, batch:])
    return ce, scale * tf.reduce_sum(-tf.reduce_sum(tf.exp(log_p) * log_p, axis=-1), axis=1)


def _step_draws(tf, keys, t, batch: int, n_train: int, n_tr: int, n_hidden: int):
    """The random choices of step ``t`` for every member (functions of its key and t only):
    ``picks (M, B)`` positions in the member's training half, ``tr_rows (M, B)`` TR rows, and
    ``kept (M, H/2)`` the hidden units of this step's dropout (the H/2 largest hash values, unordered)."""
    picks = tf.cast(tf.floor(_hash_uniform(tf, keys, t, 0, batch) * n_train), tf.int64)
    tr_rows = tf.cast(tf.floor(_hash_uniform(tf, keys, t, 1, batch) * n_tr), tf.int64)
    kept = tf.math.top_k(_hash_uniform(tf, keys, t, 2, n_hidden), k=n_hidden // 2, sorted=False).indices
    return picks, tr_rows, kept


def step_draws(seed: int, member: int, step: int, batch: int, n_train: int, n_tr: int, n_hidden: int):
    """Numpy view of :func:`_step_draws` for one member (for checks against an independent computation)."""
    tf = deterministic_tensorflow()
    keys = tf.constant([member_key(seed, member)], tf.int64)
    picks, tr_rows, kept = _step_draws(tf, keys, tf.constant(step, tf.int64), batch, n_train, n_tr, n_hidden)
    return picks.numpy()[0], tr_rows.numpy()[0], kept.numpy()[0]


def initial_parameters(seed: int, member: int, n_in: int, n_hidden: int, n_td: int, init_std: float = 0.1,
                       hidden_layers: int = 1):
    """Member ``member``'s train/test split and initial weights, as :func:`train_ensemble` draws them:
    ``(train_idx, test_idx, [w1 (n_in, H), b1 (H,), w2 (H, 2), b2 (2,), then per further hidden layer
    w (H, H), b (H,)])``."""
    train, test, rng = member_split(seed, member, n_td)
    shapes = ((n_in, n_hidden), (n_hidden,), (n_hidden, 2), (2,)) + ((n_hidden, n_hidden), (n_hidden,)) * (hidden_layers - 1)
    weights = [rng.normal(0.0, init_std, size=s).astype(np.float32) for s in shapes]
    return train, test, weights


def member_split(seed: int, member: int, n_td: int) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """Member ``member``'s training and test halves of TD (indices; the first ``n_td // 2`` of a seeded permutation
    are the training half) and its generator, positioned where the initial weights are drawn next."""
    rng = member_rng(seed, member)
    order = rng.permutation(n_td)
    return order[: n_td // 2], order[n_td // 2:], rng


def accuracy(ensemble: "Ensemble", data: TrainingData, half: str = "train") -> np.ndarray:
    """Each member's accuracy on its own ``half`` ("train" or "test") of TD, shape ``(M,)``; the test half's is the η
    that :func:`train_ensemble` records, the training half's the error the step scan minimizes (Sec. II)."""
    seed, n_td = int(ensemble.config["seed"]), len(data.td_x)
    rows = np.stack([member_split(seed, int(m), n_td)[0 if half == "train" else 1] for m in ensemble.members])
    return _accuracy_on_rows(ensemble, data, rows)


#: A progress callback of :func:`train_ensemble`: ``progress(step, steps, terms)`` with ``terms (M, 3)``
#: the batch's cross entropy, output entropy and first-layer decay of each member at that step.
Progress = Callable[[int, int, np.ndarray], None]


def _progress_steps(config: TrainingConfig, reports: int = 10) -> set[int]:
    """The logged steps at which a progress callback is called: about ``reports`` evenly spaced, and the last."""
    logged = list(range(0, config.steps, config.log_every)) + [config.steps - 1]
    stride = max(1, len(logged) // reports)
    return set(logged[stride::stride]) | {config.steps - 1}


def _train_deep(data: TrainingData, members: np.ndarray, config: TrainingConfig,
                progress: Progress | None = None) -> "Ensemble":
    """:func:`train_ensemble` for ``hidden_layers >= 2`` (inputs checked there): the same cost, draws (batches from streams
    0 and 1, the dropout of hidden layer l from stream 2 + l), splits and optimizers, on masked dense
    layers. Slower per unit than the gathered single-layer path, and written for the few networks of
    Appendix A(b)."""
    tf = deterministic_tensorflow()
    n_td, n_in = data.td_x.shape
    n_train, H, L = n_td // 2, config.n_hidden, config.hidden_layers
    per_member_labels = np.ndim(data.td_y) == 2
    draws = [initial_parameters(config.seed, m, n_in, H, n_td, config.init_std, L) for m in members]
    train_idx, test_idx = np.stack([d[0] for d in draws]), np.stack([d[1] for d in draws])
    stacked = [np.stack([d[2][i] for d in draws]) for i in range(len(draws[0][2]))]
    # order: first layer (w1, b1), further hidden layers (w, b)…, output (w2, b2)
    params = [tf.Variable(a) for a in stacked[:2] + stacked[4:] + stacked[2:4]]
    keys = tf.constant([member_key(config.seed, m) for m in members], tf.int64)
    td_x, td_y, tr_x = tf.constant(data.td_x, tf.float32), tf.constant(data.td_y, tf.int32), tf.constant(data.tr_x, tf.float32)
    train_rows = tf.constant(train_idx, tf.int64)
    B, n_tr, scale, lr = config.batch, len(data.tr_x), _data_scale(config), config.learning_rate
    slots = _optimizer_slots(tf, params, config.optimizer)

    def mask(t, layer):
        kept = tf.math.top_k(_hash_uniform(tf, keys, t, 2 + layer, H), k=H // 2, sorted=False).indices
        return tf.reduce_sum(tf.one_hot(kept, H, dtype=tf.float32), axis=1) * 2.0  # (M, H), inverted scaling

    @tf.function
    def step(t):
        picks, tr_rows, _ = _step_draws(tf, keys, t, B, n_train, n_tr, H)
        rows = tf.gather(train_rows, picks, batch_dims=1)
        x = tf.concat([tf.gather(td_x, rows), tf.gather(tr_x, tr_rows)], axis=1)  # (M, 2B, n_in)
        labels = tf.gather(td_y, rows, batch_dims=1) if per_member_labels else tf.gather(td_y, rows)
        with tf.GradientTape() as tape:
            h = x
            for layer in range(L):
                h = tf.nn.relu(tf.matmul(h, params[2 * layer]) + params[2 * layer + 1][:, None, :]) * mask(t, layer)[:, None, :]
            logits = tf.matmul(h, params[-2]) + params[-1][:, None, :]
            ce, entropy = _data_terms(tf, logits, labels, B, scale)
            decay = tf.reduce_sum(tf.square(params[0]), axis=[1, 2])
            loss = tf.reduce_sum(ce + config.delta * entropy + config.mu * decay)
        _apply_update(tf, params, tape.gradient(loss, params), slots, lr, t)
        return tf.stack([ce, entropy, decay], axis=1)

    curves, reports = [], _progress_steps(config) if progress else set()
    for t in range(config.steps):
        terms = step(tf.constant(t, tf.int64))
        if t % config.log_every == 0 or t == config.steps - 1:
            curves.append(terms.numpy())
            if t in reports:
                progress(t + 1, config.steps, curves[-1])
    values = [p.numpy() for p in params]
    ensemble = Ensemble(w1=values[0], b1=values[1], w2=values[-2], b2=values[-1], members=members,
                        hidden_w=tuple(values[2:-2:2]), hidden_b=tuple(values[3:-2:2]),
                        curves=np.stack(curves), config={**asdict(config), "n_in": n_in})
    ensemble.test_accuracy = _accuracy_on_rows(ensemble, data, test_idx)
    return ensemble


def train_ensemble(data: TrainingData, members: Sequence[int], config: TrainingConfig | None = None,
                   progress: Progress | None = None) -> Ensemble:
    """Train one network per member index in ``members`` on ``data`` (see the module docstring).

    Each member splits TD 50/50 into its own training and test halves (seeded by ``config.seed``
    and its index) and reports its test accuracy η. ``progress``, if given, is called about ten
    times during training (:data:`Progress`); it only reads the logged cost terms.
    """
    config = (config or TrainingConfig()).validated()
    members = np.asarray(list(members), dtype=np.int64)
    if members.size == 0 or np.unique(members).size != members.size:
        raise InputError("members must be distinct member indices, at least one")
    n_td, n_in = data.td_x.shape
    n_train = n_td // 2
    if n_train < 1 or n_td - n_train < 1:
        raise InputError(f"TD holds {n_td} spectra: too few to split into training and test halves")
    M = len(members)
    per_member_labels = np.ndim(data.td_y) == 2
    if per_member_labels and len(data.td_y) != M:
        raise InputError(f"TD has {len(data.td_y)} labellings for {M} members")
    if config.hidden_layers > 1:
        return _train_deep(data, members, config, progress)
    tf = deterministic_tensorflow()
    H = config.n_hidden
    inits, train_idx, test_idx = [], [], []
    for m in members:
        train, test, weights = initial_parameters(config.seed, m, n_in, H, n_td, config.init_std)
        train_idx.append(train)
        test_idx.append(test)
        inits.append(weights)
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

    scale = _data_scale(config)

    @tf.function  # the whole step under XLA was slower (6.9 s vs 5.1 s on bench/train.py --quick); only the update is
    def step(t, log: bool):
        picks, tr_rows, kept = _step_draws(tf, keys, t, B, n_train, n_tr, H)
        rows = tf.gather(train_rows, picks, batch_dims=1)  # (M, B)
        x = tf.concat([tf.gather(td_x, rows), tf.gather(tr_x, tr_rows)], axis=1)  # (M, 2B, n_in)
        x = tf.concat([x, tf.ones_like(x[:, :, :1])], axis=2)  # a column of ones carries the bias
        labels = tf.gather(td_y, rows, batch_dims=1) if per_member_labels else tf.gather(td_y, rows)
        rows_kept = tf.reshape(kept + row_offset, [-1, 1])
        # A dropped unit contributes nothing to the output and receives no gradient (ReLU(0) = 0),
        # so the step runs on the kept half only (inverted scaling by 2 on the output weights).
        first = tf.reshape(tf.gather_nd(units_in, rows_kept), (-1, H // 2, n_in + 1))
        second = tf.reshape(tf.gather_nd(units_out, rows_kept), (-1, H // 2, 2))
        with tf.GradientTape() as tape:
            tape.watch([first, second])
            hidden = tf.nn.relu(tf.matmul(x, first, transpose_b=True))  # (M, 2B, H/2)
            logits = tf.matmul(hidden, 2.0 * second) + b2[:, None, :]
            ce, entropy = _data_terms(tf, logits, labels, B, scale)
            loss = tf.reduce_sum(ce + delta * entropy)
        g_first, g_second, g_b2 = tape.gradient(loss, [first, second, b2])
        if log:  # the decay μ‖V(2,1)‖² (before this step's update) is only recorded; its gradient is in the update
            decay = tf.reduce_sum(tf.reshape(tf.square(units_in * weight_columns), (M, -1)), axis=1)
        else:
            decay = tf.zeros_like(ce)
        apply_update(rows_kept, tf.reshape(g_first, (-1, n_in + 1)), tf.reshape(g_second, (-1, 2)), g_b2, t)
        return tf.stack([ce, entropy, decay], axis=1)

    curves, reports = [], _progress_steps(config) if progress else set()
    for t in range(config.steps):
        log = t % config.log_every == 0 or t == config.steps - 1
        terms = step(tf.constant(t, tf.int64), log)
        if log:
            curves.append(terms.numpy())
            if t in reports:
                progress(t + 1, config.steps, curves[-1])
    per_unit = units_in.numpy().reshape(M, H, n_in + 1)
    ensemble = Ensemble(w1=np.ascontiguousarray(per_unit[:, :, :n_in].transpose(0, 2, 1)), b1=per_unit[:, :, n_in].copy(),
                        w2=units_out.numpy().reshape(M, H, 2), b2=b2.numpy(), members=members,
                        curves=np.stack(curves), config={**asdict(config), "n_in": n_in})
    ensemble.test_accuracy = _accuracy_on_rows(ensemble, data, np.stack(test_idx))
    return ensemble


def _accuracy_on_rows(ensemble: "Ensemble", data: TrainingData, test_idx: np.ndarray) -> np.ndarray:
    """Accuracy of each member on its own rows ``test_idx (M, n_rows)`` of TD (η on its test half), shape ``(M,)``."""
    predicted = np.argmax(ensemble.logits_per_member(data.td_x[test_idx]), axis=-1)
    truth = np.take_along_axis(data.td_y, test_idx, axis=1) if np.ndim(data.td_y) == 2 else data.td_y[test_idx]
    return (predicted == truth).mean(axis=1)
