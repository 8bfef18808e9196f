# mblnn campaign: config → diagonalized samples → ensembles → classifications → tables → figures.
# Rules are thin: each calls the `mblnn` command line; the physics lives in src/mblnn.
#   snakemake --profile profiles/local            this machine (`make run`)
#   snakemake --profile slurm                     a Slurm cluster (see profiles/slurm/README)
#   snakemake --report results/report.html        the HTML report with the tables' figures

from mblnn.resources import diagonalize_mem_mb, diagonalize_runtime
from mblnn.config import (confusion_arguments, cuts_for, ensembles, finite_size_arguments, half_chain_cut,
                          realization_indices, solver_arguments, training_arguments, uses_mpi, validate_config)

configfile: "config/config.yaml"

validate_config(config, workflow.source_path("workflow/schemas/config.schema.yaml"))

report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/diagonalize.smk"
include: "workflow/rules/learning.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/finite_size.smk"
include: "workflow/rules/plots.smk"


rule all:
    input:
        "results/tables/level_statistics.csv",
        expand("results/tables/{table}.{suffix}", table=TABLES, suffix=TABLE_FORMATS),
        lambda wc: expand("results/tables/dreams.{suffix}", suffix=TABLE_FORMATS) if dream_paths() else [],
        lambda wc: finite_size_outputs(),
        lambda wc: expand("results/figures/{figure}.{suffix}", figure=figures(), suffix=["png", "pdf"]),
