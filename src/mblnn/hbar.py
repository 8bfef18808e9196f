"""Disorder strengths h̄ (units of J): validation and the canonical key by which every h̄ is compared, named and
streamed. Bottom floor (docs/architecture.md): the random streams key on it, the model draws with it."""

from __future__ import annotations

import numpy as np

from mblnn.errors import InputError


def hbar_key(hbar: float) -> str:
    """The canonical text of a disorder strength: ``repr(float(hbar))`` (``"0.25"``, ``"12.0"``), exact and round-trip
    safe. Paths of the workflow use it (``hbar0.25``), and a store records ``float(key)``, so stores and config
    values compare exactly."""
    return repr(check_hbar(hbar))


def same_hbar(a: float, b: float) -> bool:
    """Whether two disorder strengths are the same h̄: their canonical keys (:func:`hbar_key`) agree. Every
    comparison of h̄ values (config against stores, TD labels, grids) goes through here."""
    return hbar_key(a) == hbar_key(b)


def check_hbar(hbar: float) -> float:
    """Validate a disorder strength h̄ (finite, >= 0) and return it as float."""
    value = float(hbar)
    if not np.isfinite(value) or value < 0:
        raise InputError(f"hbar must be a finite number >= 0 (the fields are drawn from [-hbar, hbar]), got hbar={hbar!r}")
    return value
