"""Atomic creation of result files and directories.

A result appears under its final name only when it is complete: it is written under a hidden
temporary name in the same directory (so the final rename never crosses a file system) and renamed
into place at the end. A killed writer leaves at most a hidden ``.NAME.partial-*`` entry, which no
reader picks up and the next write of the same target removes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def partial_prefix(path: Path) -> str:
    """The hidden name prefix of the temporaries of a writer of ``path``."""
    return f".{path.name}.partial-"


def remove_stale_partials(path: str | os.PathLike) -> None:
    """Remove leftovers of killed writers of ``path`` (one writer per target is assumed)."""
    path = Path(path)
    for leftover in path.parent.glob(partial_prefix(path) + "*"):
        shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None], directory: bool = False) -> Path:
    """Call ``write(temporary)`` and rename the temporary file (or directory) to ``path``.

    An existing ``path`` is replaced only after the new one is complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(path)
    if directory:
        temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=partial_prefix(path)))
    else:
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=partial_prefix(path))
        os.close(handle)
        temporary = Path(name)
    try:
        write(temporary)
        # mkstemp/mkdtemp create owner-only entries; a result gets the permissions a plain open() or
        # mkdir() would give it (the umask's), so that a group sharing a campaign directory can read it
        temporary.chmod((0o777 if directory else 0o666) & ~_umask())
        if directory and path.exists():
            # directories cannot be replaced in one rename: move the old one aside first
            retired = Path(tempfile.mkdtemp(dir=path.parent, prefix=partial_prefix(path)))
            os.replace(path, retired / "old")
            os.replace(temporary, path)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True) if temporary.is_dir() else temporary.unlink(missing_ok=True)
        raise
    return path
