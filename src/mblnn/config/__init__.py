"""Campaign configuration: where it comes from, schema validation with defaults, and the checks a schema cannot express.

Where a campaign's configuration comes from (:func:`load_config`; the same for the Snakefile, ``mblnn check-config``
and ``workflow/scripts/plan-requests``, from any working directory): the campaign files named, merged key by key in
order, or the default campaign ``config/config.yaml`` when none is named; then the command line's overrides
(Snakemake's ``--config``); every key left unset takes the schema's default. The default campaign is a campaign like
any other: its choices never reach a campaign that names its own file.

The package by job: :mod:`mblnn.schema` (the schema and its defaults, on the bottom floor, so that every module can
take a default without importing this package), :mod:`mblnn.config.files` (where a configuration comes from),
:mod:`mblnn.config.checks` (what a schema cannot express), :mod:`mblnn.config.derived` (values read off a validated
configuration). The names below are the campaign-level interface the CLI, the workflow and the tests use.
"""

from mblnn.config.checks import check_fits_machine, validate_config
from mblnn.config.derived import VARIANT_OVERRIDES, cuts_for, mpi_sizes, solver_for, variant_training
from mblnn.config.files import (DEFAULT_CAMPAIGN, campaign_files, campaign_record, load_config, merge_configs,
                                read_config_file)
from mblnn.schema import (DEFAULT_SCHEMA, ConfigError, default, parse_config_json, read_config_json,
                          validate_sections)

__all__ = ["DEFAULT_CAMPAIGN", "DEFAULT_SCHEMA", "VARIANT_OVERRIDES", "ConfigError", "campaign_files", "campaign_record",
           "check_fits_machine", "cuts_for", "default", "load_config", "merge_configs", "mpi_sizes", "parse_config_json",
           "read_config_file", "read_config_json", "solver_for", "validate_config", "validate_sections", "variant_training"]
