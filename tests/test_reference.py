"""mblnn's sector ED and block-wise entanglement against the brute-force Kronecker reference."""

import numpy as np
import pytest
from brute_force import largest_block_indices, reduced_density_matrix, sector_eigenpairs

from mblnn.model.basis import SectorBasis
from mblnn.observables.entanglement import entanglement
from mblnn.model.hamiltonian import Couplings, hamiltonian
from mblnn.solve.dense import diagonalize_dense

CASES = [(6, (1, 2, 3, 5)), (8, (2, 4, 5, 7)), (10, (3, 5, 6))]


@pytest.fixture(scope="module", params=CASES, ids=lambda case: f"N{case[0]}")
def pair(request):
    N, cuts = request.param
    fields = np.random.default_rng(100 + N).uniform(-2.0, 2.0, N)
    J = 1.3  # not 1, so that a misplaced J would show
    ref_energies, ref_vectors = sector_eigenpairs(fields, J)
    basis = SectorBasis.build(N)
    ours = diagonalize_dense(hamiltonian(basis, fields, Couplings(J=J)))
    return N, cuts, ref_energies, ref_vectors, basis, ours


def test_energies_agree(pair):
    _, _, ref_energies, _, _, ours = pair
    np.testing.assert_allclose(ours.energies, ref_energies, atol=1e-10, rtol=0)


def test_entanglement_agrees(pair):
    N, cuts, ref_energies, ref_vectors, basis, ours = pair
    assert np.min(np.diff(ref_energies)) > 1e-8, "random fields should leave no degeneracy"
    states = np.arange(0, basis.dim, max(1, basis.dim // 40))  # the reference is O(4^N) per state
    for method in ("svd", "gram", "rho_float64"):
        results = entanglement(ours.vectors[:, states], basis, cuts, method=method, return_rho_spectrum=True)
        for N_A in cuts:
            cut = results[N_A]
            block = largest_block_indices(N_A)
            for i, n in enumerate(states):
                rho = reduced_density_matrix(ref_vectors[:, n], N_A)
                assert abs(np.trace(rho) - 1) < 1e-12
                lam = np.sort(np.linalg.eigvalsh(rho))[::-1]
                np.testing.assert_allclose(cut.rho_spectrum[i], lam, atol=1e-12)
                positive = lam[lam > 1e-300]
                assert cut.entropy[i] == pytest.approx(-np.sum(positive * np.log(positive)), abs=1e-10)
                assert cut.schmidt_gap[i] == pytest.approx(lam[0] - lam[1], abs=1e-12)
                block_lam = np.sort(np.linalg.eigvalsh(rho[np.ix_(block, block)]))[::-1]
                assert cut.spectrum.shape[1] == len(block)
                # ξ = -ln λ is only meaningful where the reference resolves λ
                resolved = block_lam > 1e-9
                np.testing.assert_allclose(cut.spectrum[i][resolved], -np.log(block_lam[resolved]), atol=1e-6)
                np.testing.assert_allclose(np.exp(-cut.spectrum[i]), np.clip(block_lam, 0, None), atol=1e-12)
