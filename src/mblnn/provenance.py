"""Where a result came from: the commit of the code that wrote it."""

from __future__ import annotations

import functools
import subprocess
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
