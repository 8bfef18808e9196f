# Wildcard patterns of the campaign's files (paths and job lists: workflow/campaign.py).

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
