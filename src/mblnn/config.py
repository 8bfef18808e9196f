"""Campaign configuration: schema validation with defaults, and the checks a schema cannot express.

The schema is ``workflow/schemas/config.schema.yaml`` (JSON Schema 2020-12 written in YAML). Errors
are reported one line per problem, each naming the offending key path (``dense.driver``,
``sizes[1]``), before any job runs.
"""

from __future__ import annotations

import copy
import os
import shlex
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import yaml

from .basis import n_up_for_sector, sector_dimension
from .errors import InputError

#: The schema shipped with the workflow (the repository layout puts it beside the rules).
DEFAULT_SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


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


def _schema_errors(config: dict, schema: dict) -> Iterator[str]:
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        key = _key_path(error.absolute_path)
        if error.validator == "additionalProperties":
            known = sorted(error.schema.get("properties", {}))
            yield f"config key {key}: {error.message} (known keys: {', '.join(known)})"
        else:
            yield f"config key {key}: {error.message}"


def _physics_errors(config: dict) -> Iterator[str]:
    sz = config["model"]["sz"]
    for i, N in enumerate(config["sizes"]):
        try:
            n_up_for_sector(N, sz)
        except InputError as error:
            yield f"config key sizes[{i}]: {error}"
            continue
        for j, offset in enumerate(config["cut_offsets"]):
            N_A = N // 2 + offset
            if not 1 <= N_A <= N - 1:
                yield f"config key cut_offsets[{j}]: N_A = N/2 + {offset} = {N_A} is outside [1, {N - 1}] for N={N}"
    for key in config["solver"]["by_size"]:
        if int(key) not in config["sizes"]:
            yield f"config key solver.by_size.{key}: N={key} is not among sizes {config['sizes']}"
    nev = config["shift_invert"]["nev"]
    for i, N in enumerate(config["sizes"]):
        try:
            dim = sector_dimension(N, sz)
        except InputError:
            continue  # reported above
        if solver_for(config, N) == "shift_invert" and nev > dim:
            yield (f"config key shift_invert.nev: nev={nev} exceeds the {dim} states of "
                   f"sizes[{i}] (N={N})")
    low, high = config["level_statistics"]["eps_window"]
    if low >= high:
        yield f"config key level_statistics.eps_window: eps_min={low} must be below eps_max={high}"


def validate_config(config: dict, schema_path: str | os.PathLike = DEFAULT_SCHEMA) -> dict:
    """Validate ``config`` in place (defaults filled in) and return it; raise :class:`ConfigError`."""
    with open(schema_path) as handle:
        schema = yaml.safe_load(handle)
    problems = list(_schema_errors(config, schema))
    if not problems:
        problems = list(_physics_errors(config))
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def load_config(path: str | os.PathLike, schema_path: str | os.PathLike = DEFAULT_SCHEMA) -> dict:
    """Read a YAML campaign file and validate it."""
    with open(path) as handle:
        config = yaml.safe_load(handle) or {}
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a campaign configuration must be a mapping of keys to values")
    return validate_config(config, schema_path)


def cuts_for(config: dict, N: int) -> list[int]:
    """Entanglement cuts N_A of chain length ``N`` from ``cut_offsets``."""
    return sorted({N // 2 + offset for offset in config["cut_offsets"]})


def solver_for(config: dict, N: int) -> str:
    """Eigensolver of chain length ``N``: ``solver.by_size[N]`` or ``solver.default``."""
    return config["solver"]["by_size"].get(str(N), config["solver"]["by_size"].get(N, config["solver"]["default"]))


def uses_mpi(config: dict, N: int) -> bool:
    return solver_for(config, N) in ("dense_mpi", "shift_invert")


def solver_arguments(config: dict, N: int) -> str:
    """The ``mblnn spectrum`` options that select and configure the eigensolver of chain length N.

    Only the settings of the solver actually used appear, so that editing, say, the shift-invert
    targets reruns the shift-invert samples and nothing else.
    """
    solver = solver_for(config, N)
    arguments = ["--solver", solver]
    if solver in ("dense", "auto"):
        arguments += ["--driver", config["dense"]["driver"]]
    if solver in ("shift_invert", "auto"):
        si = config["shift_invert"]
        arguments += ["--targets", ",".join(map(repr, map(float, si["targets"]))), "--nev", str(si["nev"]),
                      "--tol", repr(float(si["tol"])), "--residual-tol", repr(float(si["residual_tol"]))]
        for key, value in sorted(si["petsc_options"].items()):
            arguments += ["--petsc-option", f"{key}={value}"]
    return " ".join(shlex.quote(a) for a in arguments)
