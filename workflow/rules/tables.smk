# Reductions of the samples into pandas tables.


rule level_statistics:
    input:
        lambda wc: sample_paths(),
    output:
        "results/tables/level_statistics.csv",
    params:
        eps_min=lambda wc: config["level_statistics"]["eps_window"][0],
        eps_max=lambda wc: config["level_statistics"]["eps_window"][1],
    conda:
        "../../envs/mblnn.yaml"
    log:
        "results/logs/level_statistics.log",
    shell:
        "mblnn levels {input} --eps-min {params.eps_min} --eps-max {params.eps_max} --out {output} > {log} 2>&1"
