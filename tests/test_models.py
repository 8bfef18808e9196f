"""Models beyond Eq. (5) (XXZ anisotropy, next-nearest J2, periodic chains, Gaussian and quasiperiodic fields) against
the brute-force Kronecker reference, and how a campaign records them."""

import json

import numpy as np
import pytest
from brute_force import reduced_density_matrix, sector_eigenpairs

from campaign.jobconfig import spectrum_config
from mblnn.config import ConfigError, validate_config
from mblnn.errors import InputError
from mblnn.model.basis import SectorBasis
from mblnn.model.disorder import field_pattern, random_fields
from mblnn.model.hamiltonian import Couplings, hamiltonian
from mblnn.observables.entanglement import entanglement
from mblnn.sample import SampleSpec, diagonalize_sample
from mblnn.solve.dense import diagonalize_dense
from mblnn.store.samples import open_sample_store, read_sample, write_sample_store

#: (N, periodic, with J2): every new term alone and together, on both boundaries
MODELS = [(6, True, False), (6, False, True), (8, True, True), (8, False, True), (10, True, True)]


def random_model(N, periodic, with_J2, seed):
    rng = np.random.default_rng(seed)
    couplings = Couplings(J=rng.uniform(0.5, 1.5), delta=rng.uniform(-1.5, 2.0), J2=rng.uniform(0.2, 1.0) if with_J2 else 0.0,
                          boundary="periodic" if periodic else "open")
    return couplings, rng.uniform(-2.0, 2.0, N)


