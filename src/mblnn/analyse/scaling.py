"""Finite-size analysis of disorder-averaged curves y(h̄) per chain length N: crossings, threshold
lines and scaling collapse, with bootstrap errors over disorder realizations (and ensemble members).

Conventions. A *curve* is a function of the disorder strength h̄ on a sorted grid ``hbar (H,)``.
Per-realization data come as ``values (R, H)`` (R realizations; NaN where a sample is missing) or, for
network outputs, ``(R, M, H)`` (M ensemble members): the curve is the mean over realizations (and
members). Bootstrap replicas resample realizations with replacement — independently per N, because
the disorder of different N is independent — and, when present, members (one member draw per
replica and N, since the members are the networks of one ensemble per N).

* :func:`curve_crossing` — where two curves cross (the r-crossing of consecutive N, Luitz et al.
  PRB 91, 081103 (2015)), with linear interpolation between grid points.
* :func:`level_crossing` — where one curve crosses a level (the network's 50 % line).
* :func:`fit_scaling_collapse` — h̄_c and ν of the form y = f((h̄ - h̄_c) N^{1/ν}), f a polynomial.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mblnn import streams as random_streams
from mblnn.errors import InputError


def _sign_change(hbar: np.ndarray, difference: np.ndarray, falling: bool) -> float:
    """h̄ of the sign change of ``difference`` (+ → − if ``falling``, else − → +), linearly
    interpolated; among several changes (noise) the one that best splits the curve into a part of
    the expected sign before and after it (largest cumulative-sum contrast); NaN if there is none."""
    keep = np.isfinite(difference)
    h, d = np.asarray(hbar, float)[keep], np.asarray(difference, float)[keep]
    if not falling:
        d = -d
    if d.size < 2:
        return float("nan")
    candidates = np.flatnonzero((d[:-1] > 0) & (d[1:] <= 0))
    if candidates.size == 0:
        return float("nan")
    before = np.cumsum(d)
    contrast = before[candidates] - (before[-1] - before[candidates])
    i = int(candidates[np.argmax(contrast)])
    return float(h[i] + d[i] * (h[i + 1] - h[i]) / (d[i] - d[i + 1]))


def curve_crossing(hbar: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    """h̄ where ``first (H,)`` falls below ``second (H,)`` (both on ``hbar (H,)``): for the mean gap
    ratio, ``first`` is the larger N (closer to GOE on the ergodic side, to Poisson on the localized
    side). Linear interpolation between grid points; NaN if the curves do not cross that way."""
    return _sign_change(hbar, np.asarray(first) - np.asarray(second), falling=True)


def level_crossing(hbar: np.ndarray, curve: np.ndarray, level: float = 0.5) -> float:
    """h̄ where the rising ``curve (H,)`` (e.g. the mean MBL confidence) passes ``level``; NaN if never."""
    return _sign_change(hbar, np.asarray(curve) - level, falling=False)


def _mean_curve(values: np.ndarray, realizations: np.ndarray | None = None, members: np.ndarray | None = None) -> np.ndarray:
    values = np.asarray(values, float)
    if realizations is not None:
        values = values[realizations]
    if values.ndim == 3:
        if members is not None:
            values = values[:, members]
        values = np.nanmean(values, axis=1)
    return np.nanmean(values, axis=0)


def mean_and_sem(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over realizations (of the member mean, for ``(R, M, H)``), its standard error and the
    realization count, each ``(H,)``; the error is NaN where fewer than two realizations exist.
    Missing samples (NaN) are expected: their all-NaN warnings are silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per_realization = np.nanmean(values, axis=1) if values.ndim == 3 else values
        count = np.sum(np.isfinite(per_realization), axis=0)
        mean = np.nanmean(per_realization, axis=0)
        sem = np.nanstd(per_realization, axis=0, ddof=1) / np.sqrt(np.maximum(count, 1))
    return mean, np.where(count > 1, sem, np.nan), count


def _replicas(values: np.ndarray, replicas: int, rng: np.random.Generator):
    """Yield resampled (realizations, members) index arrays of one N's ``values``."""
    R = values.shape[0]
    M = values.shape[1] if values.ndim == 3 else None
    for _ in range(replicas):
        yield rng.integers(0, R, R), (rng.integers(0, M, M) if M else None)


@dataclass(frozen=True)
class Estimate:
    """A point estimate from the full data, its bootstrap standard deviation and the fraction of
    replicas in which it was defined (a crossing can vanish in a replica)."""

    value: float
    error: float
    found: float


def _summarize(value: float, samples: Sequence[float]) -> Estimate:
    samples = np.asarray(samples, float)
    finite = samples[np.isfinite(samples)]
    error = float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")
    return Estimate(value=float(value), error=error, found=float(finite.size / samples.size) if samples.size else float("nan"))


