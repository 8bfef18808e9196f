"""A self-contained HTML report of a campaign: the summary table and every figure with its caption.

One file (``results/report.html``), no scripts, no external resources: the PNGs are embedded as data
URIs, so the file can be mailed or opened from a cluster's file system. The captions are the ones of
Snakemake's report (``workflow/report/figure.rst``, a Jinja template selecting the text by the figure's
name), rendered here for each figure, so both reports say the same. The output depends only on its
inputs (no dates), like the tables and figures.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mblnn.provenance import git_revision, software_versions
from mblnn.store.atomic import atomic_write

#: Columns of the summary table shown in the report (the CSV has more), with their headings.
SUMMARY_COLUMNS = {
    "N": "N", "N_A": "N_A", "variant": "variant", "eta_min": "η min", "retrained_members": "networks retrained",
    "failed_members": "networks failed", "hbar_c": "h̄_c (90 %, 50 %)",
    "hbar_c_err": "± (bootstrap)", "r_midpoint": "⟨r⟩ midpoint at h̄", "uncertain_peak": "uncertain peak",
    "hbar_uncertain_peak": "at h̄", "confident_uncertain": "pairs confident↔uncertain", "flipped": "pairs flipped",
    "rho_inverse_hbar_c_u": "ρ(1/h̄_c, ⟨|u|⟩)",
}


#: The paper's numbers the report sets the campaign beside (column of the summary: heading, the paper's value, where)
PAPER = {
    "eta_min": ("η min", "1", "Sec. IV, any N"),
    "hbar_c": ("h̄_c (90 %, 50 %)", "2.8", "N = 16, 40 realizations, Fig. 3a"),
    "hbar_c_err": ("±", "0.5", "N = 16"),
    "confident_uncertain": ("pairs confident↔uncertain", "0.07", "Appendix C, 50 trainings"),
    "flipped": ("pairs flipped", "0.008", "Appendix C"),
    "rho_inverse_hbar_c_u": ("ρ(1/h̄_c, ⟨|u|⟩)", "≈ 0.76", "N = 16, Fig. 3b"),
}
#: the ensembles' health beside the paper's numbers
HEALTH = {"learning_rate": "step λ", "steps": "steps", "retrained_members": "networks retrained",
          "failed_members": "networks failed"}


def figure_caption(template: str, figure: str) -> str:
    """The caption of ``figure`` from the Jinja template of Snakemake's report (plain text)."""
    import jinja2

    rendered = jinja2.Template(template).render(snakemake={"wildcards": {"figure": figure}})
    return " ".join(rendered.split())


def _summary_html(summary: pd.DataFrame) -> str:
    columns = [c for c in SUMMARY_COLUMNS if c in summary.columns]
    table = summary[columns].rename(columns=SUMMARY_COLUMNS)
    return table.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="–", border=0, classes="summary")


def _beside_paper_html(summary: pd.DataFrame) -> list[str]:
    """Per N, the half-chain ensembles' headline numbers under the paper's (:data:`PAPER`) and their health."""
    rows = summary[summary["N_A"] == summary["N"] // 2]
    if rows.empty:
        return []
    columns = ["N", "variant", *(c for c in PAPER if c in rows.columns), *(c for c in HEALTH if c in rows.columns)]
    paper = {"N": "paper", "variant": "", **{c: PAPER[c][1] for c in PAPER if c in columns},
             **{c: "" for c in HEALTH if c in columns}}
    table = pd.concat([pd.DataFrame([paper]), rows[columns].map(_cell)], ignore_index=True)
    headings = {"N": "N", "variant": "variant", **{c: heading for c, (heading, _, _) in PAPER.items()}, **HEALTH}
    where = "; ".join(f"{heading}: {source}" for c, (heading, _, source) in PAPER.items() if c in columns)
    return ["<h2>Beside the paper</h2>",
            f"<p>The half-chain ensembles of each N under the paper's values (first row; {html.escape(where)}), with "
            "the ensembles' health: the step λ and the steps they trained with and the networks retrained because they failed "
            "(docs/learning.md).</p>",
            table.rename(columns=headings).to_html(index=False, border=0, classes="summary")]


def _cell(value) -> str:
    """A table cell: a whole number as such (steps, counts), other numbers to 4 significant digits, a dash for a
    missing value."""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return "–"
        return str(int(value)) if float(value).is_integer() else f"{value:.4g}"
    return str(value)


def _failed_ensembles_html(summary: pd.DataFrame) -> list[str]:
    """A warning above the summary naming the ensembles kept with failed networks (training.allow_failed_members)."""
    if "failed_members" not in summary.columns:
        return []
    failed = summary[summary["failed_members"] > 0]
    if failed.empty:
        return []
    names = ", ".join(f"N = {r.N}, N_A = {r.N_A}, {r.variant}: {r.failed_members}" for r in failed.itertuples())
    return [f'<p class="warning"><strong>Failed networks kept</strong> (training.allow_failed_members): {html.escape(names)}. '
            "Their ensembles' rows and figures include networks below training.min_accuracy or with a diverged cost.</p>"]


def write_report(figures: Sequence[str | os.PathLike], out: str | os.PathLike, captions: str | os.PathLike | None = None,
                 summary: str | os.PathLike | None = None, title: str = "mblnn campaign") -> Path:
    """Write the report to ``out`` (atomically): ``summary`` (the summary table's CSV) first, then each PNG
    of ``figures`` in the given order under its name, with its caption from the template ``captions``.

    Every image carries ``onload`` code that records its rendered width in ``data-rendered``, so that a
    headless browser's DOM shows whether the figures decoded (the test reads it with chromium).
    """
    template = Path(captions).read_text() if captions else None
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if summary is not None:
        parts += ["<h2>Summary</h2>",
                  "<p>One row per ensemble: test accuracy η, the critical field from the disorder-averaged curve, "
                  "where ⟨r⟩ crosses the midpoint of GOE and Poisson, the uncertain-fraction peak, the Appendix C "
                  "pair fractions and the Fig. 3b correlation (docs/physics.md defines each).</p>",
                  *_failed_ensembles_html(pd.read_csv(summary)), _summary_html(pd.read_csv(summary)),
                  *_beside_paper_html(pd.read_csv(summary))]
    for path in map(Path, figures):
        name = path.stem
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        caption = figure_caption(template, name) if template else ""
        parts += [f'<h2 id="{html.escape(name)}">{html.escape(name.replace("_", " "))}</h2>',
                  f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(name)}" '
                  f'onload="this.dataset.rendered = this.naturalWidth">'
                  f"<figcaption>{html.escape(caption)}</figcaption></figure>"]
    versions = ", ".join(f"{name} {version}" for name, version in software_versions().items())
    parts += ["<h2>Software</h2>",
              f"<p>This report was written with {html.escape(versions)} (git {html.escape(git_revision() or 'n/a')}). "
              "Every sample and classification store records the versions that wrote it (attrs <code>software</code>); "
              "the venv's exact versions are those of <code>requirements.lock</code>.</p>"]
    style = ("body{font-family:sans-serif;max-width:70em;margin:auto;padding:1em;line-height:1.4}"
             ".warning{background:#fdd;padding:0.5em;border:1px solid #c00}img{max-width:100%}figcaption{color:#333;font-size:0.9em;margin-top:0.4em}"
             "table.summary{border-collapse:collapse;font-size:0.85em}"
             "table.summary td,table.summary th{padding:0.2em 0.6em;border-bottom:1px solid #ccc;text-align:right}")
    document = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
                f"<style>{style}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
    return atomic_write(out, lambda temporary: Path(temporary).write_text(document, encoding="utf-8"))