@pytest.mark.parametrize("N, periodic, with_J2", MODELS)
def test_new_terms_agree_with_the_kronecker_reference(N, periodic, with_J2):
    """Random J, Δ, J2 and fields: the sector spectrum (1e-10) and the reduced density matrices of a few eigenstates
    (explicit partial trace) agree."""
    couplings, fields = random_model(N, periodic, with_J2, seed=10 * N + periodic + 2 * with_J2)
    reference, vectors = sector_eigenpairs(fields, couplings.J, delta=couplings.delta, J2=couplings.J2, periodic=periodic)
    basis = SectorBasis.build(N)
    ours = diagonalize_dense(hamiltonian(basis, fields, couplings))
    np.testing.assert_allclose(ours.energies, reference, atol=1e-10, rtol=0)
    assert np.min(np.diff(reference)) > 1e-8, "random couplings should leave no degeneracy"
    states = np.arange(0, basis.dim, max(1, basis.dim // 8))
    N_A = N // 2
    cut = entanglement(ours.vectors[:, states], basis, (N_A,), return_rho_spectrum=True)[N_A]
    for i, n in enumerate(states):
        lam = np.sort(np.linalg.eigvalsh(reduced_density_matrix(vectors[:, n], N_A)))[::-1]
        np.testing.assert_allclose(cut.rho_spectrum[i], lam, atol=1e-12)


def test_odd_chains_and_other_sectors_agree_too():
    """N = 7 periodic with J2 in the S^z = 1/2 sector: the eigenvalues are those of the full 2^N matrix restricted to
    the states with four up spins."""
    from brute_force import full_hamiltonian, total_sz

    couplings, fields = random_model(7, True, True, seed=3)
    H = full_hamiltonian(fields, couplings.J, delta=couplings.delta, J2=couplings.J2, periodic=True)
    sector = np.nonzero(np.isclose(np.diag(total_sz(7)).real, 0.5))[0]
    reference = np.linalg.eigvalsh(H[np.ix_(sector, sector)])
    ours = np.linalg.eigvalsh(hamiltonian(SectorBasis.build(7, 0.5), fields, couplings).toarray())
    np.testing.assert_allclose(ours, reference, atol=1e-10, rtol=0)


def test_the_default_couplings_are_eq_5():
    """Couplings() is J = 1, Δ = 1, J2 = 0, open: the N - 1 bonds of the open chain and nothing else; a periodic
    chain adds one bond, J2 the next-nearest ones (two more on a ring)."""
    assert [(b.a, b.b, b.xy, b.zz) for b in Couplings().bonds(4)] == [(1, 2, 1.0, 1.0), (2, 3, 1.0, 1.0), (3, 4, 1.0, 1.0)]
    ring = Couplings(J=2.0, delta=0.5, J2=0.3, boundary="periodic").bonds(6)
    assert [(b.a, b.b) for b in ring] == [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 1), (1, 3), (2, 4), (3, 5), (4, 6),
                                          (5, 1), (6, 2)]
    assert {(b.xy, b.zz) for b in ring[:6]} == {(2.0, 1.0)} and {(b.xy, b.zz) for b in ring[6:]} == {(0.3, 0.3)}


@pytest.mark.parametrize("make, message", [
    (lambda: Couplings(boundary="twisted"), "model.boundary must be one of"),
    (lambda: Couplings(delta=float("nan")), "model.delta must be a finite number"),
    (lambda: Couplings(boundary="periodic").bonds(2), "model.boundary: a periodic chain needs N >= 3"),
    (lambda: field_pattern(1, 8, 0, "lorentzian"), "model.fields must be one of"),
    (lambda: SampleSpec(N=8, hbar=1.0, distribution="lorentzian").validated(), "model.fields must be one of"),
])
def test_bad_models_name_their_key(make, message):
    with pytest.raises(InputError, match=message):
        make()


@pytest.mark.parametrize("model, message", [
    ({"fields": "lorentzian"}, r"model\.fields"),
    ({"boundary": "twisted"}, r"model\.boundary"),
    ({"beta": 0}, r"model\.beta"),
    ({"J2": "strong"}, r"model\.J2"),
    ({"frustration": 1}, r"model"),
])
def test_the_schema_names_the_model_key(model, message):
    with pytest.raises(ConfigError, match=message):
        validate_config({"sizes": [8], "hbar": [0.25, 3.0, 12.0], "model": model})


def test_gaussian_fields_are_standard_normal_and_deterministic():
    u = np.concatenate([field_pattern(1, 20, k, "gaussian") for k in range(500)])
    assert abs(u.mean()) < 0.03 and u.std() == pytest.approx(1.0, abs=0.03)
    assert np.array_equal(random_fields(1, 12, 3, 2.0, "gaussian"), 2.0 * field_pattern(1, 12, 3, "gaussian"))
    assert field_pattern(1, 12, 3, "gaussian").tobytes() == field_pattern(1, 12, 3, "gaussian").tobytes()


def test_quasiperiodic_fields_are_aubry_andre_with_one_phase_per_realization():
    """h_r = h̄ cos(2π β r + φ): the phase read off site 1 predicts every site; phases differ between realizations
    and cover [0, 2π); β is the inverse golden ratio unless given; 2h̄ gives exactly twice the fields."""
    beta = (np.sqrt(5) - 1) / 2
    phases = []
    for realization in range(400):
        h = random_fields(5, 12, realization, 3.0, "quasiperiodic")
        assert np.abs(h).max() <= 3.0
        r = np.arange(1, 13)
        # φ from sites 1 and 2 (cos fixes it up to a sign; the second site decides)
        candidates = [sign * np.arccos(h[0] / 3.0) - 2 * np.pi * beta for sign in (1, -1)]
        errors = [np.abs(3.0 * np.cos(2 * np.pi * beta * r + phi) - h).max() for phi in candidates]
        assert min(errors) < 1e-12
        phases.append(np.mod(candidates[int(np.argmin(errors))], 2 * np.pi))
    counts = np.histogram(phases, bins=4, range=(0, 2 * np.pi))[0]
    assert counts.min() > 70, counts  # 100 expected per quarter
    other = random_fields(5, 12, 0, 3.0, "quasiperiodic", beta=0.3)
    assert not np.allclose(other, random_fields(5, 12, 0, 3.0, "quasiperiodic"))
    assert np.array_equal(random_fields(5, 12, 7, 6.0, "quasiperiodic"), 2 * random_fields(5, 12, 7, 3.0, "quasiperiodic"))


def test_a_sample_records_its_whole_model_and_reads_back(tmp_path):
    """A non-default model is in the store's provenance (every key), its boundary in `boundary`, and read_sample gives
    back the same spec; the paper's model records no `model` key at all (its stores stay as they were)."""
    spec = SampleSpec(N=8, hbar=2.0, seed=3, realization=1, cuts=(4,), delta=0.5, J2=0.25, boundary="periodic",
                      distribution="quasiperiodic")
    result = diagonalize_sample(spec)
    path = write_sample_store(result, tmp_path / "qp.zarr")
    attrs = open_sample_store(path).attrs
    assert attrs["boundary"] == "periodic"
    assert attrs["model"] == {"delta": 0.5, "J2": 0.25, "fields": "quasiperiodic", "beta": (np.sqrt(5) - 1) / 2,
                              "boundary": "periodic"}
    back = read_sample(path)
    assert back.spec == result.spec and back.spec.couplings == Couplings(1.0, 0.5, 0.25, "periodic")
    np.testing.assert_array_equal(back.fields, random_fields(3, 8, 1, 2.0, "quasiperiodic"))
    paper = write_sample_store(diagonalize_sample(SampleSpec(N=8, hbar=2.0, seed=3, cuts=(4,))), tmp_path / "paper.zarr")
    attrs = open_sample_store(paper).attrs
    assert "model" not in attrs and attrs["boundary"] == "open"


def test_only_a_non_default_model_reaches_the_job_commands():
    """The paper's model: the spectrum jobs' --config holds J and sz only (existing campaigns neither rerun nor change
    bytes); any other model: every model key the sample depends on (beta only with quasiperiodic fields)."""
    base = {"sizes": [8], "hbar": [0.25, 3.0, 12.0]}
    paper = json.loads(spectrum_config(validate_config(dict(base)), 8))
    assert paper["model"] == {"J": 1.0, "sz": 0}
    xxz = json.loads(spectrum_config(validate_config({**base, "model": {"delta": 0.5}}), 8))
    assert xxz["model"] == {"J": 1.0, "sz": 0, "delta": 0.5, "J2": 0.0, "fields": "uniform", "boundary": "open"}
    qp = json.loads(spectrum_config(validate_config({**base, "model": {"fields": "quasiperiodic"}}), 8))
    assert qp["model"]["fields"] == "quasiperiodic" and qp["model"]["beta"] == pytest.approx(0.618034, abs=1e-6)


def test_cross_key_model_checks_name_the_key():
    """beta without quasiperiodic fields is refused; Fig. 6 compares cuts as places along an open chain, so a periodic
    campaign with several cuts is refused, naming the key; with one cut it validates."""
    base = {"sizes": [8], "hbar": [0.25, 3.0, 12.0], "model": {"boundary": "periodic"}}
    with pytest.raises(ConfigError, match=r"config key model.beta: 0.3 is read by quasiperiodic fields only"):
        validate_config({**base, "model": {"beta": 0.3}})
    with pytest.raises(ConfigError, match=r"config key cut_offsets: 2 cuts for N=8 on a periodic chain"):
        validate_config({**base, "cut_offsets": [-1, 0]})
    assert validate_config(dict(base))["model"]["boundary"] == "periodic"


def test_the_report_title_names_a_model_beyond_eq_5_only():
    from campaign.paths import report_title

    base = {"sizes": [8, 10], "hbar": [0.25, 3.0, 12.0]}
    assert report_title(validate_config(dict(base))) == "mblnn campaign: N = 8, 10, disorder averaged"
    other = validate_config({**base, "model": {"delta": 0.5, "fields": "quasiperiodic", "boundary": "periodic"}})
    assert report_title(other) == ("mblnn campaign: N = 8, 10, disorder averaged; Δ = 0.5, quasiperiodic fields "
                                   "(β = 0.618034), periodic chain")
