"""Test-wide set-up: the workflow's own package (workflow/campaign/) is importable as ``campaign``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

import pytest

#: test modules that need more than the library: an MPI launcher, Snakemake runs, the Slurm test cluster
_MODULE_MARKERS = {"test_mpi": "mpi", "test_elpa": "mpi", "test_workflow": "workflow", "test_campaigns": "workflow", "test_slurm": "slurm"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = _MODULE_MARKERS.get(item.module.__name__.rpartition(".")[2])
        if marker:
            item.add_marker(getattr(pytest.mark, marker))
