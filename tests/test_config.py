from pathlib import Path
import pytest
import yaml

import json

from campaign.jobconfig import spectrum_config, training_config
from campaign.paths import ensembles, half_chain_cut, realization_indices, training_cuts
from mblnn.config import (
    ConfigError,
    check_fits_machine,
    cuts_for,
    load_config,
    validate_config,
    variant_training,
)


def training_of(config, variant):
    """The training section ``mblnn train --config`` receives for ``variant``, as the command resolves it."""
    return variant_training(json.loads(training_config(config, variant)), variant)

GOOD = {"sizes": [8, 10], "hbar": [0.25, 3.0, 12.0]}


def test_defaults_are_filled():
    config = validate_config(dict(GOOD))
    assert config["seed"] == 2017 and config["model"] == {"J": 1.0, "sz": 0, "delta": 1.0, "J2": 0.0, "fields": "uniform",
                                                           "beta": 0.6180339887498949, "boundary": "open"}
    assert config["dense"]["driver"] == "evd" and config["cut_offsets"] == [0]
    assert cuts_for(config, 10) == [5]


SHIPPED = sorted(str(path.relative_to("config")) for path in Path("config").rglob("*.yaml"))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_are_valid(name):
    """Every file in config/; an overlay (no ``sizes``, e.g. study/seed1.yaml) on top of the default campaign."""
    overlay = "sizes" not in (yaml.safe_load(Path("config", name).read_text()) or {})
    config = load_config(*(["config/config.yaml"] if overlay else []), f"config/{name}")
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
    assert (training_of(config, "ablation")["delta"], training_of(config, "ablation")["mu"]) == (0.0, 1.0)
    # a variant's job sees its own entry only: editing another variant retrains nothing of it
    assert list(json.loads(training_config(config, "ablation"))["training"]["variants"]) == ["ablation"]


def test_paper_training_defaults():
    training = validate_config(dict(GOOD))["training"]
    assert (training["cost_reduction"], training["optimizer"], training["learning_rate"], training["floor"],
            training["trim_tr"], training["edge_fraction"], training["hidden_layers"]) == ("sum", "sgd", "auto", None, False, 0.1, 1)
    # the step by the paper's criterion (Sec. II), from its 1e-4 (Appendix B) down; no network left failed
    assert training["step_scan"] == {"grid": [1e-4, 3e-5, 1e-5], "members": 5, "max_steps": 20000}
    assert (training["min_accuracy"], training["retrain_attempts"], training["allow_failed_members"]) == (0.99, 2, False)


def test_variants_override_training_keys():
    config = validate_config({**GOOD, "training": {"variants": {
        "main": {"delta": 1.0, "mu": 1.0},
        "literal": {"delta": 1.0, "mu": 1.0, "floor": 1e-16, "trim_tr": True, "optimizer": "adam", "hidden_layers": 2}}}})
    assert variant_training(config, "main")["floor"] is None
    literal = variant_training(config, "literal")
    assert literal["floor"] == 1e-16 and literal["trim_tr"] and literal["optimizer"] == "adam"
    job = training_of(config, "literal")
    assert job["floor"] == 1e-16 and job["trim_tr"] and job["optimizer"] == "adam"
    assert job["hidden_layers"] == 2 and job["cost_reduction"] == "sum"
    assert not training_of(config, "main")["trim_tr"] and training_of(config, "main")["floor"] is None


def test_single_realization_campaign_and_grid_extras():
    config = validate_config({**GOOD, "campaign": {"type": "single_realization", "realization": 3},
                              "hbar": {"start": 0.25, "stop": 1.0, "step": 0.25, "include": [12.0]},
                              "analysis": {"single_realization": {"realization": 3}}})
    assert config["hbar"] == [0.25, 0.5, 0.75, 1.0, 12.0] and realization_indices(config) == [3]
    assert realization_indices(validate_config({**GOOD, "realizations": 4})) == [0, 1, 2, 3]


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
    ({"training": {"floor": 2.0}}, "training.floor", "maximum"),
    ({"training": {"cost_reduction": "avg"}}, "training.cost_reduction", "is not one of"),
    ({"training": {"variants": {"main": {"delta": 1.0, "mu": 1.0, "members": 3}}}}, "training.variants.main", "'members' was unexpected"),
    ({"campaign": {"type": "single_realization"}, "realizations": 4}, "realizations", "single_realization campaign"),
    ({"campaign": {"type": "single_realization", "realization": 2}}, "analysis.single_realization.realization", "pattern"),
    ({"cut_offsets_by_size": {"12": [0]}}, "cut_offsets_by_size.12", "not among sizes"),
    ({"cut_offsets_by_size": {"8": [4]}}, "cut_offsets_by_size.8[0]", "outside"),
    ({"sizes": [40]}, "sizes[0]", "greater than the maximum of 30: at N = 30 the S^z = 0 sector already has"),
    ({"sizes": [24]}, "sizes[0]", "N=24 with the dense solver needs about 446 TB per job"),
    ({"sizes": [24]}, "sizes[0]", "use the shift-invert solver for N=24 (solver.by_size: {24: shift_invert})"),
    ({"sizes": [16], "resources": {"max_mem_mb": 4000}}, "sizes[0]", "more than resources.max_mem_mb = 4.0 GB"),
    ({"sizes": [26], "solver": {"default": "shift_invert"}}, "sizes[0]", "with the shift_invert solver needs about"),
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


