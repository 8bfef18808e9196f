# Reductions into tidy tables (CSV + Parquet): level statistics from the samples, the phase-diagram
# analyses from the classification stores.

TABLE_FORMATS = ("csv", "parquet")
#: every table of a campaign (dreams come with dreaming)
TABLES = ["phase_diagram", "critical_field", "critical_field_realizations", "consistency", "consistency_summary", "levels_vs_network",
          "transition_region", "spatial_structure", "single_realization", "fine_structure", "summary"]


def table_outputs(name):
    return multiext(f"results/tables/{name}", *(f".{suffix}" for suffix in TABLE_FORMATS))


rule level_statistics:
    input:
        lambda wc: sample_paths(),
    output:
        table_outputs("level_statistics"),
    params:
        eps_min=lambda wc: config["level_statistics"]["eps_window"][0],
        eps_max=lambda wc: config["level_statistics"]["eps_window"][1],
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/level_statistics.log",
    shell:
        "mblnn levels {input} --eps-min {params.eps_min} --eps-max {params.eps_max} --out {output[0]} > {log} 2>&1"


rule phase_diagram_table:
    input:
        lambda wc: classification_paths(),
    output:
        table_outputs("phase_diagram"),
    params:
        eps_bins=lambda wc: config["analysis"]["eps_bins"],
        threshold=lambda wc: config["analysis"]["threshold"],
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/tables/phase_diagram.log",
    shell:
        "mblnn table phase-diagram {input} --eps-bins {params.eps_bins} --threshold {params.threshold} "
        "--out {output[0]} > {log} 2>&1"


rule critical_field_table:
    input:
        lambda wc: classification_paths(),
    output:
        table_outputs("critical_field"),
        table_outputs("critical_field_realizations"),
    params:
        thresholds=lambda wc: ",".join(map(repr, config["analysis"]["thresholds"])),
        fractions=lambda wc: ",".join(map(repr, config["analysis"]["fractions"])),
        replicas=lambda wc: config["analysis"]["replicas"],
        seed=lambda wc: config["analysis"]["seed"],
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/tables/critical_field.log",
    shell:
        "mblnn table critical-field {input} --thresholds {params.thresholds} --fractions {params.fractions} "
        "--replicas {params.replicas} --seed {params.seed} --per-realization {output[2]} --out {output[0]} > {log} 2>&1"


rule consistency_table:
    input:
        lambda wc: classification_paths(),
    output:
        table_outputs("consistency"),
        table_outputs("consistency_summary"),
    params:
        threshold=lambda wc: config["analysis"]["threshold"],
        h_eth=lambda wc: config["training"]["h_eth"],
        h_mbl=lambda wc: config["training"]["h_mbl"],
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/tables/consistency.log",
    shell:
        "mblnn table consistency {input} --threshold {params.threshold} --h-eth {params.h_eth} --h-mbl {params.h_mbl} "
        "--summary {output[2]} --out {output[0]} > {log} 2>&1"


rule levels_vs_network_table:
    input:
        levels="results/tables/level_statistics.csv",
        phase="results/tables/phase_diagram.csv",
    output:
        table_outputs("levels_vs_network"),
    params:
        eps_min=lambda wc: config["level_statistics"]["eps_window"][0],
        eps_max=lambda wc: config["level_statistics"]["eps_window"][1],
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/tables/levels_vs_network.log",
    shell:
        "mblnn table levels-vs-network --levels {input.levels} --phase {input.phase} --eps-min {params.eps_min} "
        "--eps-max {params.eps_max} --out {output[0]} > {log} 2>&1"


rule transition_region_table:
    input:
        lambda wc: classification_paths(),
    output:
        table_outputs("transition_region"),
    params:
        threshold=lambda wc: config["analysis"]["threshold"],
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/tables/transition_region.log",
    shell:
        "mblnn table transition-region {input} --threshold {params.threshold} --out {output[0]} > {log} 2>&1"


rule spatial_structure_table:
    input:
        lambda wc: main_classifications(),
    output:
        table_outputs("spatial_structure"),
    params:
        threshold=lambda wc: config["analysis"]["threshold"],
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/tables/spatial_structure.log",
    shell:
        "mblnn table spatial-structure {input} --threshold {params.threshold} --out {output[0]} > {log} 2>&1"


rule single_realization_table:
    input:
        lambda wc: half_chain_classifications(),
    output:
        table_outputs("single_realization"),
        table_outputs("fine_structure"),
    params:
        realization=lambda wc: config["analysis"]["single_realization"]["realization"],
        window=lambda wc: config["analysis"]["single_realization"]["window"],
        middle=lambda wc: config["analysis"]["single_realization"]["middle_states"],
        threshold=lambda wc: config["analysis"]["threshold"],
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/tables/single_realization.log",
    shell:
        "mblnn table single-realization {input} --realization {params.realization} --window {params.window} "
        "--middle-states {params.middle} --threshold {params.threshold} --fine-structure {output[2]} "
        "--out {output[0]} > {log} 2>&1"


rule dreams_table:
    input:
        lambda wc: dream_paths(),
    output:
        table_outputs("dreams"),
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/tables/dreams.log",
    shell:
        "mblnn table dreams {input} --out {output[0]} > {log} 2>&1"


rule summary_table:
    input:
        classified=lambda wc: classification_paths(),
        critical="results/tables/critical_field.csv",
        levels="results/tables/level_statistics.csv",
        transition="results/tables/transition_region.csv",
        consistency="results/tables/consistency_summary.csv",
    output:
        table_outputs("summary"),
    params:
        threshold=lambda wc: config["analysis"]["threshold"],
        fraction=lambda wc: config["analysis"]["critical_fraction"],
        h_eth=lambda wc: config["training"]["h_eth"],
        h_mbl=lambda wc: config["training"]["h_mbl"],
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/tables/summary.log",
    shell:
        "mblnn table summary {input.classified} --critical {input.critical} --levels {input.levels} "
        "--transition {input.transition} --consistency {input.consistency} --threshold {params.threshold} "
        "--fraction {params.fraction} --h-eth {params.h_eth} --h-mbl {params.h_mbl} --out {output[0]} > {log} 2>&1"
