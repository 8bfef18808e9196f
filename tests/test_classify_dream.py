"""From sample stores to training data, classification stores and dreams (library and CLI)."""

import json
import numpy as np
import pytest
import zarr

from mblnn.learn.classify import classify_samples, open_classification
from mblnn.cli import main
from mblnn.learn.features import FeatureSettings, input_features, sample_features, training_data
from mblnn.learn.dream import dream, select_starts
from mblnn.errors import InputError
from mblnn.learn.network import (
    ETH,
    MBL,
    Ensemble,
    TrainingConfig,
    train_ensemble,
)
from mblnn.sample import SampleSpec, diagonalize_sample
from mblnn.store.samples import write_sample_store

HBARS = (0.25, 2.0, 3.0, 12.0)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("samples")
    paths = []
    for hbar in HBARS:
        for realization in range(2):
            result = diagonalize_sample(SampleSpec(N=10, hbar=hbar, seed=4, realization=realization, cuts=(4, 5)))
            paths.append(write_sample_store(result, root / f"h{hbar}" / f"r{realization}.zarr"))
    return paths


@pytest.fixture(scope="module")
def ensemble(stores, tmp_path_factory):
    settings = FeatureSettings(cut=5)
    data = training_data(stores, settings, seed=1)
    trained = train_ensemble(data, range(3), TrainingConfig(n_hidden=64, steps=300, learning_rate=3e-3, seed=1, optimizer="adam", cost_reduction="mean"))
    trained.config["data"] = {**settings.as_dict(), "h_eth": 0.25, "h_mbl": 12.0, "edge_fraction": 0.1}
    return trained.save(tmp_path_factory.mktemp("ensemble") / "ensemble.npz")


def test_training_data_labels_trims_and_caps(stores):
    settings = FeatureSettings(cut=5, fraction=0.5)
    data = training_data(stores, settings, seed=1)
    # N = 10: 252 states, 25 dropped at each end of TD (TR keeps all); largest block of N_A = 5 has 10 levels, 5 kept
    assert data.td_x.shape == (4 * 202, 5) and data.tr_x.shape == (4 * 252, 5)
    assert training_data(stores, settings, seed=1, trim_tr=True).tr_x.shape == (4 * 202, 5)
    assert (data.td_y == ETH).sum() == (data.td_y == MBL).sum() == 2 * 202
    first = sample_features(stores[0], settings, edge_fraction=0.1)
    np.testing.assert_array_equal(data.td_x[:202], first.features)
    assert first.state[0] == 25 and first.hbar == 0.25
    capped = training_data(stores, settings, tr_max_spectra=100, seed=1)
    assert capped.tr_x.shape == (100, 5)
    assert training_data(stores, settings, tr_max_spectra=100, seed=1).tr_x.tobytes() == capped.tr_x.tobytes()


@pytest.mark.parametrize("kwargs, message", [
    ({"h_eth": 0.5}, "no ETH samples"),
    ({"h_mbl": 6.0}, "no MBL samples"),
    ({"h_eth": 3.0, "h_mbl": 12.0}, "no TR samples"),
    ({"h_eth": 12.0, "h_mbl": 0.25}, "h_eth"),
])
def test_training_data_says_what_is_missing(stores, kwargs, message):
    with pytest.raises(InputError, match=message):
        training_data(stores, FeatureSettings(cut=5), **kwargs)


