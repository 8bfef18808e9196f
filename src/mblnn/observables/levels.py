"""Energy-level statistics: ratios of adjacent gaps, Eq. (9) of the paper.

    r_n = min(E_n - E_{n-1}, E_{n+1} - E_n) / max(E_n - E_{n-1}, E_{n+1} - E_n)  ∈ [0, 1]

Reference values of the mean ⟨r⟩ (Atas, Bogomolny, Giraud & Roux, PRL 110, 084101 (2013)):
GOE (thermal, ETH) ≈ 0.5307, Poisson (localized, MBL) = 2 ln 2 - 1 ≈ 0.3863.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mblnn.errors import InputError

GOE_MEAN_GAP_RATIO = 0.5307
POISSON_MEAN_GAP_RATIO = 2.0 * np.log(2.0) - 1.0


def gap_ratio(energies: np.ndarray) -> np.ndarray:
    """Gap ratios r_n of an ascending spectrum, aligned with the levels.

    Returns an array of the same shape ``(n,)`` as ``energies``; entry n holds r_n, the first and
    last entries (which lack a neighbour) are NaN, and so is r_n at an exact double degeneracy
    (both gaps zero), where the ratio is undefined.
    """
    energies = np.asarray(energies, dtype=np.float64)
    if energies.ndim != 1:
        raise InputError(f"energies must be one-dimensional, got shape {energies.shape}")
    ratios = np.full(energies.shape, np.nan)
    if energies.size < 3:
        return ratios
    gaps = np.diff(energies)
    if np.any(gaps < 0):
        raise InputError("energies must be sorted ascending")
    low, high = np.minimum(gaps[:-1], gaps[1:]), np.maximum(gaps[:-1], gaps[1:])
    ratios[1:-1] = np.divide(low, high, out=np.full(low.shape, np.nan), where=high > 0)
    return ratios


def mean_gap_ratio(
    energies: np.ndarray,
    energy_density: np.ndarray | None = None,
    window: tuple[float, float] = (0.0, 1.0),
) -> float:
    """Mean r over the levels whose energy density ε lies in ``window`` (inclusive).

    ``energy_density`` defaults to ε computed from ``energies`` themselves. Undefined ratios
    (ends of the spectrum, exact degeneracies) are left out of the mean.
    """
    ratios = gap_ratio(energies)
    if energy_density is None:
        span = energies[-1] - energies[0]
        energy_density = (energies - energies[0]) / span if span > 0 else np.zeros_like(ratios)
    return window_mean(ratios, energy_density, window)


def window_mean(ratios: np.ndarray, energy_density: np.ndarray, window: tuple[float, float] = (0.0, 1.0)) -> float:
    """Mean of precomputed gap ratios (e.g. shift-invert windows, each with its own NaN ends) over the
    states with ε in ``window``; undefined ratios are left out."""
    lo, hi = window
    selected = ratios[(energy_density >= lo) & (energy_density <= hi) & np.isfinite(ratios)]
    return float(selected.mean()) if selected.size else float("nan")


def energy_bins(energy_density: np.ndarray, eps: Sequence[float], width: float) -> np.ndarray:
    """``(n_bins, ...)`` boolean masks of the states within ``width``/2 of each energy density ``eps`` (NaN
    densities are in none); ``energy_density`` of any shape."""
    density = np.asarray(energy_density, float)
    return np.abs(density[None] - np.asarray(eps, float).reshape((-1,) + (1,) * density.ndim)) <= width / 2
