# Ensembles (Eq. 7/8) per (N, cut, variant), per-eigenstate classification, and dreaming.
# Every training setting is a param: changing one retrains and reclassifies, never rediagonalizes.


rule train:
    input:
        lambda wc: sample_paths(int(wc.N)),
    output:
        "results/ensembles/N{N}/cut{N_A}/{variant}.npz",
    params:
        options=lambda wc: training_arguments(config, wc.variant),
    threads: config["training"]["threads"]
    resources:
        mem_mb=lambda wc, input: 2000 + 4 * input.size_mb,
    conda:
        "../../envs/learning.yaml"
    log:
        "results/logs/train/N{N}/cut{N_A}/{variant}.log",
    shell:
        "mblnn train {input} --cut {wildcards.N_A} {params.options} --out {output} > {log} 2>&1"


rule classify:
    input:
        samples=lambda wc: sample_paths(int(wc.N)),
        ensemble="results/ensembles/N{N}/cut{N_A}/{variant}.npz",
    output:
        directory("results/classified/N{N}/cut{N_A}/{variant}.zarr"),
    params:
        threshold=lambda wc: config["analysis"]["threshold"],
    threads: 1
    conda:
        "../../envs/learning.yaml"
    log:
        "results/logs/classify/N{N}/cut{N_A}/{variant}.log",
    shell:
        "mblnn classify {input.samples} --ensemble {input.ensemble} --variant {wildcards.variant} "
        "--threshold {params.threshold} --out {output} > {log} 2>&1"


rule dream:
    input:
        samples=lambda wc: sample_paths(int(wc.N)),
        ensemble="results/ensembles/N{N}/cut{N_A}/{variant}.npz",
    output:
        "results/dreams/N{N}/cut{N_A}/{variant}_{target}.npz",
    params:
        networks=config["dreaming"]["networks"],
        steps=config["dreaming"]["steps"],
        step_size=config["dreaming"]["step_size"],
        window=",".join(map(str, config["dreaming"]["window"])),
        max_start=config["dreaming"]["max_start"],
        seed=config["training"]["seed"],
    threads: config["training"]["threads"]
    conda:
        "../../envs/learning.yaml"
    log:
        "results/logs/dream/N{N}/cut{N_A}/{variant}_{target}.log",
    shell:
        "mblnn dream {input.samples} --ensemble {input.ensemble} --target {wildcards.target} --networks {params.networks} "
        "--steps {params.steps} --step-size {params.step_size} --window {params.window} --max-start {params.max_start} "
        "--seed {params.seed} --out {output} > {log} 2>&1"
