"""The workflow's own logic, kept out of the library, in three modules: :mod:`campaign.paths` (which jobs a campaign
has, their file paths, the routing of N to its solver rule), :mod:`campaign.jobconfig` (the config keys each job
depends on, passed to its command as ``--config JSON``, so Snakemake's params trigger sees every key) and
:mod:`campaign.resources` (per-job requests from the cost models, retries). Plain Python on a validated config (no
Snakemake here): the Snakefile imports what the rules use by name, and the tests import the modules directly.
"""