def test_yaml_syntax_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("sizes: [12\nhbar: [1.0]\n")
    with pytest.raises(ConfigError, match=rf"{path}, line 2, column 5: YAML syntax error: .*expected ','"):
        load_config(path)


def test_overlays_merge_key_by_key_as_snakemake_does(tmp_path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({**GOOD, "training": {"steps": 10, "members": 3}}))
    (tmp_path / "overlay.yaml").write_text(yaml.safe_dump({"training": {"steps": 20}}))
    config = load_config(tmp_path / "base.yaml", tmp_path / "overlay.yaml")
    assert (config["training"]["steps"], config["training"]["members"]) == (20, 3)


def test_jobs_running_here_must_fit_this_machine():
    config = {**GOOD, "sizes": [18]}  # dense N = 18: about 113 GB with the safety factor
    config = validate_config(dict(config))  # fits the default node size
    with pytest.raises(ConfigError, match=r"sizes\[0\]: N=18 .* more than the memory of this machine, where the jobs run = 24.0 GB"):
        check_fits_machine(config, 24000)
    check_fits_machine(validate_config(dict(GOOD)), 24000)


def test_shift_invert_tuning_applies_from_its_size_and_reaches_only_those_jobs():
    from mblnn.solve.mpi import tuned_options

    tuning = {"18": {"a": 1}, "22": {"b": 2}}
    assert tuned_options(tuning, 16) == (None, {})
    assert tuned_options(tuning, 18) == tuned_options(tuning, 20) == (18, {"a": 1})
    assert tuned_options(tuning, 24) == (22, {"b": 2})
    config = validate_config({**GOOD, "sizes": [16, 20], "solver": {"default": "shift_invert"}})
    small, large = (json.loads(spectrum_config(config, N))["shift_invert"] for N in (16, 20))
    # N = 16 jobs see nothing of the table (their params, hence their stores, are as before the tuning existed)
    assert "tuning" not in small and "exact_resolve" not in small
    assert large["tuning"] == {"18": {"st_mat_mumps_icntl_35": 1, "st_mat_mumps_cntl_7": 1e-12}}
    assert large["exact_resolve"] is True
    # switched off: the N = 20 job is told so, rather than falling back on the default table
    config["shift_invert"]["tuning"] = {}
    assert json.loads(spectrum_config(config, 20))["shift_invert"]["tuning"] == {}


def test_filter_settings_reach_filter_and_auto_jobs_and_change_no_other_command():
    """A filter campaign's polynomial settings are in its jobs' --config (else the job would silently use the
    defaults); at their defaults they are not, so the commands of campaigns made before these keys stay as they were."""
    base = {**GOOD, "sizes": [16], "solver": {"default": "filter"}}
    plain = json.loads(spectrum_config(validate_config(dict(base)), 16))
    assert set(plain["filter"]) == {"degree", "width_factor", "petsc_options"}
    chosen = {"polynomial": "chebyshev", "damping": "fejer", "degree_constant": 2.5, "ncv_factor": 3}
    set_filter = json.loads(spectrum_config(validate_config({**base, "filter": dict(chosen)}), 16))
    assert set_filter["filter"] == {"degree": None, "width_factor": 1.5, "petsc_options": {}, **chosen}
    auto = {**base, "solver": {"default": "auto"}}
    assert "filter" not in json.loads(spectrum_config(validate_config(dict(auto)), 16))
    assert json.loads(spectrum_config(validate_config({**auto, "filter": {"polynomial": "chebyshev"}}), 16))["filter"] == {
        "polynomial": "chebyshev"}


def test_check_config_resolves_and_records_the_campaign(tmp_path, capsys):
    """`mblnn check-config`: no file is the default campaign; files merge in order on the schema's defaults (never on
    the default campaign); --config goes on top; --show/--out give the resolved YAML, itself the same campaign."""
    from mblnn.cli import main
    from mblnn.config import DEFAULT_CAMPAIGN

    assert main(["check-config"]) == 0
    assert f"{DEFAULT_CAMPAIGN}: valid; sizes [8, 10, 12]" in capsys.readouterr().out
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({**GOOD, "training": {"steps": 10, "members": 3}}))
    (tmp_path / "overlay.yaml").write_text(yaml.safe_dump({"training": {"steps": 20}}))
    record = tmp_path / "out/campaign.yaml"
    assert main(["check-config", str(tmp_path / "base.yaml"), str(tmp_path / "overlay.yaml"), "--show", "--out", str(record),
                 "--config", '{"training": {"members": 4}}']) == 0
    shown = capsys.readouterr().out
    assert shown == record.read_text() and "overrides (--config): {training: {members: 4}}" in shown
    resolved = load_config(record)
    assert (resolved["training"]["steps"], resolved["training"]["members"], resolved["realizations"]) == (20, 4, 1)
    assert resolved == load_config(tmp_path / "base.yaml", tmp_path / "overlay.yaml", overrides={"training": {"members": 4}})
    assert main(["check-config", "--config", "[1]"]) == 2  # an input error: one line naming the option, exit code 2
    assert "check-config: error: --config: expected a JSON object" in capsys.readouterr().err
