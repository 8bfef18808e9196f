# Beyond the paper (config section finite_size, optional): the energy-resolved transition and its
# drift with N — r and network curves per ε bin, crossings, scaling collapse, learning by confusion.

FINITE_SIZE_TABLES = ["mobility_edge", "crossings", "scaling", "confusion"]


def finite_size_enabled():
    return "finite_size" in config


def confusion_paths():
    """Per-network confusion tables, one per N (none if no confusion bins are configured)."""
    if not config["finite_size"]["confusion"]["eps"]:
        return []
    return [f"results/finite_size/confusion/N{N}.csv" for N in config["sizes"]]


def finite_size_outputs():
    if not finite_size_enabled():
        return []
    tables = [t for t in FINITE_SIZE_TABLES if t != "confusion" or confusion_paths()]
    return expand("results/tables/{table}.{suffix}", table=tables, suffix=TABLE_FORMATS)


rule confusion:
    input:
        lambda wc: sample_paths(int(wc.N)),
    output:
        multiext("results/finite_size/confusion/N{N}", ".csv", ".parquet"),
    params:
        cut=lambda wc: half_chain_cut(config, int(wc.N), main_variant()),
        options=lambda wc: confusion_arguments(config),
    threads: config["training"]["threads"]
    conda:
        "../../envs/learning.yaml"
    log:
        "results/logs/confusion/N{N}.log",
    shell:
        "mblnn confusion {input} --cut {params.cut} {params.options} --out {output[0]} > {log} 2>&1"


rule finite_size_tables:
    input:
        samples=lambda wc: sample_paths(),
        classified=lambda wc: half_chain_classifications(),
        confusion=lambda wc: confusion_paths(),
    output:
        mobility_edge=table_outputs("mobility_edge"),
        crossings=table_outputs("crossings"),
        scaling=table_outputs("scaling"),
    params:
        options=lambda wc: finite_size_arguments(config),
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/tables/finite_size.log",
    shell:
        "mblnn finite-size {input.samples} --classified {input.classified} --confusion {input.confusion} {params.options} "
        "--out {output.mobility_edge[0]} --crossings {output.crossings[0]} --scaling {output.scaling[0]} > {log} 2>&1"


rule confusion_table:
    input:
        lambda wc: confusion_paths(),
    output:
        table_outputs("confusion"),
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/tables/confusion.log",
    shell:
        "mblnn table confusion {input} --out {output[0]} > {log} 2>&1"
