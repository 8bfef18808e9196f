# Wildcard patterns of the campaign's files (paths and job lists: workflow/campaign/paths.py), and its configuration record.

import json
import shlex

TABLE_OUTPUT = "results/tables/{table}.{suffix}"


def store_output(pattern):
    """A store as a rule's output: a directory (``*.zarr``), or one file in the archive layout (``*.zarr.zip``)."""
    return directory(pattern) if pattern.endswith(".zarr") else pattern


wildcard_constraints:
    N=r"\d+",
    N_A=r"\d+",
    hbar=r"\d+(\.\d+)?(e[+-]?\d+)?",
    realization=r"\d+",
    variant=r"[A-Za-z0-9_]+",
    target=r"eth|mbl",
    source=r"[A-Za-z0-9_]+",


# The campaign's resolved configuration (every key, schema defaults included; which files, overrides and code) beside
# its results: a campaign file itself. Its params hold the whole configuration, so an edit reruns this job and only it.
rule campaign_record:
    output:
        CAMPAIGN_RECORD,
    params:
        files=lambda wc: " ".join(shlex.quote(str(path)) for path in CAMPAIGN_FILES),
        overrides=lambda wc: json.dumps(CAMPAIGN_OVERRIDES, sort_keys=True),
        resolved=lambda wc: json.dumps(config, sort_keys=True, default=str),
    log:
        "results/logs/campaign_record.log",
    shell:
        "mblnn check-config {params.files} --config {params.overrides:q} --out {output} > {log} 2>&1"
