import numpy as np
import pytest

from mblnn.model.disorder import disorder_draws, explicit_fields, random_fields
from mblnn.errors import InputError


def test_same_inputs_bit_identical():
    a = random_fields(seed=7, N=16, realization=3, hbar=2.5)
    b = random_fields(seed=7, N=16, realization=3, hbar=2.5)
    assert a.tobytes() == b.tobytes()


def test_realizations_seeds_and_sizes_differ():
    base = disorder_draws(7, 16, 0)
    assert not np.array_equal(base, disorder_draws(7, 16, 1))
    assert not np.array_equal(base, disorder_draws(8, 16, 0))
    assert not np.array_equal(base[:14], disorder_draws(7, 14, 0))


def test_hbar_only_rescales_exactly():
    h1 = random_fields(7, 12, 4, 1.5)
    h2 = random_fields(7, 12, 4, 3.0)
    assert np.array_equal(h2, 2 * h1)  # exact, not approximate
    assert np.array_equal(random_fields(7, 12, 4, 0.0), np.zeros(12))


def test_range():
    u = np.concatenate([disorder_draws(1, 20, k) for k in range(200)])
    assert u.min() >= -1 and u.max() < 1
    assert abs(u.mean()) < 0.05 and u.std() == pytest.approx(1 / np.sqrt(3), abs=0.02)


@pytest.mark.parametrize("kwargs, key", [
    (dict(seed=-1, N=8, realization=0, hbar=1.0), "seed"),
    (dict(seed=0, N=8, realization=-2, hbar=1.0), "realization"),
    (dict(seed=0, N=8, realization=0, hbar=-1.0), "hbar"),
    (dict(seed=0, N=8, realization=0, hbar=float("nan")), "hbar"),
])
def test_bad_input_names_the_key(kwargs, key):
    with pytest.raises(InputError, match=key):
        random_fields(**kwargs)


def test_explicit_fields():
    np.testing.assert_array_equal(explicit_fields([1, 2, 3, 4], 4), [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(InputError, match="one value per site"):
        explicit_fields([1, 2, 3], 4)
