from math import comb

import numpy as np
import pytest
import scipy.sparse as sp

from mblnn.model.basis import SectorBasis, n_up_for_sector
from mblnn.errors import InputError
from mblnn.model.hamiltonian import Couplings, hamiltonian


@pytest.mark.parametrize("N, sz", [(8, 0), (10, 0), (9, 0.5), (10, -2)])
def test_sector_dimension_and_order(N, sz):
    basis = SectorBasis.build(N, sz)
    assert basis.dim == comb(N, basis.n_up)
    assert np.all(np.diff(basis.states) > 0)
    assert np.all(basis.spins.sum(axis=1) == sz)
    np.testing.assert_array_equal(basis.index(basis.states), np.arange(basis.dim))


def test_site_one_is_the_top_bit():
    basis = SectorBasis.build(4)
    s = basis.index(np.array([0b1100]))[0]
    np.testing.assert_array_equal(basis.spins[s], [0.5, 0.5, -0.5, -0.5])


@pytest.mark.parametrize("N, sz, key", [(9, 0, "even N"), (8, 0.5, "sz"), (8, 5, "sz"), (1, 0, "N")])
def test_bad_sectors(N, sz, key):
    with pytest.raises(InputError, match=key):
        n_up_for_sector(N, sz)


def test_hamiltonian_structure():
    basis = SectorBasis.build(10)
    fields = np.random.default_rng(0).uniform(-3, 3, 10)
    H = hamiltonian(basis, fields, Couplings(J=1.0))
    assert abs(H - H.T).max() == 0
    spins = basis.spins
    np.testing.assert_allclose(H.diagonal(), (spins[:, :-1] * spins[:, 1:]).sum(axis=1) + spins @ fields)
    # one flip-flop element J/2 per antiparallel bond of each state
    off = sp.csr_matrix(H - sp.diags(H.diagonal()))
    off.eliminate_zeros()
    assert set(np.unique(off.data)) == {0.5}
    assert off.nnz == (spins[:, :-1] != spins[:, 1:]).sum()


def test_clean_chain_ground_state_energy():
    """N = 2 singlet: E = -3J/4; the triplet m=0 state: +J/4."""
    basis = SectorBasis.build(2)
    H = hamiltonian(basis, np.zeros(2), Couplings(J=2.0)).toarray()
    np.testing.assert_allclose(np.linalg.eigvalsh(H), [-1.5, 0.5])
