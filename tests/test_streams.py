"""Named random streams (mblnn.streams): no two purposes share a stream, and the legacy keys stay."""

import itertools

import numpy as np
import pytest

from mblnn import streams
from mblnn.config import ConfigError, validate_config
from mblnn.learn.confusion import CONFUSION_MEMBERS


def keys_of(name, sizes=range(2, 41, 2), realizations=range(0, 60), members=range(0, 120), hbars=(0.25, 0.5, 3.0, 12.0)):
    _, names, _ = streams.STREAMS[name]
    ranges = {"N": sizes, "realization": realizations, "member": members, "hbar": hbars}
    if name == "member_init":
        names = ("member",)
    for indices in itertools.product(*(ranges[n] for n in names)):
        yield streams.spawn_key(name, *indices)


def test_no_two_streams_of_one_seed_coincide():
    """Within each config seed every stream has keys of its own; across seeds only disorder (campaign seed) and
    member_init (training seed) share keys, and the config refuses equal seeds for them."""
    owner = {}
    members = list(range(120)) + list(range(CONFUSION_MEMBERS, CONFUSION_MEMBERS + 120))  # ensembles, confusion
    for name, (_, _, seed) in streams.STREAMS.items():
        for key in keys_of(name, members=members):
            other = owner.setdefault(key, (name, seed))
            if other[0] != name:
                assert {other[0], name} == {"disorder", "member_init"} and other[1] != seed, (name, other, key)


def test_the_config_refuses_equal_disorder_and_training_seeds():
    with pytest.raises(ConfigError, match="config key training.seed: 2017 equals the campaign seed"):
        validate_config({"sizes": [8], "hbar": [0.25, 3.0, 12.0], "training": {"seed": 2017}})


def test_equal_seeds_give_different_numbers_for_different_purposes():
    draws = {name: streams.generator(0, name, *([4] * (len(streams.STREAMS[name][1]) - (name == "member_init")))).random(4)
             for name in ("tr_subsample", "dream_starts", "critical_bootstrap")}
    draws["member 2"] = streams.generator(0, "member_init", 2).random(4)
    assert len({tuple(v) for v in draws.values()}) == len(draws)


def test_legacy_keys_are_kept():
    """Disorder and the ensemble members keep their keys: the same seeds give the same patterns and networks."""
    assert streams.spawn_key("disorder", 12, 3) == (12, 3)
    assert streams.spawn_key("member", 7) == (7,) and streams.spawn_key("member_init", 7) == (7, 1)
    legacy = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=2017, spawn_key=(12, 3))))
    np.testing.assert_array_equal(streams.generator(2017, "disorder", 12, 3).uniform(-1, 1, 12), legacy.uniform(-1, 1, 12))


def test_hbar_index_is_exact_and_indices_are_checked():
    assert streams.spawn_key("confusion_subsample", 10, 0, 0.1 + 0.2) != streams.spawn_key("confusion_subsample", 10, 0, 0.3)
    with pytest.raises(ValueError, match="realization"):
        streams.spawn_key("disorder", 10, -1)
    with pytest.raises(KeyError, match="no random stream"):
        streams.generator(0, "splits")
