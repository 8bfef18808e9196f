import pytest
import yaml

from mblnn.config import ConfigError, cuts_for, load_config, validate_config

GOOD = {"sizes": [8, 10], "hbar": [0.5, 3.0]}


def test_defaults_are_filled():
    config = validate_config(dict(GOOD))
    assert config["seed"] == 2017 and config["model"] == {"J": 1.0, "sz": 0}
    assert config["dense"]["driver"] == "evd" and config["cut_offsets"] == [0]
    assert cuts_for(config, 10) == [5]


def test_shipped_config_is_valid():
    config = load_config("config/config.yaml")
    assert config["sizes"] and config["hbar"]


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
