# Every table (mblnn.analyse.registry.TABLES) by one rule: its inputs and the config keys it depends on come
# from the registry (workflow/campaign/: table_inputs, table_config). Written as CSV and Parquet.


rule table:
    input:
        unpack(lambda wc: table_inputs(config, wc.table)),
    output:
        multiext("results/tables/{table}", ".csv", ".parquet"),
    params:
        inputs=lambda wc, input: table_arguments({kind: list(input[kind]) for kind in input.keys()}),
        config=lambda wc: table_config(config, wc.table),
    wildcard_constraints:
        table="|".join(TABLES),
    resources:
        **rule_resources(config, "table"),
    conda:
        "../../envs/analysis.yaml"
    log:
        "results/logs/tables/{table}.log",
    shell:
        "mblnn table {wildcards.table} {params.inputs} --config {params.config:q} --out {output[0]} > {log} 2>&1"
