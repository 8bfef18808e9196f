"""Where a result came from: the commit of the code that wrote it and the versions of the software it ran with."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path


@functools.cache
def git_revision() -> str | None:
    """Commit of the checkout this package runs from (``-dirty`` if it has uncommitted changes), or
    None outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=40"],
            cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


#: the packages whose versions decide a result (the MPI stack's only where installed)
SOFTWARE = ("mblnn", "numpy", "scipy", "zarr", "tensorflow-cpu", "petsc", "petsc4py", "slepc", "slepc4py", "mpi4py")


@functools.cache
def software_versions() -> dict[str, str]:
    """``{package: version}`` of :data:`SOFTWARE` installed here (read from package metadata, nothing is imported) and
    the Python version; recorded in every store and in the report, beside ``requirements.lock``'s pins."""
    versions = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
