"""Digests of every file of a Zarr store, recorded at completion and checked on read and by `mblnn verify`.

A store's writer calls :func:`file_digests` on the finished temporary directory (before an archive store is
packed: its entries are the directory's files) and records the
result in the root attribute ``mblnn_digests`` together with the completion marker (one metadata
write). The digests cover every chunk file and every array/group ``zarr.json`` below the root —
everything except the root ``zarr.json`` (which carries the digests themselves) and hidden files
(Snakemake's ``.snakemake_timestamp``). A chunk that Zarr did not write (all fill value) is not in
the list, so a listed file that is gone was deleted after completion.

Readers go through :class:`CheckedGroup`: before an array's first read its files are hashed and
compared, and any failure (missing file, wrong bytes, a decompression error) raises the reader's
error class (``StoreError`` for sample and classification stores) naming the store and the array. Stores written
before digests existed (no ``mblnn_digests``) are read unchecked; :func:`verify_store` reports them
as unverifiable.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mblnn.store.layout import StoreFiles, store_exists

DIGESTS_ATTRIBUTE = "mblnn_digests"
ALGORITHM = "sha256"


def store_files(root: str | os.PathLike) -> list[str]:
    """POSIX paths, relative to ``root``, of every file a store's digests cover (sorted), in either layout."""
    return [name for name in StoreFiles(root).names() if name != "zarr.json"]


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def file_digests(root: str | os.PathLike) -> dict:
    """``{"algorithm": "sha256", "files": {relative path: hex digest}}`` of a finished store."""
    contents = StoreFiles(root).contents(store_files(root))
    return {"algorithm": ALGORITHM, "files": {name: _digest(content) for name, content in contents}}


def check_files(root: str | os.PathLike, expected: dict[str, str]) -> list[str]:
    """Problems (empty if none) of the files ``expected`` (relative path -> digest) of the store at ``root``."""
    problems = []
    try:
        for name, content in StoreFiles(root).contents(sorted(expected)):
            if content is None:
                problems.append(f"{name}: missing")
            elif _digest(content) != expected[name]:
                problems.append(f"{name}: content differs from its digest (truncated or altered)")
    except (OSError, zipfile.BadZipFile) as error:  # a truncated archive, or an entry whose CRC fails
        problems.append(f"the store cannot be read ({type(error).__name__}: {error})")
    return problems


def root_attributes(root: str | os.PathLike) -> dict | None:
    """The attributes of a store's root group (one read of its ``zarr.json``), or None if unreadable."""
    try:
        return json.loads(StoreFiles(root).read("zarr.json")).get("attributes", {})
    except (OSError, ValueError, TypeError):
        return None


def recorded_digests(root: str | os.PathLike) -> dict[str, str] | None:
    """The digests a store recorded at completion, or None (no root metadata, or written before digests)."""
    recorded = (root_attributes(root) or {}).get(DIGESTS_ATTRIBUTE)
    return None if recorded is None else dict(recorded["files"])


@dataclass
class Verification:
    """Outcome of :func:`verify_store`: ``status`` is "ok", "unverifiable" (no digests) or "bad"."""

    path: Path
    status: str
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.status == "ok":
            return f"{self.path}: ok"
        if self.status == "unverifiable":
            return f"{self.path}: unverifiable ({self.problems[0]})"
        return f"{self.path}: BAD\n" + "\n".join(f"  {p}" for p in self.problems)


def verify_store(path: str | os.PathLike, is_complete: Callable[[Path], bool]) -> Verification:
    """Check every recorded file of the store at ``path`` (each read once).

    ``is_complete`` tells whether the store carries its completion marker; an incomplete or absent
    store is "bad" (a rerun must redo it), files present but not in the digests are reported too.
    """
    path = Path(path)
    if not store_exists(path):
        return Verification(path, "bad", ["no such store"])
    if not is_complete(path):
        return Verification(path, "bad", ["incomplete: no completion marker (its writer did not finish)"])
    expected = recorded_digests(path)
    if expected is None:
        return Verification(path, "unverifiable", ["no digests recorded: written by an mblnn before digests"])
    problems = check_files(path, expected)
    problems += [f"{name}: not recorded at completion (added later)" for name in store_files(path) if name not in expected]
    return Verification(path, "bad" if problems else "ok", problems)


