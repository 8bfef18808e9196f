"""Exceptions raised by mblnn.

Every check on user input raises :class:`InputError` *before* any expensive work starts, with a
message that names the offending parameter, so that a campaign fails fast and loses nothing.
"""

from __future__ import annotations


class InputError(ValueError):
    """A parameter is outside its allowed range; the message names the parameter."""


class MemoryBudgetError(InputError):
    """A requested computation does not fit the memory budget; the message gives the need."""


class EnsembleError(InputError):
    """Networks of an ensemble failed (test accuracy below ``training.min_accuracy``, or a cost that diverged) after
    every retraining; the message names N, the cut, the variant, the networks and what to change. Training is
    deterministic, so a retry of the same job would fail the same way."""
