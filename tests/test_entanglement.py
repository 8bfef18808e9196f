from math import comb

import numpy as np
import pytest

from mblnn.model.basis import SectorBasis
from mblnn.observables.entanglement import (
    LAMBDA_FLOOR,
    check_cuts,
    entanglement,
    largest_block_size,
)
from mblnn.errors import InputError
from mblnn.model.hamiltonian import hamiltonian
from mblnn.solve.dense import diagonalize_dense


@pytest.fixture(scope="module")
def chain12():
    basis = SectorBasis.build(12)
    spectrum = diagonalize_dense(hamiltonian(basis, np.random.default_rng(3).uniform(-1, 1, 12)))
    return basis, spectrum


def test_orthonormal_eigenvectors(chain12):
    _, spectrum = chain12
    V = spectrum.vectors
    np.testing.assert_allclose(V.T @ V, np.eye(V.shape[1]), atol=1e-12)
    assert np.all(np.diff(spectrum.energies) >= 0)
    assert spectrum.energy_density[0] == 0 and spectrum.energy_density[-1] == 1


def test_trace_one_and_ranges(chain12):
    basis, spectrum = chain12
    for N_A, cut in entanglement(spectrum.vectors, basis, range(1, 12)).items():
        np.testing.assert_allclose(cut.trace, 1.0, atol=1e-12)
        assert np.all(cut.entropy >= -1e-14) and np.all(cut.entropy <= min(N_A, 12 - N_A) * np.log(2) + 1e-12)
        assert np.all((cut.schmidt_gap >= 0) & (cut.schmidt_gap <= 1))
        assert cut.spectrum.shape == (basis.dim, comb(N_A, N_A // 2))
        assert np.all(np.diff(cut.spectrum, axis=1) >= 0), "ES is sorted ascending"
        assert np.all(np.isfinite(cut.spectrum)) and cut.spectrum.max() <= -np.log(LAMBDA_FLOOR["svd"]) + 1e-12


def test_methods_and_chunking_agree(chain12):
    basis, spectrum = chain12
    svd = entanglement(spectrum.vectors, basis, [6], method="svd")[6]
    gram = entanglement(spectrum.vectors, basis, [6], method="gram", chunk=37)[6]
    np.testing.assert_allclose(svd.entropy, gram.entropy, atol=1e-10)
    np.testing.assert_allclose(svd.schmidt_gap, gram.schmidt_gap, atol=1e-12)
    resolved = svd.spectrum < 20  # λ > 2e-9: both methods resolve it
    np.testing.assert_allclose(svd.spectrum[resolved], gram.spectrum[resolved], atol=1e-5)
    assert gram.spectrum.max() <= -np.log(LAMBDA_FLOOR["gram"]) + 1e-12


def test_rho_float64_keeps_the_rounding_noise():
    """Deep in the MBL regime (h̄ = 12, N = 12) most of the half-chain block's λ lie below 1e-16. ``rho_float64``
    agrees with the SVD to the eigensolver's absolute accuracy (a few ε_mach · λ_max) everywhere, and below that
    gives rounding noise: finite, far from the SVD's value in relative terms, different from state to state — not
    the constant plateau of ``gram``."""
    basis = SectorBasis.build(12)
    spectrum = diagonalize_dense(hamiltonian(basis, 12.0 * np.random.default_rng(5).uniform(-1, 1, 12)))
    middle = spectrum.vectors[:, 300:600]
    svd = entanglement(middle, basis, [6], method="svd")[6].spectrum
    noisy = entanglement(middle, basis, [6], method="rho_float64")[6].spectrum
    gram = entanglement(middle, basis, [6], method="gram")[6].spectrum
    np.testing.assert_allclose(np.exp(-noisy), np.exp(-svd), rtol=0, atol=10 * np.finfo(float).eps)
    assert np.all(np.isfinite(noisy)) and np.all(np.diff(noisy, axis=1) >= 0)
    assert np.all(noisy <= -np.log(LAMBDA_FLOOR["rho_float64"]) + 1e-12)
    below = svd > -np.log(1e-16)
    assert below.mean() > 0.3, "the test needs states with levels below the double-precision resolution"
    deep = svd > -np.log(1e-24)
    assert np.median(np.abs(noisy[deep] - svd[deep])) > np.log(10), "below ~1e-20 the float64 values are noise"
    assert np.unique(np.round(noisy[below], 6)).size > 0.5 * below.sum()
    assert np.mean(gram[below] == -np.log(LAMBDA_FLOOR["gram"])) > 0.95  # gram's plateau at -ln ε_mach


def test_product_state():
    """A Néel product state has S = 0, Schmidt gap 1 and one λ = 1 in its own block only."""
    basis = SectorBasis.build(8)
    vector = np.zeros((basis.dim, 1))
    vector[basis.index(np.array([0b10101010]))] = 1
    for N_A, cut in entanglement(vector, basis, [3, 4]).items():
        assert cut.entropy[0] == pytest.approx(0, abs=1e-15)
        assert cut.schmidt_gap[0] == pytest.approx(1)
    # cut 4: A = ↑↓↑↓ holds 2 = ⌊4/2⌋ up spins, so λ = 1 is the lowest level of the largest block
    assert entanglement(vector, basis, [4])[4].spectrum[0, 0] == pytest.approx(0)
    # cut 3: A = ↑↓↑ holds 2 up spins, not ⌊3/2⌋ = 1: the largest block is empty
    assert np.all(entanglement(vector, basis, [3])[3].spectrum == -np.log(LAMBDA_FLOOR["svd"]))


def test_singlet_pairs_maximal_entanglement():
    """Singlets on bonds (1,2) and (3,4): a cut through a singlet gives ln 2, one between them 0."""
    basis = SectorBasis.build(4)
    psi = np.zeros(basis.dim)
    for a in (0b10, 0b01):
        for b in (0b10, 0b01):
            sign = (1 if a == 0b10 else -1) * (1 if b == 0b10 else -1)
            psi[basis.index(np.array([(a << 2) | b]))] = sign / 2
    cuts = entanglement(psi[:, None], basis, [1, 2])
    assert cuts[1].entropy[0] == pytest.approx(np.log(2))
    assert cuts[2].entropy[0] == pytest.approx(0, abs=1e-14)
    assert cuts[1].schmidt_gap[0] == pytest.approx(0, abs=1e-14)


def test_largest_block_sizes():
    assert [largest_block_size(n) for n in (1, 2, 6, 7, 8, 9)] == [1, 2, 20, 35, 70, 126]


@pytest.mark.parametrize("cuts", [[0], [12], [-1], []])
def test_bad_cuts(cuts):
    with pytest.raises(InputError, match="cuts"):
        check_cuts(12, cuts)


def test_bad_vector_shape_and_method(chain12):
    basis, spectrum = chain12
    with pytest.raises(InputError, match="vectors"):
        entanglement(spectrum.vectors[:-1], basis, [6])
    with pytest.raises(InputError, match="method"):
        entanglement(spectrum.vectors, basis, [6], method="qr")
