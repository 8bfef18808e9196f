"""The configuration schema and its defaults: the one place a default is written, and validation against it.

The schema is ``src/mblnn/schemas/config.schema.yaml`` (JSON Schema 2020-12 written in YAML; package data, which
``workflow/schemas/`` links to). :func:`default` gives a key's default to library signatures and dataclasses;
:func:`validate_sections` checks the sections a command receives (``--config``). Errors are reported one line per
problem, each naming the offending key path (``dense.driver``, ``sizes[1]``). This module sits on the bottom floor
(docs/architecture.md): it imports nothing of mblnn but its errors; whole campaigns are :mod:`mblnn.config`'s.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import yaml

from mblnn.errors import InputError

#: The schema: package data (an installed wheel carries it).
DEFAULT_SCHEMA = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"


class ConfigError(InputError):
    """The campaign configuration is invalid; the message names every offending key."""


def _key_path(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _with_defaults(validator_class):
    """A validator that also fills in the schema's ``default`` values (jsonschema FAQ recipe)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def schema_errors(config: dict, schema: dict) -> Iterator[str]:
    """One line per schema violation of ``config`` (defaults filled in on the way), each naming its key."""
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        if error.validator == "oneOf" and error.context:
            # report what is wrong within the alternative of the value's own type (a list, a mapping)
            specific = [e for e in error.context if e.validator != "type" or len(e.relative_path) > 0]
            if specific:
                for inner in specific:
                    yield f"config key {_key_path(inner.absolute_path)}: {inner.message}"
                continue
        key = _key_path(error.absolute_path)
        reason = error.schema.get("x-reason") if isinstance(error.schema, dict) else None
        if reason and error.validator in ("minimum", "maximum"):
            yield f"config key {key}: {error.message}: {reason}"
        elif error.validator == "additionalProperties":
            known = sorted(error.schema.get("properties", {}))
            yield f"config key {key}: {error.message} (known keys: {', '.join(known)})"
        else:
            yield f"config key {key}: {error.message}"


@functools.cache
def load_schema(schema_path: str | os.PathLike = DEFAULT_SCHEMA) -> dict:
    """The schema as a mapping (read once per process)."""
    with open(schema_path) as handle:  # libyaml's loader where present: the schema is read by every command
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def default(key: str):
    """The schema's default of a dotted config key, e.g. ``default("training.steps")``: the one place where a
    default is written (library signatures and dataclasses take theirs from here)."""
    node = load_schema()
    for part in key.split("."):
        try:
            node = node["properties"][part]
        except KeyError:
            raise KeyError(f"{key}: no such key in {DEFAULT_SCHEMA.name}") from None
    if "default" not in node:
        raise KeyError(f"{key}: the schema gives no default")
    return copy.deepcopy(node["default"])


def validate_sections(config: dict, schema_path: str | os.PathLike = DEFAULT_SCHEMA) -> dict:
    """Validate a partial campaign config (some sections, as a command receives them from a rule or a user's JSON)
    against the schema, filling every default; campaign-wide checks (sizes, hbar grid, memory) are not made.
    Raises :class:`ConfigError` naming each offending key."""
    schema = _without_required(load_schema(schema_path))
    config = copy.deepcopy(config)
    problems = list(schema_errors(config, schema))
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def _without_required(node):
    """The schema with no ``required`` anywhere: a job's config holds the keys it uses, not a whole campaign."""
    if isinstance(node, dict):
        return {key: _without_required(value) for key, value in node.items() if key != "required"}
    if isinstance(node, list):
        return [_without_required(value) for value in node]
    return node


def read_config_json(text: str) -> dict:
    """A JSON object of config sections (``{"training": {"steps": 100}}``) as given on a command line, not validated."""
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"--config: not JSON ({error})") from error
    if not isinstance(value, dict):
        raise ConfigError("--config: expected a JSON object of config sections, e.g. {\"training\": {\"steps\": 100}}")
    return value


def parse_config_json(text: str) -> dict:
    """``--config`` of the commands: :func:`read_config_json`, validated and completed with the schema's defaults by
    :func:`validate_sections`."""
    return validate_sections(read_config_json(text))
