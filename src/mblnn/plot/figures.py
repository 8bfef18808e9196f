"""Figures of the analysis tables (matplotlib Figures, no pyplot; :func:`save_figure` writes PNG and PDF atomically).

Every ``*_figure`` function takes the table its analysis builds (:data:`mblnn.analyse.registry.TABLES`) and returns
a :class:`matplotlib.figure.Figure`; :data:`FIGURES` lists them with their tables (the workflow draws each). Conventions stated on the axes: h̄ is the disorder strength (fields uniform in
[-h̄, h̄], J = 1), ε = (E - E_min)/(E_max - E_min), confidences are MBL confidences of the ensemble.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mblnn.plot.catalogue import FIGURES
from mblnn.schema import default
from mblnn.store.atomic import atomic_write
from mblnn.observables.levels import GOE_MEAN_GAP_RATIO, POISSON_MEAN_GAP_RATIO


def _subplots(*args, **options):
    """``matplotlib.figure.Figure(...).subplots(...)``: a figure of its own, no pyplot and no backend chosen here
    (saving to a file renders with Agg whatever the session's backend)."""
    from matplotlib.figure import Figure

    size = options.pop("figsize", None)
    figure = Figure(figsize=size)
    return figure, figure.subplots(*args, **options)


#: No creation dates or version strings: the same table gives byte-identical files (matplotlib's PDF
#: backend otherwise stamps /CreationDate, and its version into both formats).
_METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Creator": None, "Producer": None}}


def save_figure(figure, path: str | os.PathLike) -> list[Path]:
    """Write ``figure`` as ``<path>.png`` (150 dpi) and ``<path>.pdf``, each atomically and reproducibly."""
    base = Path(path)
    if base.suffix in (".png", ".pdf"):
        base = base.with_suffix("")
    written = []
    for suffix in (".png", ".pdf"):
        written.append(atomic_write(base.with_suffix(suffix),
                                    lambda temporary, f=suffix[1:]: figure.savefig(temporary, format=f, dpi=150, bbox_inches="tight",
                                                                                   metadata=_METADATA[f])))
    return written


#: Major ticks of logarithmic h̄ axes, labelled as plain numbers (matplotlib's default labels only the
#: decades, 10^0 and 10^1, which on a 0.25 … 12 grid leaves the transition region unlabelled).
HBAR_TICKS = (0.1, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24)


def _log_hbar_axis(ax) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(HBAR_TICKS))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges around sorted, possibly unevenly spaced centres (midpoints; outer cells mirrored)."""
    values = np.asarray(values, float)
    if len(values) == 1:
        return np.array([values[0] - 0.5, values[0] + 0.5])
    middle = (values[1:] + values[:-1]) / 2
    return np.concatenate([[values[0] - (middle[0] - values[0])], middle, [values[-1] + (values[-1] - middle[-1])]])


def _plotted_variant(table: pd.DataFrame) -> str | None:
    """The variant a one-variant figure draws: ``main`` where the campaign has it, else the table's first (a campaign
    may name its only variant otherwise, e.g. the floor study's ``float64``)."""
    variants = list(dict.fromkeys(table["variant"])) if "variant" in table else []
    return None if not variants else ("main" if "main" in variants else variants[0])


