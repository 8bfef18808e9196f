"""Tidy pandas tables reduced from sample files."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from mblnn.store.atomic import atomic_write
from mblnn.observables.levels import GOE_MEAN_GAP_RATIO, POISSON_MEAN_GAP_RATIO, window_mean
from mblnn.store.samples import open_sample_store


def level_statistics_table(paths: Iterable[str | os.PathLike], window: tuple[float, float] = (0.0, 1.0)) -> pd.DataFrame:
    """Mean gap ratio per (N, h̄), averaged over realizations, from sample stores.

    Each sample contributes the mean r of its levels with ε in ``window``; the table has one row
    per (N, hbar) with columns ``N, hbar, r_mean, r_sem, n_realizations, eps_min, eps_max`` and the
    GOE/Poisson references, sorted by N then hbar. ``r_sem`` is the standard error over
    realizations (NaN for a single one).
    """
    rows = []
    for path in paths:
        store = open_sample_store(path)
        # the stored ratios: for shift-invert samples they are computed within each window
        r = window_mean(store.group["gap_ratio"][:], store.group["energy_density"][:], window)
        rows.append({"N": store.N, "hbar": store.attrs["hbar"], "realization": store.attrs["realization"], "r": r})
    samples = pd.DataFrame(rows, columns=["N", "hbar", "realization", "r"])
    grouped = samples.groupby(["N", "hbar"], sort=True)["r"]
    table = pd.DataFrame({
        "r_mean": grouped.mean(),
        "r_sem": grouped.std(ddof=1) / np.sqrt(grouped.count()),
        "n_realizations": grouped.count().astype(np.int64),
    }).reset_index()
    table["eps_min"], table["eps_max"] = float(window[0]), float(window[1])
    table["r_goe"], table["r_poisson"] = GOE_MEAN_GAP_RATIO, POISSON_MEAN_GAP_RATIO
    return table


def write_table_csv(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a table as CSV, atomically."""
    atomic_write(path, lambda temporary: table.to_csv(temporary, index=False))


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> list[Path]:
    """Write a table as ``<stem>.csv`` and ``<stem>.parquet`` (typed, for pandas/pyarrow readers), atomically."""
    base = Path(path).with_suffix("")
    write_table_csv(table, base.with_suffix(".csv"))
    atomic_write(base.with_suffix(".parquet"), lambda temporary: table.to_parquet(temporary, index=False))
    return [base.with_suffix(".csv"), base.with_suffix(".parquet")]
