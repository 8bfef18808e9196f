# mblnn campaign: config/config.yaml → diagonalized samples → tables.
# Rules are thin: each calls the `mblnn` command line; the physics lives in src/mblnn.

from mblnn.config import cuts_for, solver_arguments, uses_mpi, validate_config

configfile: "config/config.yaml"

validate_config(config, workflow.source_path("workflow/schemas/config.schema.yaml"))


include: "workflow/rules/common.smk"
include: "workflow/rules/diagonalize.smk"
include: "workflow/rules/tables.smk"


rule all:
    input:
        "results/tables/level_statistics.csv",