def _half_chain(table: pd.DataFrame, variant: str | None = None) -> pd.DataFrame:
    """The half-chain rows of ``variant`` (default: :func:`_plotted_variant`)."""
    variant = variant or _plotted_variant(table)
    table = table[table["N_A"] == table["N"] // 2]
    if variant is not None and "variant" in table:
        table = table[table["variant"] == variant]
    return table


def _panel_per_size(table: pd.DataFrame, height: float, width: float = 4.2, **options):
    """A row of panels, one per chain length N in ``table``: (figure, axes row, sorted sizes)."""
    sizes = sorted(table["N"].unique())
    figure, axes = _subplots(1, len(sizes), figsize=(width * len(sizes), height), squeeze=False, **options)
    return figure, axes[0], sizes


def phase_diagram_figure(table: pd.DataFrame, variant: str | None = None) -> Figure:
    """Fig. 1: disorder-averaged MBL confidence over (h̄, ε), one panel per N (half-chain cut)."""
    table = _half_chain(table, variant)
    figure, axes, sizes = _panel_per_size(table, 3.6, sharey=True)
    for ax, N in zip(axes, sizes):
        part = table[table["N"] == N]
        grid = part.pivot_table(index="eps_low", columns="hbar", values="confidence")
        eps_edges = np.r_[grid.index.values, part["eps_high"].max()]
        mesh = ax.pcolormesh(_edges(grid.columns.values), eps_edges, grid.values, vmin=0, vmax=1, cmap="coolwarm", shading="flat")
        _log_hbar_axis(ax)
        ax.set_title(f"N = {N}, N_A = {N // 2}")
        ax.set_xlabel(r"disorder strength $\bar h$ (J = 1)")
    axes[0].set_ylabel(r"energy density $\epsilon$")
    figure.colorbar(mesh, ax=axes.tolist(), label="MBL confidence (ensemble mean)")
    return figure


def critical_field_figure(table: pd.DataFrame, variant: str | None = None) -> Figure:
    """Fig. 3a: h̄_c of the disorder-averaged curve against the confidence threshold, one line per
    required state fraction, per N, with bootstrap errors over realizations; open markers where the
    grid does not bracket the crossing (h̄_c at the grid's start, or none: drawn at the grid's top)."""
    table = _half_chain(table, variant)
    figure, axes, sizes = _panel_per_size(table, 3.4, sharey=True)
    for ax, N in zip(axes, sizes):
        for fraction, part in table[table["N"] == N].groupby("fraction"):
            line = ax.errorbar(part["threshold"], part["hbar_c"], yerr=part["hbar_c_err"], marker="o", capsize=3,
                               label=f"{fraction:.0%} of states")
            edge = part[part["at_edge"].astype(bool)]
            if len(edge):
                ax.plot(edge["threshold"], edge["hbar_c"].fillna(table["hbar_c"].max()), "o", mfc="white",
                        color=line[0].get_color())
        ax.set_title(f"N = {N}")
        ax.set_xlabel("confidence threshold")
    axes[0].set_ylabel(r"critical field $\bar h_c$ (averaged curve, bootstrap error)")
    axes[-1].legend(fontsize="x-small", loc="lower right", title="open: at the grid's edge", title_fontsize="x-small")
    return figure


def disorder_correlation_figure(table: pd.DataFrame, variant: str | None = None,
                              threshold: float = default("analysis.threshold"), fraction: float = default("analysis.critical_fraction")) -> Figure:
    """Fig. 3b from the per-realization table: (left) 1/h̄_c against the pattern's ⟨|u|⟩ (the text's
    reading), (right) h̄_c against ⟨|h|⟩ at h̄_c = h̄_c⟨|u|⟩ (the caption's formula), one colour per N,
    the correlation coefficient in the legend; realizations whose crossing the grid does not bracket
    are left out."""
    table = _half_chain(table, variant)
    table = table[np.isclose(table["threshold"], threshold) & np.isclose(table["fraction"], fraction)].dropna(subset=["hbar_c"])
    figure, (left, right) = _subplots(1, 2, figsize=(8.4, 3.6))
    for N, part in table.groupby("N"):
        for ax, (x, y) in ((left, ("mean_abs_u", "inverse_hbar_c")), (right, ("mean_abs_h_c", "hbar_c"))):
            rho = np.corrcoef(part[x], part[y])[0, 1] if len(part) > 2 else np.nan
            ax.plot(part[x], part[y], "o", label=f"N = {N}: ρ = {rho:.2f} ({len(part)})")
    left.set_xlabel(r"pattern $\langle|u|\rangle$ ($h_r = \bar h u_r$)")
    left.set_ylabel(r"$1/\bar h_c$")
    right.set_xlabel(r"$\langle|h|\rangle$ at $\bar h_c$")
    right.set_ylabel(r"$\bar h_c$")
    for ax in (left, right):
        ax.legend(fontsize="small")
    figure.suptitle(f"per-realization $\\bar h_c$ ({threshold:.0%} confidence, {fraction:.0%} of states)", fontsize="medium")
    return figure


def levels_vs_network_figure(table: pd.DataFrame) -> Figure:
    """Fig. 5: mean gap ratio r against h̄ with the GOE and Poisson values, and the networks'
    energy-averaged ETH confidence (right axis), per N."""
    figure, axes, sizes = _panel_per_size(table, 3.4, width=4.4, sharey=True)
    twins = []
    for ax, N in zip(axes, sizes):
        part = table[table["N"] == N].sort_values("hbar")
        ax.errorbar(part["hbar"], part["r_mean"], yerr=part["r_sem"], color="k", marker="o", capsize=3, label="⟨r⟩")
        ax.axhline(GOE_MEAN_GAP_RATIO, color="k", ls="--", lw=0.8)
        ax.axhline(POISSON_MEAN_GAP_RATIO, color="k", ls=":", lw=0.8)
        _log_hbar_axis(ax)
        ax.set_xlabel(r"$\bar h$")
        twin = ax.twinx()
        for column in [c for c in part.columns if c.startswith("eth_confidence_")]:
            twin.plot(part["hbar"], part[column], marker="s", label=column.removeprefix("eth_confidence_"))
        twin.set_ylim(0, 1)
        twins.append(twin)
        ax.set_title(f"N = {N}")
    # one left label and one right label for the row: inner twin ticks would sit on the next panel's axis
    axes[0].set_ylabel(r"mean gap ratio $\langle r\rangle$ (-- GOE, ··· Poisson)")
    for twin in twins[:-1]:
        twin.tick_params(labelright=False)
    twins[-1].set_ylabel("ETH confidence (energy average)")
    twins[-1].legend(fontsize="small", loc="center right")
    figure.subplots_adjust(wspace=0.12)
    return figure


def consistency_figure(table: pd.DataFrame, variant: str | None = None) -> Figure:
    """Fig. 9: fraction of states changing category, and flipping between confident ETH and MBL,
    between pairs of networks of an ensemble, against h̄."""
    table = _half_chain(table, variant)
    figure, (left, right) = _subplots(1, 2, figsize=(8.4, 3.4))
    for N, part in table.groupby("N"):
        part = part.sort_values("hbar")
        line, = left.plot(part["hbar"], part["changed"], marker="o", label=f"N = {N}: any switch")
        left.plot(part["hbar"], part["confident_uncertain"], ls="--", color=line.get_color(),
                  label=f"N = {N}: confident ↔ uncertain")
        right.plot(part["hbar"], part["flipped"], marker="o", label=f"N = {N}")
    for ax, what in ((left, "changing category"), (right, "flipping ETH ↔ MBL")):
        _log_hbar_axis(ax)
        ax.set_xlabel(r"$\bar h$")
        ax.set_ylabel(f"fraction of states {what}")
        ax.legend(fontsize="small")
    return figure


def transition_region_figure(table: pd.DataFrame) -> Figure:
    """Figs. 8 and 10: fraction of uncertain states (0.1 < confidence < 0.9) and the mean MBL
    confidence against h̄: one line per N (main variant) and one per cost variant (largest N)."""
    table = table[table["N_A"] == table["N"] // 2]
    figure, (sizes_ax, variants_ax) = _subplots(1, 2, figsize=(8.8, 3.4), sharey=True)
    main = _plotted_variant(table)
    for N, part in table[table["variant"] == main].groupby("N"):
        part = part.sort_values("hbar")
        sizes_ax.plot(part["hbar"], part["fraction_uncertain"], marker="o", label=f"N = {N}")
    largest = table["N"].max()
    for variant, part in table[table["N"] == largest].groupby("variant"):
        part = part.sort_values("hbar")
        variants_ax.plot(part["hbar"], part["fraction_uncertain"], marker="o", label=variant)
    sizes_ax.set_title(f"finite size ({main})")
    variants_ax.set_title(f"cost variants (δ, μ), N = {largest}")
    for ax in (sizes_ax, variants_ax):
        _log_hbar_axis(ax)
        ax.set_xlabel(r"$\bar h$")
        ax.legend(fontsize="small")
    sizes_ax.set_ylabel("fraction of states with 0.1 < confidence < 0.9")
    return figure


def single_realization_figure(table: pd.DataFrame) -> Figure:
    """Fig. 4: one realization; over (h̄, ε of the window): the entanglement-entropy standard
    deviation in windows of consecutive eigenstates, |dΔ/dh̄| of the Schmidt gap, and the fraction of
    states the ensemble is uncertain about (largest N, half cut)."""
    table = table[(table["N"] == table["N"].max()) & (table["N_A"] == table["N"] // 2)]
    columns = (("entropy_std", "sd of the entanglement entropy"), ("dgap_dhbar", r"$|d\Delta_{\rm Schmidt}/d\bar h|$"),
               ("fraction_uncertain", "fraction uncertain"))
    figure, axes = _subplots(len(columns), 1, figsize=(6.0, 2.4 * len(columns)), sharex=True)
    hbar = np.sort(table["hbar"].unique())
    for ax, (column, label) in zip(axes, columns):
        grid = table.pivot(index="window", columns="hbar", values=column).reindex(columns=hbar)  # NaN: no next h̄
        eps = table.groupby("window")["eps_mean"].mean().loc[grid.index]
        mesh = ax.pcolormesh(_edges(hbar), _edges(eps.values), grid.values, shading="flat", cmap="viridis")
        figure.colorbar(mesh, ax=ax, label=label)
        ax.set_ylabel(r"$\epsilon$ (window mean)")
        _log_hbar_axis(ax)
    axes[0].set_title(f"N = {table['N'].iloc[0]}, realization {table['realization'].iloc[0]}")
    axes[-1].set_xlabel(r"$\bar h$")
    return figure


def spatial_structure_figure(table: pd.DataFrame) -> Figure:
    """Fig. 6: fractions of eigenstates classified ETH for every cut, MBL for every cut, and mixed
    (ETH for one cut, MBL for another), against h̄; the N with the most cuts."""
    table = table[table["n_cuts"] == table["n_cuts"].max()]
    table = table[table["N"] == table["N"].max()].sort_values("hbar")
    figure, ax = _subplots(figsize=(5.2, 3.4))
    for column, label in (("all_eth", "ETH for all cuts"), ("all_mbl", "MBL for all cuts"), ("mixed", "mixed")):
        ax.plot(table["hbar"], table[column], marker="o", label=label)
    _log_hbar_axis(ax)
    ax.set_xlabel(r"$\bar h$")
    ax.set_ylabel("fraction of eigenstates")
    ax.set_title(f"N = {table['N'].iloc[0]}, {table['n_cuts'].iloc[0]} cuts")
    ax.legend(fontsize="small")
    return figure


def dreams_figure(table: pd.DataFrame) -> Figure:
    """Fig. 7: entanglement levels of the typical ETH (h_ETH) and MBL (h_MBL) spectra, the starting
    transition-region spectra and the dreamed ones, per N and target."""
    keys = sorted(table.groupby(["N", "target"]).groups)
    figure, axes = _subplots(1, len(keys), figsize=(3.6 * len(keys), 3.4), squeeze=False)
    for ax, (N, target) in zip(axes[0], keys):
        part = table[(table["N"] == N) & (table["target"] == target)].sort_values("level")
        for column, style in (("typical_eth", "b--"), ("typical_mbl", "r--"), ("start", "k-"), ("dreamed", "g-o")):
            ax.plot(part["level"], part[column], style, label=column.replace("_", " "), ms=3)
        ax.set_title(f"N = {N}, dreamed → {target.upper()}\nconfidence {part['confidence_start'].iloc[0]:.2f} → "
                     f"{part['confidence_end'].iloc[0]:.2f}", fontsize="small")
        ax.set_xlabel("level index")
    axes[0][0].set_ylabel(r"entanglement level $\xi = -\ln\lambda$")
    axes[0][0].legend(fontsize="x-small")
    return figure


def mobility_edge_figure(table: pd.DataFrame, crossings: pd.DataFrame | None = None) -> Figure:
    """Energy-resolved phase diagram in the style of Luitz, Laflorencie & Alet, PRB 91, 081103 (2015),
    Fig. 1: the mean gap ratio r(h̄, ε) and the network's MBL confidence for the largest N, with the
    transition points of ``crossings`` (r crossings of consecutive N; the network's 50 % line per N)
    drawn over both. Open chain (Luitz et al.: periodic)."""
    largest = table["N"].max()
    part = table[table["N"] == largest]
    panels = [("r", r"mean gap ratio $\langle r\rangle$", "viridis", (POISSON_MEAN_GAP_RATIO, GOE_MEAN_GAP_RATIO))]
    if part["confidence"].notna().any():
        panels.append(("confidence", "MBL confidence (network)", "coolwarm", (0, 1)))
    figure, axes = _subplots(1, len(panels), figsize=(5.0 * len(panels), 3.8), sharey=True, squeeze=False)
    eps = np.sort(part["eps"].unique())
    hbar = np.sort(part["hbar"].unique())
    # one ε bin: a band of height 0.1 rather than the whole axis, which would suggest data at every ε
    eps_edges = _edges(eps) if len(eps) > 1 else np.array([eps[0] - 0.05, eps[0] + 0.05])
    for ax, (column, label, cmap, (low, high)) in zip(axes[0], panels):
        grid = part.pivot_table(index="eps", columns="hbar", values=column).reindex(index=eps, columns=hbar)
        mesh = ax.pcolormesh(_edges(hbar), eps_edges, grid.values, shading="flat", cmap=cmap, vmin=low, vmax=high)
        ax.set_ylim(0, 1)
        figure.colorbar(mesh, ax=ax, label=label)
        if crossings is not None and len(crossings):
            for (method, small, large), points in crossings.groupby(["method", "N_small", "N_large"]):
                points = points.sort_values("eps")
                name = f"r crossing N = {small}, {large}" if method == "gap_ratio" else f"{method} N = {small}"
                ax.errorbar(points["hbar_c"], points["eps"], xerr=points["error"], marker="o" if method == "gap_ratio" else "s",
                            ms=4, capsize=2, lw=1, label=name)
        _log_hbar_axis(ax)
        ax.set_xlabel(r"disorder strength $\bar h$ (J = 1)")
        ax.set_title(f"N = {largest}, open chain")
    axes[0][0].set_ylabel(r"energy density $\epsilon$")
    if crossings is not None and len(crossings):
        handles, labels = axes[0][0].get_legend_handles_labels()
        figure.legend(handles, labels, fontsize="x-small", loc="lower center", ncol=min(4, len(labels)),
                      bbox_to_anchor=(0.5, -0.12 - 0.04 * (len(labels) // 4)))
    return figure


def scaling_figure(table: pd.DataFrame) -> Figure:
    """Drift of the scaling-collapse estimates with the largest N included: h̄_c and ν (bootstrap
    errors) against N_max, one line per (observable, ε)."""
    figure, (left, right) = _subplots(1, 2, figsize=(8.8, 3.4))
    for (observable, eps), part in table.groupby(["observable", "eps"]):
        part = part.sort_values("N_max")
        left.errorbar(part["N_max"], part["hbar_c"], yerr=part["hbar_c_error"], marker="o", capsize=3,
                      label=f"{observable}, ε = {eps:g}")
        right.errorbar(part["N_max"], part["nu"], yerr=part["nu_error"], marker="o", capsize=3)
    left.set_ylabel(r"$\bar h_c$ of the collapse")
    right.set_ylabel(r"$\nu$ of the collapse")
    for ax in (left, right):
        ax.set_xlabel(r"largest $N$ included")
    left.legend(fontsize="x-small")
    return figure


def confusion_figure(table: pd.DataFrame) -> Figure:
    """Learning by confusion: test accuracy against the trial transition point h̄' (the W shape),
    with the majority-label accuracy (dashed), one panel per ε bin, one line per N."""
    bins = sorted(table["eps"].unique())
    figure, axes = _subplots(1, len(bins), figsize=(4.6 * len(bins), 3.4), squeeze=False, sharey=True)
    for ax, eps in zip(axes[0], bins):
        for N, part in table[table["eps"] == eps].groupby("N"):
            part = part.sort_values("trial")
            line = ax.errorbar(part["trial"], part["accuracy"], yerr=part["accuracy_std"], marker="o", capsize=3, label=f"N = {N}")
            ax.plot(part["trial"], part["trivial"], ls="--", lw=0.8, color=line[0].get_color())
        _log_hbar_axis(ax)
        ax.set_xlabel(r"trial transition point $\bar h'$")
        ax.set_title(f"ε = {eps:g}")
    axes[0][0].set_ylabel("test accuracy (-- majority label)")
    axes[0][0].legend(fontsize="small")
    return figure


def draw(name: str, table: pd.DataFrame, **overlays: pd.DataFrame) -> Figure:
    """Figure ``name`` of :data:`FIGURES` drawn from its table (and the tables drawn over it)."""
    from mblnn.errors import InputError

    if name not in FIGURES:
        raise InputError(f"unknown figure {name!r}; figures: {', '.join(FIGURES)}")
    return globals()[FIGURES[name][0]](table, **overlays)
