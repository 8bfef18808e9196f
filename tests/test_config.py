import pytest
import yaml

from mblnn.config import (
    ConfigError,
    cuts_for,
    ensembles,
    half_chain_cut,
    load_config,
    training_arguments,
    training_cuts,
    validate_config,
)

GOOD = {"sizes": [8, 10], "hbar": [0.25, 3.0, 12.0]}


def test_defaults_are_filled():
    config = validate_config(dict(GOOD))
    assert config["seed"] == 2017 and config["model"] == {"J": 1.0, "sz": 0}
    assert config["dense"]["driver"] == "evd" and config["cut_offsets"] == [0]
    assert cuts_for(config, 10) == [5]


@pytest.mark.parametrize("name", ["config.yaml", "medium.yaml", "paper.yaml", "mobility_edge.yaml", "mobility_edge_local.yaml"])
def test_shipped_configs_are_valid(name):
    config = load_config(f"config/{name}")
    assert config["sizes"] and config["hbar"]


def test_hbar_grid_and_per_size_cuts():
    config = validate_config({**GOOD, "hbar": {"start": 0.25, "stop": 12.0, "step": 0.125},
                              "cut_offsets_by_size": {"10": [-1, 0, 1]}})
    assert len(config["hbar"]) == 95 and config["hbar"][:3] == [0.25, 0.375, 0.5] and config["hbar"][-1] == 12.0
    assert cuts_for(config, 10) == [4, 5, 6] and cuts_for(config, 8) == [4]
    assert ensembles(config) == [(8, 4, "main"), (10, 4, "main"), (10, 5, "main"), (10, 6, "main")]
    config["training"]["variants"]["ablation"] = {"delta": 0.0, "mu": 1.0}
    assert training_cuts(config, 10, "ablation") == [5]
    # the figures' reference ensemble is the half-chain one, not the first cut trained
    assert half_chain_cut(config, 10, "main") == 5 and half_chain_cut(config, 10, "ablation") == 5
    assert "--delta 0.0 --mu 1.0" in training_arguments(config, "ablation")


@pytest.mark.parametrize("change, key, words", [
    ({"bogus": 1}, "(top level)", "'bogus' was unexpected"),
    ({"dense": {"drivr": "evd"}}, "dense", "'drivr' was unexpected"),
    ({"sizes": [8, "ten"]}, "sizes[1]", "not of type 'integer'"),
    ({"sizes": [9]}, "sizes[0]", "even N"),
    ({"hbar": []}, "hbar", "should be non-empty"),
    ({"hbar": [1.0, -2.0]}, "hbar[1]", "minimum"),
    ({"realizations": 0}, "realizations", "minimum"),
    ({"dense": {"driver": "magic"}}, "dense.driver", "is not one of"),
    ({"cut_offsets": [5]}, "cut_offsets[0]", "outside"),
    ({"level_statistics": {"eps_window": [0.9, 0.1]}}, "level_statistics.eps_window", "below"),
    ({"hbar": {"start": 0.25, "stop": 12.0}}, "hbar", "'step' is a required property"),
    ({"hbar": "lots"}, "hbar", "is not valid under any"),
    ({"hbar": [0.5, 3.0, 12.0]}, "training.h_eth", "not among hbar"),
    ({"hbar": [0.25, 12.0]}, "hbar", "no value between"),
    ({"training": {"variants": {"main": {"delta": 1.0}}}}, "training.variants.main", "'mu' is a required property"),
    ({"training": {"n_hidden": 33}}, "training.n_hidden", "multiple of 2"),
    ({"cut_offsets_by_size": {"12": [0]}}, "cut_offsets_by_size.12", "not among sizes"),
    ({"cut_offsets_by_size": {"8": [4]}}, "cut_offsets_by_size.8[0]", "outside"),
    ({"finite_size": {"eps": [0.5]}}, "finite_size", "'fit_range' is a required property"),
    ({"finite_size": {"fit_range": [6.0, 1.0]}}, "finite_size.fit_range", "below"),
    ({"finite_size": {"fit_range": [4.0, 6.0]}}, "finite_size.fit_range", "fewer than 3"),
    ({"finite_size": {"fit_range": [0.2, 13.0], "confusion": {"n_hidden": 33}}}, "finite_size.confusion.n_hidden", "even"),
    ({"finite_size": {"fit_range": [0.2, 13.0], "eps": [0.3]}, "solver": {"default": "shift_invert"},
      "shift_invert": {"targets": [0.5], "nev": 10}}, "finite_size.eps[0]", "no shift-invert target"),
])
def test_errors_name_the_key(change, key, words):
    with pytest.raises(ConfigError) as error:
        validate_config({**GOOD, **change})
    assert f"config key {key}" in str(error.value) and words in str(error.value)


def test_missing_required_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"sizes": [8]}))
    with pytest.raises(ConfigError, match="'hbar' is a required property"):
        load_config(path)
