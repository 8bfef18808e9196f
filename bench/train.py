"""Ensemble training benchmark, measured in one run.

    python bench/train.py            # 50 members, n1 = 35, n2 = 1024, 3500 steps, batches 100 + 100
    python bench/train.py --quick    # 50 members, 300 steps (a smoke run)

Prints the wall time of
  (a) sequential Keras `fit` of one member with the same cost (Eq. 8, custom train_step), measured on
      2 members and extrapolated to the ensemble;
  (b) mblnn.learn.network.train_ensemble, all members as one compiled program;
  (c) the arithmetic floor: the five batched matmuls per step (forward of both layers, gradients of
      both weight matrices and of the hidden activations) of the same shapes, nothing else;
and the ratios (b)/(c) (target ≤ 1.5) and (a)/(b) (target ≥ 5). Synthetic inputs: timing does not
depend on the values.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def synthetic_data(n_in: int, n: int = 4000):
    from mblnn.learn.network import TrainingData

    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(n // 2, int), np.ones(n // 2, int)]
    td = (rng.normal(size=(n, n_in)) + labels[:, None]).astype(np.float32)
    return TrainingData(td_x=td, td_y=labels, tr_x=rng.normal(size=(n, n_in)).astype(np.float32) + 0.5)


def keras_one_member(data, config, member: int) -> float:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(member)
    init = tf.keras.initializers.RandomNormal(stddev=config.init_std)

    class Member(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = tf.keras.layers.Dense(config.n_hidden, activation="relu", kernel_initializer=init, bias_initializer=init)
            self.dropout = tf.keras.layers.Dropout(0.5)
            self.out = tf.keras.layers.Dense(2, kernel_initializer=init, bias_initializer=init)

        def call(self, x, training=False):
            return self.out(self.dropout(self.hidden(x), training=training))

        def train_step(self, batch):
            (x_td, y_td), x_tr = batch
            with tf.GradientTape() as tape:
                logits = self(tf.concat([x_td, x_tr], axis=0), training=True)
                n = tf.shape(x_td)[0]
                ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_td, logits=logits[:n]))
                log_p = tf.nn.log_softmax(logits[n:])
                entropy = tf.reduce_mean(-tf.reduce_sum(tf.exp(log_p) * log_p, axis=-1))
                loss = ce + config.delta * entropy + config.mu * tf.reduce_sum(tf.square(self.hidden.kernel))
            self.optimizer.apply_gradients(zip(tape.gradient(loss, self.trainable_variables), self.trainable_variables))
            return {"loss": loss}

    model = Member()
    model.compile(optimizer=tf.keras.optimizers.Adam(config.learning_rate))
    td = tf.data.Dataset.from_tensor_slices((data.td_x, data.td_y)).shuffle(len(data.td_x), seed=member).repeat().batch(config.batch)
    tr = tf.data.Dataset.from_tensor_slices(data.tr_x).shuffle(len(data.tr_x), seed=member).repeat().batch(config.batch)
    start = time.perf_counter()
    model.fit(tf.data.Dataset.zip((td, tr)), steps_per_epoch=config.steps, epochs=1, verbose=0)
    return time.perf_counter() - start


def matmul_floor(members: int, n_in: int, config) -> float:
    import tensorflow as tf

    B = 2 * config.batch
    x = tf.random.normal((members, B, n_in))
    w1 = tf.random.normal((members, n_in, config.n_hidden))
    w2 = tf.random.normal((members, config.n_hidden, 2))
    dz = tf.random.normal((members, B, 2))

    @tf.function
    def step():
        h = tf.matmul(x, w1)                            # forward, layer 1
        z = tf.matmul(h, w2)                            # forward, layer 2
        dw2 = tf.matmul(h, dz + z * 0, transpose_a=True)  # dL/dW2
        dh = tf.matmul(dz, w2, transpose_b=True)         # dL/dh
        dw1 = tf.matmul(x, dh, transpose_a=True)         # dL/dW1
        return tf.reduce_sum(dw1[:, 0, 0]) + tf.reduce_sum(dw2[:, 0, 0])

    step()
    start = time.perf_counter()
    for _ in range(config.steps):
        value = step()
    value.numpy()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from mblnn.learn.network import TrainingConfig, train_ensemble

    members, steps = (50, 300) if args.quick else (50, 3500)
    n_in = 35
    # Adam on batch means, as the Keras baseline (a) implements it; the default (SGD on sums) costs the same per step
    config = TrainingConfig(n_hidden=1024, steps=steps, batch=100, seed=1, log_every=100, optimizer="adam", cost_reduction="mean")
    data = synthetic_data(n_in)
    keras = [keras_one_member(data, config, m) for m in range(2)]
    t_keras = float(np.mean(keras)) * members
    start = time.perf_counter()
    train_ensemble(data, range(members), config)
    t_ensemble = time.perf_counter() - start
    t_floor = matmul_floor(members, n_in, config)
    print(f"{members} members, n1 = {n_in}, n2 = {config.n_hidden}, {steps} steps, batches {config.batch} + {config.batch}")
    print(f"(a) Keras fit, sequential:   {t_keras:8.1f} s  ({keras[0]:.1f} s and {keras[1]:.1f} s per member, x{members})")
    print(f"(b) vectorized ensemble:     {t_ensemble:8.1f} s")
    print(f"(c) batched-matmul floor:    {t_floor:8.1f} s")
    print(f"(b)/(c) = {t_ensemble / t_floor:.2f}   (a)/(b) = {t_keras / t_ensemble:.1f}")


if __name__ == "__main__":
    main()