def bootstrap_crossing(hbar: np.ndarray, larger: np.ndarray, smaller: np.ndarray, replicas: int = 200,
                       seed: int = 0) -> Estimate:
    """Crossing of the mean curves of two chain lengths (``larger``, ``smaller``: ``(R, H)`` or
    ``(R, M, H)`` each) with its bootstrap error over realizations (and members)."""
    rng = random_streams.generator(seed, "crossing_bootstrap")
    value = curve_crossing(hbar, _mean_curve(larger), _mean_curve(smaller))
    samples = [curve_crossing(hbar, _mean_curve(larger, *a), _mean_curve(smaller, *b))
               for a, b in zip(_replicas(larger, replicas, rng), _replicas(smaller, replicas, rng))]
    return _summarize(value, samples)


def bootstrap_level_crossing(hbar: np.ndarray, values: np.ndarray, level: float = 0.5, replicas: int = 200,
                             seed: int = 0) -> Estimate:
    """Where the mean curve of ``values`` (``(R, H)`` or ``(R, M, H)``) passes ``level``, with its
    bootstrap error."""
    rng = random_streams.generator(seed, "level_crossing_bootstrap")
    value = level_crossing(hbar, _mean_curve(values), level)
    samples = [level_crossing(hbar, _mean_curve(values, *pick), level) for pick in _replicas(values, replicas, rng)]
    return _summarize(value, samples)


@dataclass(frozen=True)
class ScalingFit:
    """Result of :func:`fit_scaling_collapse`: critical field, exponent, the polynomial of the
    scaling function (coefficients, highest power first), χ² per degree of freedom (the mean
    squared residual when no errors were given), and whether the optimum sits on a bound of the
    search (h̄_c range or ν range): then the data did not determine it."""

    hbar_c: float
    nu: float
    coefficients: np.ndarray
    cost: float
    at_bound: bool = False


def _collapse_cost(params, hbar, size, y, weight, degree):
    hbar_c, log_nu = params
    with np.errstate(over="ignore"):
        x = (hbar - hbar_c) * size ** (1.0 / np.exp(log_nu))
    scale = np.max(np.abs(x)) or 1.0
    if not np.isfinite(scale):
        return float("inf"), np.full(degree + 1, np.nan)
    basis = np.vander(x / scale, degree + 1)
    try:
        coefficients, *_ = np.linalg.lstsq(basis * weight[:, None], y * weight, rcond=None)
    except np.linalg.LinAlgError:
        return float("inf"), np.full(degree + 1, np.nan)
    residual = (basis @ coefficients - y) * weight
    with np.errstate(over="ignore"):  # a far-off trial ν; its cost is what counts
        unscaled = coefficients / scale ** np.arange(degree, -1, -1)
    return float(residual @ residual) / max(len(y) - degree - 3, 1), unscaled


