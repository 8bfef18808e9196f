"""Deterministic random fields of the chain.

A disorder realization is a pattern ``u_r``, r = 1..N, fixed by the triple (campaign seed, N, realization index)
through :class:`numpy.random.SeedSequence` with ``spawn_key=(N, realization)`` (:func:`mblnn.streams.generator`).
The fields at disorder strength h̄ are ``h_r = h̄ u_r``. The pattern's distribution (``model.fields``):

* ``uniform`` (the paper's): u_r uniform in [-1, 1), so h_r is uniform in [-h̄, h̄);
* ``gaussian``: u_r standard normal (h̄ is the fields' standard deviation);
* ``quasiperiodic`` (Aubry–André): u_r = cos(2π β r + φ) with one phase φ uniform in [0, 2π) drawn from the
  realization's stream (β = ``model.beta``, by default the inverse golden ratio (√5 − 1)/2); "realizations" are
  phases.

For every distribution,

* the same triple always gives bit-identical fields, on every machine and every MPI rank
  (every rank must draw the same disorder: compute the fields, never broadcast a random state);
* the draws do not depend on the h̄ grid: the same realization index at two values of h̄ is the same
  disorder pattern rescaled, the "single disorder realization" mode of Sec. V B of the paper, and
  fields at 2h̄ are exactly twice those at h̄ (scaling by 2 is exact in binary floating point);
* adding realizations or h̄ values to a campaign never changes existing samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mblnn import streams
from mblnn.errors import InputError
from mblnn.hbar import check_hbar
from mblnn.schema import default

#: the distributions of the field pattern u_r (``model.fields``)
FIELD_DISTRIBUTIONS = ("uniform", "gaussian", "quasiperiodic")


def check_seed_and_realization(seed: int, realization: int) -> None:
    """Validate a campaign seed and a realization index (non-negative integers), naming the bad one."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got seed={seed!r}")
    if not isinstance(realization, (int, np.integer)) or realization < 0:
        raise InputError(f"realization must be a non-negative integer, got realization={realization!r}")


def disorder_draws(seed: int, N: int, realization: int) -> np.ndarray:
    """Uniform draws ``u_r`` in [-1, 1), shape ``(N,)``, for one realization (independent of h̄)."""
    check_seed_and_realization(seed, realization)
    return streams.generator(seed, "disorder", N, realization).uniform(-1.0, 1.0, size=int(N))


def field_pattern(seed: int, N: int, realization: int, distribution: str = default("model.fields"),
                  beta: float = default("model.beta")) -> np.ndarray:
    """The pattern ``u_r`` of one realization, shape ``(N,)``, drawn from ``distribution`` (module docstring;
    ``beta`` is read for ``quasiperiodic`` only)."""
    if distribution == "uniform":
        return disorder_draws(seed, N, realization)
    check_seed_and_realization(seed, realization)
    stream = streams.generator(seed, "disorder", N, realization)
    if distribution == "gaussian":
        return stream.standard_normal(size=int(N))
    if distribution == "quasiperiodic":
        phase = stream.uniform(0.0, 2 * np.pi)
        return np.cos(2 * np.pi * float(beta) * np.arange(1, int(N) + 1) + phase)
    raise InputError(f"model.fields must be one of {FIELD_DISTRIBUTIONS}, got {distribution!r}")


def random_fields(seed: int, N: int, realization: int, hbar: float, distribution: str = default("model.fields"),
                  beta: float = default("model.beta")) -> np.ndarray:
    """Fields ``h_r = h̄ u_r`` (units of J), shape ``(N,)``; for the default ``uniform`` distribution uniform in
    [-h̄, h̄)."""
    hbar = check_hbar(hbar)
    return hbar * field_pattern(seed, N, realization, distribution, beta)


def explicit_fields(fields: Sequence[float], N: int) -> np.ndarray:
    """Validate user-given fields h_1..h_N (units of J) and return them as a float array ``(N,)``."""
    array = np.asarray(fields, dtype=np.float64).reshape(-1)
    if array.size != N:
        raise InputError(f"fields must hold one value per site: got {array.size} values for N={N}")
    if not np.all(np.isfinite(array)):
        raise InputError("fields must be finite numbers")
    return array
