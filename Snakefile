# mblnn campaign: config → diagonalized samples → ensembles → classifications → tables → figures.
# Rules are thin: each calls the `mblnn` command line with the config keys it depends on (--config JSON);
# which jobs exist, their paths and resources are workflow/campaign/; the physics lives in src/mblnn.
#   snakemake --profile profiles/local            this machine (`make run`)
#   snakemake --profile slurm                     a Slurm cluster (README "Running on a cluster", docs/cluster.md)
#   snakemake --report snakemake-report.html      Snakemake's report (results/report.html is the campaign's own)

import os
import sys

from snakemake.settings.types import DeploymentMethod
from snakemake.utils import min_version

min_version("9.0")  # pyproject.toml pins snakemake>=9,<10: the profiles and rules are written for it

sys.path.insert(0, os.path.join(workflow.basedir, "workflow"))
# The conda route (--software-deployment-method conda): the environments of envs/ hold the dependencies only, so
# Snakemake imports this checkout's library and the jobs run it through workflow/bin/mblnn. The venv route (the
# default, `make run`) imports and runs the venv's mblnn, installed from this checkout.
if DeploymentMethod.CONDA in getattr(workflow.deployment_settings, "deployment_method", ()):
    sys.path.insert(0, os.path.join(workflow.basedir, "src"))
    os.environ["PATH"] = os.path.join(workflow.basedir, "workflow", "bin") + os.pathsep + os.environ["PATH"]

from mblnn.config import ConfigError, campaign_files, check_fits_machine, cuts_for, load_config, mpi_sizes, solver_for
from mblnn.errors import InputError
from mblnn.memory import available_memory_bytes
from mblnn.stack import require_mpi_stack
# the rules' vocabulary, by name: paths and job lists, each job's --config, resources (workflow/campaign/)
from campaign.jobconfig import confusion_config, job_config, spectrum_config, table_config, training_config
from campaign.paths import (CAMPAIGN_RECORD, DREAM, ENSEMBLE, FIGURE, TABLE, TABLE_FORMATS, classified_pattern,
                            diagonalize_group, diagonalize_rule, ensembles, figures, half_chain_cut, main_variant,
                            mpi_launcher_command, sample_paths, sample_pattern, source_ensemble, table_arguments,
                            report_title, table_inputs, tables, transferred_pattern, uses_mpi)
from campaign.resources import rule_resources
from mblnn.analyse.registry import TABLES
from mblnn.plot.catalogue import FIGURES

# The campaign's configuration, by the one rule of mblnn.config.load_config (the same for `mblnn check-config` and
# workflow/scripts/plan-requests, from any working directory): the --configfile files merged in order, or
# config/config.yaml (the default campaign) when none is given; --config on top; the schema's defaults for every other
# key. No `configfile:` directive: Snakemake would merge the default campaign's own choices (its realizations, its
# N = 12 cuts) under every other campaign, and only when started from the repository root. Errors end the run here
# with one line per problem (file and line for YAML syntax, the key otherwise) and no traceback; a syntax error in a
# --configfile is caught by Snakemake before this file runs and reported without a line: `mblnn check-config FILE`
# names it. The resolved configuration is written to results/campaign.yaml (rule campaign_record).
# (the default campaign by its path in the checkout: workflow.source_path would name a per-run cached copy)
CAMPAIGN_FILES = campaign_files(workflow.overwrite_configfiles, os.path.join(workflow.basedir, "config", "config.yaml"))
CAMPAIGN_OVERRIDES = dict(workflow.config_settings.config)
try:
    _resolved = load_config(*CAMPAIGN_FILES, overrides=CAMPAIGN_OVERRIDES)  # the package's schema
except ConfigError as error:
    sys.exit(f"mblnn: {error}\n(check the campaign alone: mblnn check-config {' '.join(map(str, CAMPAIGN_FILES))})")
config.clear()
config.update(_resolved)

report: "workflow/report/workflow.rst"


onstart:
    # before the first job of a real run (not a dry-run): jobs that run on this machine must fit its memory, and
    # samples under MPI need the MPI stack in this environment (jobs inherit it; `make run` installs it when needed)
    try:
        if workflow.local_exec:
            check_fits_machine(config, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 10**6)
        sizes = mpi_sizes(config, available_memory_bytes() if workflow.local_exec else float("inf"))
        if sizes:
            require_mpi_stack(f"this campaign (the samples of N = {', '.join(map(str, sizes))})")
    except InputError as error:
        sys.exit(f"mblnn: {error}")


include: "workflow/rules/common.smk"
include: "workflow/rules/diagonalize.smk"
include: "workflow/rules/learning.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/plots.smk"


# Figures and the report read tables only and take seconds: on a cluster they run where Snakemake runs.
localrules:
    all,
    campaign_record,
    figure,
    report_html,


rule all:
    input:
        lambda wc: expand(TABLE_OUTPUT, table=tables(config), suffix=TABLE_FORMATS),
        lambda wc: expand("results/figures/{figure}.{suffix}", figure=figures(config), suffix=["png", "pdf"]),
        "results/report.html",
        CAMPAIGN_RECORD,
