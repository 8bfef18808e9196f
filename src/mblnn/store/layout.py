"""Where a store's files live: a directory (``*.zarr``) or one uncompressed zip archive (``*.zarr.zip``).

The two layouts hold the same Zarr v3 hierarchy, file for file (the archive's entries are the directory's
relative POSIX paths), so every reader, digest and check works on both. The layout is chosen by the name:
a path ending in ``.zip`` is an archive, anything else a directory.

Why two: a directory store is what ``zarr`` and ``xarray`` open by path and what a person can inspect with
``ls``; an archive is one file per store, which is what a cluster's inode quota needs (a sample store of 7 cuts
is 62 files as a sharded directory, 1 as an archive; ``workflow`` config ``storage.layout``). Archives are
written with ``ZIP_STORED`` (the chunks are already Blosc-compressed) and fixed entry timestamps, so equal
content gives equal bytes. They are built as a directory under a hidden temporary name and packed; the
archive is renamed into place when complete (:mod:`mblnn.store.atomic`), so readers never see a partial one.

Open an archive elsewhere with ``zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r")`` (xarray:
``xarray.open_zarr(zarr.storage.ZipStore(path, mode="r"))``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import zarr

from mblnn.store.atomic import atomic_write, partial_prefix

ARCHIVE_SUFFIX = ".zip"
#: a fixed entry time (zip's epoch): the archive's bytes depend on the content only
_ENTRY_TIME = (1980, 1, 1, 0, 0, 0)


def is_archive(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a zip-archive store (by its name; it need not exist)."""
    return str(path).endswith(ARCHIVE_SUFFIX)


def is_store_name(path: str | os.PathLike) -> bool:
    """Whether ``path`` is named like a store: ``*.zarr`` or ``*.zarr.zip``."""
    name = Path(path).name
    return name.endswith(".zarr") or name.endswith(".zarr" + ARCHIVE_SUFFIX)


def store_exists(path: str | os.PathLike) -> bool:
    """Whether a store of ``path``'s layout is there (a directory, or an archive file)."""
    path = Path(path)
    return path.is_file() if is_archive(path) else path.is_dir()


def _hidden(name: str) -> bool:
    return any(part.startswith(".") for part in name.split("/"))


class StoreFiles:
    """Read-only access to the files of one store, by their POSIX paths relative to its root, in either layout.

    Hidden files (Snakemake's ``.snakemake_timestamp``) are not the store's and are never listed.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.archive = is_archive(self.path)

    def names(self) -> list[str]:
        """Every file of the store (sorted); empty if there is no store."""
        if not store_exists(self.path):
            return []
        if self.archive:
            with zipfile.ZipFile(self.path) as archive:
                names = [i.filename for i in archive.infolist() if not i.is_dir()]
        else:
            names = [p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()]
        return sorted(name for name in names if not _hidden(name))

    def contents(self, names):
        """Yield ``(name, bytes)`` for each of ``names`` in turn (bytes None for a file that is not there),
        opening an archive once; one file is in memory at a time."""
        if not store_exists(self.path):
            yield from ((name, None) for name in names)
        elif not self.archive:
            for name in names:
                file = self.path / name
                yield name, file.read_bytes() if file.is_file() else None
        else:
            with zipfile.ZipFile(self.path) as archive:
                present = set(archive.namelist())
                for name in names:
                    yield name, archive.read(name) if name in present else None

    def read(self, name: str) -> bytes | None:
        """The bytes of one file, or None if it is not there (or the archive is unreadable)."""
        try:
            return next(self.contents([name]))[1]
        except (OSError, zipfile.BadZipFile):
            return None


def open_group(path: str | os.PathLike) -> zarr.Group:
    """The root group of the store at ``path``, read-only, in either layout."""
    path = Path(path)
    if is_archive(path):
        return zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r", zarr_format=3)
    return zarr.open_group(path, mode="r", zarr_format=3)


def pack(directory: str | os.PathLike, archive: str | os.PathLike) -> None:
    """Write every (non-hidden) file below ``directory`` into the zip ``archive``: stored, sorted, fixed times."""
    directory = Path(directory)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as out:
        for name in StoreFiles(directory).names():
            info = zipfile.ZipInfo(name, date_time=_ENTRY_TIME)
            info.external_attr = 0o644 << 16
            out.writestr(info, (directory / name).read_bytes())


def write_store(path: str | os.PathLike, build: Callable[[Path], None]) -> Path:
    """Build a store with ``build(directory)`` and put it at ``path`` atomically, in ``path``'s layout.

    ``build`` always writes a directory (Zarr's local store); for an archive that directory is a hidden
    temporary sibling, packed and removed. A killed writer leaves only hidden ``.NAME.partial-*`` entries.
    """
    path = Path(path)
    if not is_archive(path):
        return atomic_write(path, build, directory=True)

    def write(archive: Path) -> None:
        directory = Path(tempfile.mkdtemp(dir=path.parent, prefix=partial_prefix(path)))
        try:
            build(directory)
            pack(directory, archive)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    return atomic_write(path, write)


def remove_store(path: str | os.PathLike) -> None:
    """Delete a store in either layout."""
    path = Path(path)
    shutil.rmtree(path) if path.is_dir() else path.unlink()
