"""One home per parameter: the schema holds every default, the code reads them from it, and every key is used."""

import argparse
import dataclasses
import re
from pathlib import Path

from mblnn.cli import build_parser
from mblnn.schema import default, load_schema as _schema
from mblnn.learn.features import FeatureSettings
from mblnn.learn.network import TrainingConfig

REPO = Path(__file__).resolve().parents[1]


def leaves(node, path=()):
    """(dotted key, schema) of every leaf of the schema (not the free-form maps: variants, petsc_options, by_size)."""
    for name, sub in node.get("properties", {}).items():
        if sub.get("type") == "object" and "properties" in sub:
            yield from leaves(sub, path + (name,))
        else:
            yield ".".join(path + (name,)), sub


def test_dataclass_defaults_are_the_schemas():
    training = {f.name: f.default for f in dataclasses.fields(TrainingConfig)}
    for name in ("n_hidden", "hidden_layers", "steps", "batch", "cost_reduction", "optimizer", "init_std", "seed"):
        assert training[name] == default(f"training.{name}"), name
    # learning_rate auto: a trainer's fixed step is the largest of the scan (mblnn.learn.train.train_at_chosen_step)
    assert default("training.learning_rate") == "auto" and training["learning_rate"] == max(default("training.step_scan.grid"))
    main = default("training.variants")["main"]
    assert (training["delta"], training["mu"]) == (main["delta"], main["mu"])
    features = {f.name: f.default for f in dataclasses.fields(FeatureSettings)}
    assert (features["fraction"], features["kind"], features["floor"]) == (
        default("training.fraction"), default("training.input"), default("training.floor"))


def test_every_default_in_the_code_names_a_schema_key():
    used = set()
    for path in (REPO / "src/mblnn").rglob("*.py"):
        used |= set(re.findall(r'default\("([a-z_.]+)"\)', path.read_text()))
    assert used, "the library reads its defaults from the schema"
    for key in used:
        default(key)  # raises KeyError naming a key without a schema default


def test_every_config_key_is_read_somewhere():
    """A key nobody reads is a silent no-op for the user who sets it."""
    code = "\n".join(p.read_text() for p in [*(REPO / "src/mblnn").rglob("*.py"), *(REPO / "workflow").rglob("*.py"),
                                            *(REPO / "workflow").rglob("*.smk"), REPO / "Snakefile"])
    unread = [key for key, _ in leaves(_schema()) if f'"{key.rpartition(".")[2]}"' not in code
              and f'"{key}"' not in code and f".{key.rpartition('.')[2]}" not in code]
    assert unread == []


def test_the_commands_have_no_defaults_of_their_own_for_config_keys():
    """Every result-relevant setting reaches a command through --config; what is left with a default is not a
    config setting (a per-job index, the report's title, the JSON itself)."""
    config_names = {key.rpartition(".")[2] for key, _ in leaves(_schema())}
    parser = build_parser()
    found = set()
    for command, sub in parser._subparsers._group_actions[0].choices.items():
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._StoreTrueAction)) or action.default in (None, [], "{}"):
                continue
            found.add(f"{command} --{action.dest}")
            assert action.dest not in config_names - {"realization"}, f"{command} --{action.dest} duplicates a config default"
    assert found == {"spectrum --realization", "report --title", "table --samples", "table --classified", "table --dreams",
                     "table --confusion"} - {"table --samples", "table --classified", "table --dreams", "table --confusion"}
