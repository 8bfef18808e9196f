# Figures of the tables (PNG for the report, PDF beside it).

FIGURES = {
    "phase_diagram": ("phase-diagram", "results/tables/phase_diagram.csv"),
    "critical_field": ("critical-field", "results/tables/critical_field.csv"),
    "disorder_correlation": ("disorder-correlation", "results/tables/critical_field_realizations.csv"),
    "levels_vs_network": ("levels-vs-network", "results/tables/levels_vs_network.csv"),
    "consistency": ("consistency", "results/tables/consistency.csv"),
    "transition_region": ("transition-region", "results/tables/transition_region.csv"),
    "single_realization": ("single-realization", "results/tables/single_realization.csv"),
    "spatial_structure": ("spatial-structure", "results/tables/spatial_structure.csv"),
    "dreams": ("dreams", "results/tables/dreams.csv"),
    "mobility_edge": ("mobility-edge", "results/tables/mobility_edge.csv"),
    "scaling": ("scaling", "results/tables/scaling.csv"),
    "confusion": ("confusion", "results/tables/confusion.csv"),
}
#: tables drawn over a figure's own (plot option → table)
FIGURE_OVERLAYS = {"mobility_edge": {"--crossings": "results/tables/crossings.csv"}}


def figures():
    """The figures of this campaign: dreams only when dreaming is configured, Fig. 6 (agreement across
    cuts) only where some N has at least three cuts, the finite-size ones only with a finite_size
    section (confusion only with confusion bins)."""
    wanted = {"dreams": bool(config["dreaming"]["targets"]),
              "spatial_structure": any(len(cuts_for(config, N)) >= 3 for N in config["sizes"]),
              "mobility_edge": finite_size_enabled(),
              "scaling": finite_size_enabled(), "confusion": finite_size_enabled() and bool(confusion_paths())}
    return [name for name in FIGURES if wanted.get(name, True)]


rule figure:
    input:
        table=lambda wc: FIGURES[wc.figure][1],
        overlays=lambda wc: list(FIGURE_OVERLAYS.get(wc.figure, {}).values()),
    output:
        png=report("results/figures/{figure}.png", category="Figures", caption="../report/figure.rst"),
        pdf="results/figures/{figure}.pdf",
    params:
        kind=lambda wc: FIGURES[wc.figure][0],
        overlays=lambda wc: " ".join(f"{option} {path}" for option, path in FIGURE_OVERLAYS.get(wc.figure, {}).items()),
    wildcard_constraints:
        figure="|".join(FIGURES),
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/figures/{figure}.log",
    shell:
        "mblnn plot {params.kind} {input.table} {params.overlays} --out {output.png} > {log} 2>&1"


rule report_html:
    input:
        figures=lambda wc: expand("results/figures/{figure}.png", figure=figures()),
        summary="results/tables/summary.csv",
        captions=workflow.source_path("../report/figure.rst"),
    output:
        "results/report.html",
    params:
        title=lambda wc: f"mblnn campaign: N = {', '.join(map(str, config['sizes']))}, {config['campaign']['type'].replace('_', ' ')}",
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/report.log",
    shell:
        "mblnn report {input.figures} --captions {input.captions} --summary {input.summary} "
        "--title {params.title:q} --out {output} > {log} 2>&1"