def test_classification_store_holds_every_state_and_member(stores, ensemble, tmp_path):
    out = classify_samples(ensemble, stores[::-1], tmp_path / "classes.zarr")
    c = open_classification(out)
    assert c.N == 10 and c.attrs["cut"] == 5 and c.attrs["training"]["n_hidden"] == 64
    assert c.hbar.tolist() == [h for h in HBARS for _ in range(2)] and c.realization.tolist() == [0, 1] * 4
    confidence = c.group["confidence"]
    assert confidence.shape == (8, 3, 252)
    loaded = Ensemble.load(ensemble)
    spectrum = zarr.open_group(stores[6], mode="r")["cut5/spectrum"][:]
    np.testing.assert_array_equal(confidence[6], loaded.confidences(input_features(spectrum)))
    assert np.isfinite(c.group["entropy"][:]).all() and c.group["test_accuracy"][:].min() > 0.9
    np.testing.assert_allclose(c.group["mean"][6], confidence[6].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(c.group["std"][6], confidence[6].std(axis=0), rtol=1e-5, atol=1e-7)
    assert set(np.unique(c.group["category"][:])) <= {-1, 0, 1} and (c.group["category"][7] == 1).mean() > 0.5
    # ETH-like at h̄ = 0.25, MBL-like at 12 on average
    assert c.mean_confidence(0).mean() < 0.2 and c.mean_confidence(7).mean() > 0.8


def test_incomplete_classification_is_refused(tmp_path):
    zarr.open_group(tmp_path / "half.zarr", mode="w")
    with pytest.raises(InputError, match="rerun"):
        open_classification(tmp_path / "half.zarr")


@pytest.mark.parametrize("target", ["mbl", "eth"])
def test_dreaming_moves_towards_the_target_and_stays_a_spectrum(stores, ensemble, target):
    loaded = Ensemble.load(ensemble)
    start = sample_features(stores[3], FeatureSettings(cut=5), 0.1).features
    picks = select_starts(loaded.confidences(start).mean(axis=0), window=(0.05, 0.95), max_start=6, seed=0)
    result = dream(loaded, start[picks], target, steps=400, step_size=1e-2, networks=2)
    assert result.dreamed.shape == (2,) + start[picks].shape and result.mean.shape == start[picks].shape
    moved = result.confidence_end.mean() - result.confidence_start.mean()
    assert moved > 0.05 if target == "mbl" else moved < -0.05
    assert np.all(result.dreamed >= 0) and np.all(np.diff(result.dreamed, axis=-1) >= 0)


def test_dream_start_selection_is_seeded_and_explains_an_empty_window():
    confidence = np.linspace(0, 1, 101)
    picks = select_starts(confidence, (0.4, 0.6), max_start=5, seed=2)
    assert len(picks) == 5 and np.all((confidence[picks] >= 0.4) & (confidence[picks] <= 0.6))
    assert select_starts(confidence, (0.4, 0.6), max_start=5, seed=2).tolist() == picks.tolist()
    with pytest.raises(InputError, match="widen"):
        select_starts(np.array([0.01, 0.99]), (0.4, 0.6))


def test_dream_starts_are_chosen_with_the_dreaming_networks(stores, ensemble, tmp_path):
    out = tmp_path / "d.npz"
    dreaming = {"dreaming": {"networks": 1, "steps": 1, "window": [0.3, 0.7], "max_start": 5}}
    assert main(["dream", *map(str, stores), "--ensemble", str(ensemble), "--target", "eth",
                 "--config", json.dumps(dreaming), "--out", str(out)]) == 0
    with np.load(out) as dreamed:
        start = dreamed["confidence_start"]  # (K = 1, n): the dreaming network's own confidence
        assert start.shape[0] == 1 and np.all((start.mean(axis=0) >= 0.3) & (start.mean(axis=0) <= 0.7))


def test_cli_train_classify_dream(stores, tmp_path, capsys):
    samples = [str(p) for p in stores]
    ensemble = str(tmp_path / "e.npz")
    training = {"training": {"members": 2, "n_hidden": 32, "steps": 50, "learning_rate": 1e-3, "min_accuracy": 0.9}}
    assert main(["train", *samples, "--cut", "4", "--config", json.dumps(training), "--out", ensemble]) == 0
    out = capsys.readouterr().out  # progress lines a user can follow in a job log
    assert "train: step 50/50, median over networks: cross entropy" in out and "s to go" in out and out.count("train: step") >= 3
    assert Ensemble.load(ensemble).config["data"]["cut"] == 4
    assert main(["classify", *samples, "--ensemble", ensemble, "--variant", "main", "--out", str(tmp_path / "c.zarr")]) == 0
    assert open_classification(tmp_path / "c.zarr").group["confidence"].shape == (8, 2, 252)
    dreaming = {"dreaming": {"networks": 2, "steps": 10, "window": [0, 1], "max_start": 3}}
    assert main(["dream", *samples, "--ensemble", ensemble, "--target", "mbl", "--config", json.dumps(dreaming),
                 "--out", str(tmp_path / "d.npz")]) == 0
    assert "dream: step 10/10" in capsys.readouterr().out
    with np.load(tmp_path / "d.npz") as dreamed:
        assert dreamed["dreamed"].shape[:2] == (2, 3) and dreamed["typical_mbl"].shape == dreamed["start"].shape[1:]
    assert main(["train", *samples, "--cut", "4", "--config", '{"training": {"h_eth": 0.3}}', "--out", ensemble]) == 2
    assert "no ETH samples (h_eth=0.3)" in capsys.readouterr().err


def test_a_failed_network_is_retrained_from_a_new_initialization(stores, monkeypatch):
    """A network below training.min_accuracy is replaced by member m + RETRAIN_STRIDE, trained exactly as it would be
    alone; the others stay as they were; the ensemble records the failed attempt and the member kept."""
    import mblnn.learn.train as train_module
    from mblnn.learn.train import RETRAIN_STRIDE, train_checked

    data = training_data(stores, FeatureSettings(cut=5), seed=1)
    config = TrainingConfig(n_hidden=32, steps=200, learning_rate=3e-3, seed=1, optimizer="adam", cost_reduction="mean")
    first = train_ensemble(data, range(3), config)
    assert (first.test_accuracy >= 0.99).all()
    calls = []

    def member_1_fails_first(data, members, config, progress=None):  # as if member 1's initialization were a bad one
        trained = train_ensemble(data, members=members, config=config, progress=progress)
        calls.append([int(m) for m in members])
        if len(calls) == 1:
            trained.test_accuracy[1] = 0.5
        return trained

    monkeypatch.setattr(train_module, "train_ensemble", member_1_fails_first)
    checked = train_checked(data, range(3), config, min_accuracy=0.99, attempts=2)
    assert calls == [[0, 1, 2], [1 + RETRAIN_STRIDE]]
    assert checked.members.tolist() == [0, 1 + RETRAIN_STRIDE, 2] and (checked.test_accuracy >= 0.99).all()
    assert checked.config["retrained"] == [{"member": 1, "failed": [{"member": 1, "eta": 0.5, "diverged": False}],
                                            "kept": 1 + RETRAIN_STRIDE}]
    assert checked.config["failed_members"] == []
    alone = train_ensemble(data, [1 + RETRAIN_STRIDE], config)
    np.testing.assert_array_equal(checked.w1[1], alone.w1[0])
    np.testing.assert_array_equal(checked.curves[:, 1], alone.curves[:, 0])
    for position in (0, 2):
        np.testing.assert_array_equal(checked.w1[position], first.w1[position])
    nan = Ensemble(**{**{k: getattr(checked, k) for k in ("b1", "w2", "b2", "members", "test_accuracy", "curves")},
                      "w1": np.where(np.arange(3)[:, None, None] == 2, np.nan, checked.w1)})
    assert nan.diverged().tolist() == [False, False, True] and nan.failed(0.99).tolist() == [2]


def test_networks_left_at_chance_fail_the_training_job(stores, tmp_path, capsys):
    """Plain gradient descent at a step of 1e-2 leaves every network at chance (eta ~ 0.5, measured): after its
    retrainings the job fails with a message naming N, cut, variant, the networks and what to change, and writes no
    ensemble; training.allow_failed_members keeps it, flagged, up to the classification store."""
    samples = [str(p) for p in stores]
    ensemble = tmp_path / "e.npz"
    training = {"training": {"members": 2, "n_hidden": 32, "steps": 200, "learning_rate": 1e-2, "retrain_attempts": 1}}
    assert main(["train", *samples, "--cut", "4", "--config", json.dumps(training), "--out", str(ensemble)]) == 2
    error = capsys.readouterr().err
    assert "N = 10, cut N_A = 4, variant main: 2 of 2 networks failed" in error and "after 1 retrainings" in error
    assert "networks 0 (eta 0." in error and "a smaller training.learning_rate (now 0.01 with sgd)" in error
    assert not ensemble.exists() and not list(tmp_path.iterdir())
    training["training"]["allow_failed_members"] = True
    assert main(["train", *samples, "--cut", "4", "--config", json.dumps(training), "--out", str(ensemble)]) == 0
    out, error = capsys.readouterr()
    assert "network 0 failed as 0 (eta 0." in out and "kept its retrained attempt, member index 1048576" in out and "failed every attempt" in error
    kept = Ensemble.load(ensemble)
    assert kept.config["failed_members"] == [0, 1] and [len(r["failed"]) for r in kept.config["retrained"]] == [2, 2]
    assert main(["classify", *samples, "--ensemble", str(ensemble), "--variant", "main", "--out", str(tmp_path / "c.zarr")]) == 0
    assert open_classification(tmp_path / "c.zarr").attrs["training"]["failed_members"] == [0, 1]


def test_step_scan_chooses_the_largest_step_whose_networks_learn_the_training_data(stores):
    """learning_rate auto: a step of 1e-2 leaves the scan's networks at chance on their training halves (rejected);
    3e-4 for the same path length (33x the steps) trains them and then the whole ensemble (chosen); the ensemble is
    the one a fixed step of 3e-4 for those steps trains, bit for bit, with the scan recorded. Plain gradient descent
    at 1e-3 diverges in one of these networks (its cross entropy rises to 4.9 times its start late in training)."""
    from mblnn.learn.train import train_checked

    data = training_data(stores, FeatureSettings(cut=4), seed=1)
    config = TrainingConfig(n_hidden=32, steps=60, learning_rate=1e-2, seed=0)
    scan = {"grid": [3e-4, 1e-2], "members": 2, "max_steps": 5000}
    chosen = train_checked(data, range(3), config, min_accuracy=0.99, attempts=0, step_scan=scan)
    record = chosen.config["step_scan"]
    assert [(r["learning_rate"], r["steps"], r["accepted"]) for r in record] == [(1e-2, 60, False), (3e-4, 2000, True)]
    assert record[0]["ensemble_failed"] is None and record[1]["ensemble_failed"] == []  # 1e-2: the scan alone
    assert max(record[0]["train_accuracy"]) < 0.9 and min(record[1]["train_accuracy"]) >= 0.99
    assert (chosen.config["learning_rate"], chosen.config["steps"]) == (3e-4, 2000) and chosen.members.tolist() == [0, 1, 2]
    fixed = train_ensemble(data, range(3), TrainingConfig(n_hidden=32, steps=2000, learning_rate=3e-4, seed=0))
    np.testing.assert_array_equal(chosen.w1, fixed.w1)  # the ensemble of the chosen step, as a fixed step trains it
    np.testing.assert_array_equal(chosen.test_accuracy, fixed.test_accuracy)
    capped = train_checked(data, range(2), config, min_accuracy=0.99, attempts=0,
                           step_scan={**scan, "grid": [1e-2, 1e-4], "max_steps": 1000})
    assert [r["steps"] for r in capped.config["step_scan"]] == [60, 1000]  # the path length, at most max_steps
    unstable = train_ensemble(data, range(3), TrainingConfig(n_hidden=32, steps=2000, learning_rate=1e-3, seed=0))
    assert unstable.diverged().tolist() == [True, False, False] and (unstable.test_accuracy >= 0.99).all()