class CheckedArray:
    """A zarr array whose reads first check its files against the store's digests (once per opened store)
    and turn any read failure into an error naming the store and the array. Attributes other than
    indexing (shape, dtype, chunks, metadata, …) are the zarr array's."""

    def __init__(self, array, root: Path, digests: dict[str, str] | None, error: type[Exception], checked: set[str]):
        self._array, self._root, self._digests, self._error = array, root, digests, error
        self._checked = checked  # array paths of this store already checked (shared by its group objects)

    def __getattr__(self, name):
        return getattr(self._array, name)

    def _fail(self, reason: str) -> Exception:
        return self._error(f"{self._root}: array {self._array.path!r} cannot be trusted ({reason}): "
                           f"`mblnn verify --remove-bad {self._root}` removes the store, then rerun the workflow to redo it")

    def _check(self) -> None:
        if self._digests is None or self._array.path in self._checked:
            return
        prefix = self._array.path + "/"
        problems = check_files(self._root, {k: v for k, v in self._digests.items() if k.startswith(prefix)})
        if problems:
            raise self._fail("; ".join(problems))
        self._checked.add(self._array.path)

    @property
    def raw(self):
        """The underlying zarr array (no checks), for lazy readers such as dask."""
        return self._array

    def __getitem__(self, key):
        self._check()
        try:
            return self._array[key]
        except Exception as error:  # codec errors (blosc, zstd) and metadata errors come as many types
            raise self._fail(f"{type(error).__name__}: {error}") from error

    @property
    def oindex(self) -> "_CheckedIndexer":
        return _CheckedIndexer(self, "oindex")

    @property
    def vindex(self) -> "_CheckedIndexer":
        return _CheckedIndexer(self, "vindex")

    def __array__(self, dtype=None, copy=None):
        values = self[...]
        return values if dtype is None else values.astype(dtype)


class _CheckedIndexer:
    """``array.oindex[...]`` / ``array.vindex[...]`` of a :class:`CheckedArray`, with the same checks."""

    def __init__(self, array: CheckedArray, kind: str):
        self._array, self._kind = array, kind

    def __getitem__(self, key):
        self._array._check()
        try:
            return getattr(self._array._array, self._kind)[key]
        except Exception as error:
            raise self._array._fail(f"{type(error).__name__}: {error}") from error


class CheckedGroup:
    """A read-only zarr group whose arrays and subgroups are :class:`CheckedArray` / :class:`CheckedGroup`."""

    def __init__(self, group, root: Path, digests: dict[str, str] | None, error: type[Exception],
                 checked: set[str] | None = None):
        self._group, self._root, self._digests, self._error = group, root, digests, error
        # one record per opened store: `group["mean"][i]` in a loop hashes the array's files only once
        self._checked = set() if checked is None else checked

    def __getattr__(self, name):
        return getattr(self._group, name)

    def __contains__(self, name) -> bool:
        return name in self._group

    def __getitem__(self, name):
        try:
            member = self._group[name]
        except KeyError:
            raise
        except Exception as error:
            raise self._error(f"{self._root}: {name!r} cannot be opened ({type(error).__name__}: {error}): "
                              f"`mblnn verify {self._root}` says what is damaged") from error
        wrap = CheckedArray if hasattr(member, "shape") else CheckedGroup
        return wrap(member, self._root, self._digests, self._error, self._checked)

    @property
    def raw(self):
        """The underlying zarr group (no checks), for lazy readers such as dask."""
        return self._group