def fit_scaling_collapse(curves: Mapping[int, tuple[np.ndarray, np.ndarray]], degree: int = 3,
                         errors: Mapping[int, np.ndarray] | None = None, hbar_c_range: tuple[float, float] | None = None,
                         nu_range: tuple[float, float] = (0.2, 10.0), start: tuple[float, float] | None = None) -> ScalingFit:
    """Fit y(h̄, N) = f((h̄ - h̄_c) N^{1/ν}), f a polynomial of ``degree``, to ``curves`` {N: (hbar (H_N,),
    y (H_N,))} (only the points to fit: restrict h̄ to the transition window before calling).

    For fixed (h̄_c, ν) the polynomial is a linear least-squares fit (weighted by 1/``errors`` if
    given), so only h̄_c and ln ν are searched: a grid over ``hbar_c_range`` (default: the data's h̄
    span) × ``nu_range`` (log-spaced), refined by Nelder-Mead — or Nelder-Mead alone from ``start``
    (bootstrap replicas start from the full-data optimum). Needs at least two N.
    """
    from scipy.optimize import minimize

    if len(curves) < 2:
        raise InputError(f"a scaling collapse needs at least two chain lengths, got {sorted(curves)}")
    hbar, size, y, weight = [], [], [], []
    for N, (h, values) in sorted(curves.items()):
        h, values = np.asarray(h, float), np.asarray(values, float)
        sigma = np.asarray(errors[N], float) if errors is not None else np.ones_like(values)
        keep = np.isfinite(values) & np.isfinite(sigma) & (sigma > 0)
        hbar.append(h[keep]), size.append(np.full(keep.sum(), float(N))), y.append(values[keep]), weight.append(1.0 / sigma[keep])
    hbar, size, y, weight = map(np.concatenate, (hbar, size, y, weight))
    if len(y) < degree + 3:
        raise InputError(f"a scaling collapse of degree {degree} needs at least {degree + 3} points, got {len(y)}")

    def cost(params):
        return _collapse_cost(params, hbar, size, y, weight, degree)[0]

    low, high = hbar_c_range if hbar_c_range is not None else (hbar.min(), hbar.max())
    if start is None:
        grid = [(h_c, ln_nu) for h_c in np.linspace(low, high, 41) for ln_nu in np.linspace(*np.log(nu_range), 30)]
        start = grid[int(np.argmin([cost(p) for p in grid]))]
    else:
        start = (start[0], np.log(start[1]))
    bounds = [(min(low, start[0]), max(high, start[0])), tuple(np.log(nu_range))]
    result = minimize(cost, np.clip(np.asarray(start, float), *np.array(bounds).T), method="Nelder-Mead", bounds=bounds,
                      options={"xatol": 1e-6, "fatol": 1e-12, "maxiter": 4000})
    hbar_c, ln_nu = result.x
    ln_nu = float(np.clip(ln_nu, *np.log(nu_range)))
    value, coefficients = _collapse_cost((hbar_c, ln_nu), hbar, size, y, weight, degree)
    (h_low, h_high), (nu_low, nu_high) = bounds
    at_bound = bool(min(abs(hbar_c - h_low), abs(hbar_c - h_high)) < 1e-3 * max(1.0, abs(h_high - h_low))
                    or min(abs(ln_nu - nu_low), abs(ln_nu - nu_high)) < 1e-3)
    return ScalingFit(hbar_c=float(hbar_c), nu=float(np.exp(ln_nu)), coefficients=coefficients, cost=value, at_bound=at_bound)


def bootstrap_scaling_collapse(hbar: np.ndarray, values: Mapping[int, np.ndarray], fit_range: tuple[float, float],
                               degree: int = 3, replicas: int = 100, seed: int = 0,
                               value_range: tuple[float, float] | None = None) -> tuple[ScalingFit, Estimate, Estimate]:
    """Scaling collapse of the mean curves of ``values`` {N: (R, H) or (R, M, H)} on ``hbar (H,)``
    restricted to ``fit_range`` (inclusive), weighted by the standard error over realizations, with
    bootstrap errors of h̄_c and ν. Returns (full-data fit, h̄_c estimate, ν estimate).

    ``value_range`` (low, high) also drops the points whose full-data mean lies outside it — for a
    bounded output such as the network's confidence, whose saturated plateaus carry no scaling
    information and which no low-degree polynomial follows. The points are chosen once, from the
    full data, so that every replica fits the same points.
    """
    hbar = np.asarray(hbar, float)
    inside = {N: (hbar >= fit_range[0]) & (hbar <= fit_range[1]) for N in values}

    def curves_and_errors(picks):
        curves, errors = {}, {}
        for N, v in values.items():
            realizations, members = picks.get(N, (None, None))
            picked = np.asarray(v, float)
            if realizations is not None:
                picked = picked[realizations]
            if picked.ndim == 3 and members is not None:
                picked = picked[:, members]
            mean, sem, _ = mean_and_sem(picked)
            if len(picked) == 1:
                sem = np.ones_like(mean)  # one realization: unweighted
            # A point whose realizations all agree (e.g. a saturated network output) would get an
            # infinite weight: floor the error at a small fraction of the largest one.
            sem = np.maximum(sem, 1e-3 * np.nanmax(sem) if np.any(sem > 0) else 1.0)
            curves[N], errors[N] = (hbar[inside[N]], mean[inside[N]]), sem[inside[N]]
        return curves, errors

    if value_range is not None:
        with np.errstate(invalid="ignore"):
            for N, v in values.items():
                mean = _mean_curve(v)
                inside[N] &= (mean >= value_range[0]) & (mean <= value_range[1])
    curves, errors = curves_and_errors({})
    fit = fit_scaling_collapse(curves, degree, errors, hbar_c_range=fit_range)
    rng = random_streams.generator(seed, "collapse_bootstrap")
    streams = {N: _replicas(np.asarray(v), replicas, rng) for N, v in values.items()}
    hbar_cs, nus = [], []
    for _ in range(replicas):
        picks = {N: next(s) for N, s in streams.items()}
        c, e = curves_and_errors(picks)
        replica = fit_scaling_collapse(c, degree, e, start=(fit.hbar_c, fit.nu))
        hbar_cs.append(replica.hbar_c)
        nus.append(replica.nu)
    return fit, _summarize(fit.hbar_c, hbar_cs), _summarize(fit.nu, nus)
