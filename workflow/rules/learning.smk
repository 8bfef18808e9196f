# Ensembles (Eq. 7/8) per (N, cut, variant), per-eigenstate classification, dreaming, and learning by
# confusion (finite_size). The param `config` holds every key a job depends on: changing one retrains and
# reclassifies, never rediagonalizes.


rule train:
    input:
        lambda wc: sample_paths(config, wc.N),
    output:
        ENSEMBLE,
    params:
        config=lambda wc: training_config(config, wc.variant),
    threads: config["training"]["threads"]
    resources:
        cpus_per_task=config["training"]["threads"],
        **rule_resources(config, "train"),
    conda:
        "../../envs/learning.yaml"
    log:
        "results/logs/train/N{N}/cut{N_A}/{variant}.log",
    shell:
        "mblnn train {input} --cut {wildcards.N_A} --variant {wildcards.variant} --config {params.config:q} "
        "--out {output} > {log} 2>&1"


rule classify:
    input:
        samples=lambda wc: sample_paths(config, wc.N),
        ensemble=ENSEMBLE,
    output:
        store_output(classified_pattern(config)),
    params:
        config=lambda wc: job_config(config, "analysis.threshold"),
    threads: 1
    resources:
        cpus_per_task=1,
        **rule_resources(config, "classify"),
    conda:
        "../../envs/learning.yaml"
    log:
        "results/logs/classify/N{N}/cut{N_A}/{variant}.log",
    shell:
        "mblnn classify {input.samples} --ensemble {input.ensemble} --variant {wildcards.variant} "
        "--config {params.config:q} --out {output} > {log} 2>&1"


# Another campaign's ensemble (config transfer) classifies this campaign's samples: its path is an input, so a
# retrained source ensemble reclassifies; a missing one is reported by Snakemake with its path.
rule classify_transferred:
    input:
        samples=lambda wc: sample_paths(config, wc.N),
        ensemble=lambda wc: source_ensemble(config, wc.source, int(wc.N), int(wc.N_A)),
    output:
        store_output(transferred_pattern(config)),
    params:
        config=lambda wc: job_config(config, "analysis.threshold"),
    threads: 1
    resources:
        cpus_per_task=1,
        **rule_resources(config, "classify"),
    conda:
        "../../envs/learning.yaml"
    log:
        "results/logs/classify/N{N}/cut{N_A}/transfer_{source}.log",
    shell:
        "mblnn classify {input.samples} --ensemble {input.ensemble} --variant {wildcards.source} "
        "--config {params.config:q} --out {output} > {log} 2>&1"


rule dream:
    input:
        samples=lambda wc: sample_paths(config, wc.N),
        ensemble=ENSEMBLE,
    output:
        DREAM,
    params:
        config=lambda wc: job_config(config, "dreaming.networks", "dreaming.steps", "dreaming.step_size",
                                     "dreaming.window", "dreaming.max_start", "training.seed"),
    threads: config["training"]["threads"]
    resources:
        cpus_per_task=config["training"]["threads"],
        **rule_resources(config, "dream"),
    conda:
        "../../envs/learning.yaml"
    log:
        "results/logs/dream/N{N}/cut{N_A}/{variant}_{target}.log",
    shell:
        "mblnn dream {input.samples} --ensemble {input.ensemble} --target {wildcards.target} "
        "--config {params.config:q} --out {output} > {log} 2>&1"


rule confusion:
    input:
        lambda wc: sample_paths(config, wc.N),
    output:
        multiext("results/finite_size/confusion/N{N}", ".csv", ".parquet"),
    params:
        cut=lambda wc: half_chain_cut(config, int(wc.N), main_variant(config)),
        config=lambda wc: confusion_config(config),
    threads: config["training"]["threads"]
    resources:
        cpus_per_task=config["training"]["threads"],
        **rule_resources(config, "confusion"),
    conda:
        "../../envs/learning.yaml"
    log:
        "results/logs/confusion/N{N}.log",
    shell:
        "mblnn confusion {input} --cut {params.cut} --config {params.config:q} --out {output[0]} > {log} 2>&1"
