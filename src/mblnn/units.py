"""Human-readable quantities for messages (memory sizes in decimal units, as Slurm and Snakemake count MB)."""

from __future__ import annotations


def format_bytes(n_bytes: float) -> str:
    """``2.0e9`` -> "2.0 GB", ``3.34e14`` -> "334 TB" (decimal units; one decimal below 100)."""
    value, unit = float(n_bytes), "B"
    for bigger in ("kB", "MB", "GB", "TB", "PB", "EB"):
        if value < 999.5:
            break
        value, unit = value / 1000, bigger
    return f"{value:.1f} {unit}" if value < 99.95 else f"{value:.0f} {unit}"


def format_megabytes(mb: float) -> str:
    """A size given in MB (Snakemake's ``mem_mb``), formatted as :func:`format_bytes`."""
    return format_bytes(float(mb) * 1e6)
