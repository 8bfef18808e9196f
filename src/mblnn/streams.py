"""Every random stream of mblnn, by name, in one place.

A stream is a :class:`numpy.random.SeedSequence` of ``entropy`` = one of the config's seeds and a ``spawn_key``
that names its purpose and indexes it: ``generator(seed, "dream_starts")``, ``generator(seed, "disorder", N,
realization)``. Distinct (name, indices) give distinct spawn keys (``tests/test_streams.py``), so two purposes
never share random numbers even when their seeds are equal (``training.seed`` and ``analysis.seed`` both default
to 0). Streams are independent of the process, the rank, the job order and of each other.

The first three keep the spawn keys they always had (changing them would change every disorder pattern and
every trained network): ``disorder`` (N, realization), ``member`` (member,) and ``member_init`` (member, 1), with
N, member < 2**30. ``disorder`` at (N, 1) and ``member_init`` of member N have the same key: they are drawn with
different seeds (``seed``, ``training.seed``), and the config check refuses a campaign where the two are equal.
The confusion networks are members from 2**20 (:data:`mblnn.learn.confusion.CONFUSION_MEMBERS`), so their
streams are never an ensemble member's. Every other stream starts with its own tag ≥ 2**30, which no legacy key
can hold.
"""

from __future__ import annotations

import hashlib

import numpy as np

from mblnn.hbar import hbar_key

_TAG = 2**30
_INDEX_LIMIT = 2**30

#: name: (spawn-key prefix, names of the indices, which config seed it is drawn with)
STREAMS: dict[str, tuple[tuple[int, ...], tuple[str, ...], str]] = {
    "disorder": ((), ("N", "realization"), "seed"),
    "member": ((), ("member",), "training.seed"),
    "member_init": ((), ("member", "one"), "training.seed"),
    "tr_subsample": ((_TAG + 1,), (), "training.seed"),
    "dream_starts": ((_TAG + 2,), (), "training.seed"),
    "critical_bootstrap": ((_TAG + 3,), (), "analysis.seed"),
    "confusion_subsample": ((_TAG + 4,), ("N", "realization", "hbar"), "finite_size.confusion.seed"),
    "crossing_bootstrap": ((_TAG + 5,), (), "finite_size.seed"),
    "level_crossing_bootstrap": ((_TAG + 6,), (), "finite_size.seed"),
    "collapse_bootstrap": ((_TAG + 7,), (), "finite_size.seed"),
}


def hbar_words(hbar: float) -> tuple[int, int]:
    """A disorder strength as two 32-bit words of the SHA-256 of its canonical key (exact, unlike rounding)."""
    digest = hashlib.sha256(hbar_key(hbar).encode()).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little")


def spawn_key(name: str, *indices) -> tuple[int, ...]:
    """The spawn key of stream ``name`` at ``indices`` (see :data:`STREAMS`; an ``hbar`` index is a float)."""
    if name not in STREAMS:
        raise KeyError(f"no random stream {name!r}; streams: {', '.join(STREAMS)}")
    prefix, names, _ = STREAMS[name]
    if name == "member_init":
        indices = (*indices, 1)
    if len(indices) != len(names):
        raise TypeError(f"stream {name!r} takes indices {names}, got {indices}")
    key: list[int] = list(prefix)
    for index_name, value in zip(names, indices):
        if index_name == "hbar":
            key.extend(hbar_words(value))
            continue
        value = int(value)
        if not 0 <= value < _INDEX_LIMIT:
            raise ValueError(f"stream {name!r}: {index_name}={value} outside [0, 2**30)")
        key.append(value)
    return tuple(key)


def sequence(seed: int, name: str, *indices) -> np.random.SeedSequence:
    """The :class:`~numpy.random.SeedSequence` of stream ``name`` at ``indices`` under ``seed``."""
    return np.random.SeedSequence(entropy=int(seed), spawn_key=spawn_key(name, *indices))


def generator(seed: int, name: str, *indices) -> np.random.Generator:
    """A PCG64 generator of stream ``name`` at ``indices`` under ``seed``."""
    return np.random.Generator(np.random.PCG64(sequence(seed, name, *indices)))
