# Figures of the tables (PNG for the report, PDF beside it).

FIGURES = {
    "phase_diagram": ("phase-diagram", "results/tables/phase_diagram.csv"),
    "critical_field": ("critical-field", "results/tables/critical_field.csv"),
    "levels_vs_network": ("levels-vs-network", "results/tables/levels_vs_network.csv"),
    "consistency": ("consistency", "results/tables/consistency.csv"),
    "transition_region": ("transition-region", "results/tables/transition_region.csv"),
    "single_realization": ("single-realization", "results/tables/single_realization.csv"),
    "spatial_structure": ("spatial-structure", "results/tables/spatial_structure.csv"),
    "dreams": ("dreams", "results/tables/dreams.csv"),
}


def figures():
    """The figures of this campaign: dreams only when dreaming is configured."""
    return [name for name in FIGURES if name != "dreams" or config["dreaming"]["targets"]]


rule figure:
    input:
        lambda wc: FIGURES[wc.figure][1],
    output:
        png=report("results/figures/{figure}.png", category="Figures", caption="../report/figure.rst"),
        pdf="results/figures/{figure}.pdf",
    params:
        kind=lambda wc: FIGURES[wc.figure][0],
    wildcard_constraints:
        figure="|".join(FIGURES),
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/figures/{figure}.log",
    shell:
        "mblnn plot {params.kind} {input} --out {output.png} > {log} 2>&1"
