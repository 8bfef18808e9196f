"""The cost model of the learning jobs: memory (bytes) and wall time (seconds) of training, classifying, dreaming
and learning by confusion, from the number of spectra they read, the network's input length and its size. The
workflow's per-job requests (``mem_mb``, ``runtime``) read it, as the solvers' requests read
:mod:`mblnn.solve.cost`.

Anchors measured on 2 cores (docs/benchmarks.md, docs/cluster.md):

* training, 50 networks, n_in = 35, n2 = 1024, 3500 steps, batches 100 + 100: 51.3 s (``bench/train.py``); the
  step is mostly memory-bound updates of the M × n_in × n2 first layer, so time ~ steps × M × n_in × n2;
* TensorFlow's resident set for an N = 12 training job (50 networks, n2 = 1024): 0.79 GB (``/usr/bin/time -v``),
  whatever the data; the features add 4 bytes per input level and spectrum, held about twice while concatenated;
* classifying, 50 networks, n2 = 1024: 0.070 s for 924 spectra of n_in = 10 (``bench/classify.py``), so
  time ~ spectra × n_in × M × n2, plus reading each store (~0.05 s).
"""

from __future__ import annotations

from math import ceil

from mblnn.learn.features import paper_n1

TENSORFLOW_BYTES = 0.79e9
_TRAIN_SECONDS, _TRAIN_UNITS = 51.3, 3500 * 50 * 35 * 1024
_CLASSIFY_SECONDS, _CLASSIFY_UNITS = 0.070, 924 * 10 * 50 * 1024
_READ_SECONDS_PER_SAMPLE = 0.05
#: bytes per feature in memory (float32) times the copies made while a training set is assembled
_FEATURE_BYTES = 4 * 2


def input_length(N: int, N_A: int, fraction: float) -> int:
    """Input levels per spectrum: the lowest ⌈fraction · n1⌉ of the largest block (:func:`paper_n1`)."""
    return max(1, ceil(fraction * paper_n1(N, N_A)))


def features_bytes(spectra: int, n_in: int) -> int:
    """Memory of ``spectra`` input vectors of length ``n_in`` while they are assembled."""
    return int(spectra * n_in * _FEATURE_BYTES)


def train_memory_bytes(spectra: int, n_in: int, members: int, n_hidden: int) -> int:
    """Peak memory of training ``members`` networks on features of ``spectra`` spectra: TensorFlow, the features and
    per network the weights with their gradient and two Adam moments (float32)."""
    weights = members * (n_in + 2) * n_hidden * 4 * 4
    return int(TENSORFLOW_BYTES + features_bytes(spectra, n_in) + weights)


def train_member_steps(training: dict) -> int:
    """Optimizer steps summed over the networks of one training job (a variant's resolved ``training`` section):
    members × steps, and with ``learning_rate: auto`` the step scan at its worst (every step of the grid tried on
    the whole ensemble, every step but the smallest first on ``step_scan.members`` networks). Retrainings of failed networks are not
    counted (a job that runs out of time is retried with twice the time)."""
    from mblnn.learn.train import scan_steps

    members, steps = training["members"], training["steps"]
    if training["learning_rate"] != "auto":
        return members * steps
    scan = training["step_scan"]
    grid = sorted(scan["grid"], reverse=True)
    per_step = [scan_steps(steps, rate, grid[0], scan["max_steps"]) for rate in grid]
    return min(scan["members"], members) * sum(per_step[:-1]) + members * sum(per_step)


def train_seconds(steps: int, members: int, n_in: int, n_hidden: int, samples: int = 0) -> float:
    """Wall time of training (and reading ``samples`` stores first)."""
    return _TRAIN_SECONDS * steps * members * n_in * n_hidden / _TRAIN_UNITS + _READ_SECONDS_PER_SAMPLE * samples


def classify_memory_bytes(spectra_per_sample: int, n_in: int, members: int, samples: int = 1) -> int:
    """Peak memory of classifying: TensorFlow, one sample's features with every network's confidences, and the
    block of ``samples`` samples gathered for one shard of the store (:func:`mblnn.learn.classify.classification_block`:
    float32 confidences, two float32 and three float64 values and a category byte per state)."""
    from mblnn.learn.classify import classification_block

    block = classification_block(samples, members, spectra_per_sample)
    buffers = block * spectra_per_sample * (4 * members + 2 * 4 + 3 * 8 + 1)
    return int(TENSORFLOW_BYTES + features_bytes(spectra_per_sample, n_in) + 8 * spectra_per_sample * members + buffers)


def classify_seconds(spectra: int, samples: int, n_in: int, members: int, n_hidden: int) -> float:
    """Wall time of the forward passes of ``members`` networks over ``spectra`` spectra in ``samples`` stores."""
    return _CLASSIFY_SECONDS * spectra * n_in * members * n_hidden / _CLASSIFY_UNITS + _READ_SECONDS_PER_SAMPLE * samples


def dream_seconds(steps: int, networks: int, n_in: int, n_hidden: int, samples: int) -> float:
    """Wall time of dreaming: gradient steps on one input through ``networks`` networks (a batch of one, so the
    training anchor per step and network, at batch 1 instead of 200, is an upper bound)."""
    return train_seconds(steps, networks, n_in, n_hidden, samples)
