# Figures of the tables (mblnn.plot.catalogue.FIGURES; PNG for the report, PDF beside it) and the report page.


rule figure:
    input:
        table=lambda wc: TABLE.format(table=FIGURES[wc.figure][1]),
        overlays=lambda wc: [TABLE.format(table=t) for t in FIGURES[wc.figure][2].values()],
    output:
        png=report("results/figures/{figure}.png", category="Figures", caption="../report/figure.rst"),
        pdf="results/figures/{figure}.pdf",
    params:
        overlays=lambda wc: " ".join(f"--overlay {name}={TABLE.format(table=t)}" for name, t in FIGURES[wc.figure][2].items()),
    wildcard_constraints:
        figure="|".join(FIGURES),
    resources:
        **rule_resources(config, "figure"),
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/figures/{figure}.log",
    shell:
        "mblnn plot {wildcards.figure} {input.table} {params.overlays} --out {output.png} > {log} 2>&1"


rule report_html:
    input:
        figures=lambda wc: expand(FIGURE, figure=figures(config)),
        summary=TABLE.format(table="summary"),
        captions=workflow.source_path("../report/figure.rst"),
    output:
        "results/report.html",
    params:
        title=lambda wc: report_title(config),
    resources:
        **rule_resources(config, "report_html"),
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/report.log",
    shell:
        "mblnn report {input.figures} --captions {input.captions} --summary {input.summary} "
        "--title {params.title:q} --out {output} > {log} 2>&1"
