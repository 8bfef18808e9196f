"""Campaign configuration: where it comes from, schema validation with defaults, and the checks a schema cannot express.

Where a campaign's configuration comes from (:func:`load_config`; the same for the Snakefile, ``mblnn check-config``
and ``workflow/scripts/plan-requests``, from any working directory): the campaign files named, merged key by key in
order, or the default campaign ``config/config.yaml`` when none is named; then the command line's overrides
(Snakemake's ``--config``); every key left unset takes the schema's default. The default campaign is a campaign like
any other: its choices never reach a campaign that names its own file.

The schema is ``workflow/schemas/config.schema.yaml`` (JSON Schema 2020-12 written in YAML). Errors
are reported one line per problem, each naming the offending key path (``dense.driver``,
``sizes[1]``), before any job runs.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import jsonschema
import yaml

from mblnn.model.disorder import same_hbar
from mblnn.model.basis import n_up_for_sector, sector_dimension
from mblnn.errors import InputError

#: The schema shipped with the workflow (the repository layout puts it beside the rules).
DEFAULT_SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
#: The default campaign (``make run``): what runs when no campaign file is named.
DEFAULT_CAMPAIGN = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


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


def _expand_hbar_grid(config: dict) -> Iterator[str]:
    """Replace a grid ``hbar: {start, stop, step}`` by its values (stop included, rounded to 1e-10)."""
    grid = config["hbar"]
    if isinstance(grid, dict):
        if grid["stop"] < grid["start"]:
            yield f"config key hbar.stop: {grid['stop']} is below hbar.start={grid['start']}"
            return
        count = int(math.floor((grid["stop"] - grid["start"]) / grid["step"] + 1e-9)) + 1
        values = [round(grid["start"] + i * grid["step"], 10) for i in range(count)]
        extra = [float(h) for h in grid.get("include", []) if not any(same_hbar(h, v) for v in values)]
        config["hbar"] = sorted(values + extra)


def _physics_errors(config: dict) -> Iterator[str]:
    sz = config["model"]["sz"]
    for i, N in enumerate(config["sizes"]):
        try:
            n_up_for_sector(N, sz)
        except InputError as error:
            yield f"config key sizes[{i}]: {error}"
            continue
        key, offsets = _cut_offsets(config, N)
        for j, offset in enumerate(offsets):
            N_A = N // 2 + offset
            if not 1 <= N_A <= N - 1:
                yield f"config key {key}[{j}]: N_A = N/2 + {offset} = {N_A} is outside [1, {N - 1}] for N={N}"
    for section in ("solver.by_size", "cut_offsets_by_size"):
        mapping = config["solver"]["by_size"] if section == "solver.by_size" else config[section]
        for key in mapping:
            if int(key) not in config["sizes"]:
                yield f"config key {section}.{key}: N={key} is not among sizes {config['sizes']}"
    training = config["training"]
    for name in ("h_eth", "h_mbl"):
        if not any(same_hbar(h, training[name]) for h in config["hbar"]):
            yield f"config key training.{name}: {training[name]} is not among hbar {config['hbar']} (its samples label the training data)"
    if training["seed"] == config["seed"]:
        yield (f"config key training.seed: {training['seed']} equals the campaign seed; choose another (the disorder "
               f"stream (N, realization) of one would coincide with the networks' (member, 1) of the other, mblnn.streams)")
    if training["h_eth"] >= training["h_mbl"]:
        yield f"config key training.h_eth: {training['h_eth']} must be below training.h_mbl={training['h_mbl']}"
    elif not any(training["h_eth"] < h < training["h_mbl"] for h in config["hbar"]):
        yield (f"config key hbar: no value between training.h_eth={training['h_eth']} and training.h_mbl={training['h_mbl']} "
               "(the transition region the networks classify)")
    nev = config["shift_invert"]["nev"]
    for i, N in enumerate(config["sizes"]):
        try:
            dim = sector_dimension(N, sz)
        except InputError:
            continue  # reported above
        if solver_for(config, N) in ("shift_invert", "filter") and nev > dim:
            yield (f"config key shift_invert.nev: nev={nev} exceeds the {dim} states of "
                   f"sizes[{i}] (N={N})")
    campaign = config["campaign"]
    if campaign["type"] == "single_realization":
        if config["realizations"] != 1:
            yield (f"config key realizations: a single_realization campaign uses one disorder pattern "
                   f"(campaign.realization={campaign['realization']}); set realizations: 1, got {config['realizations']}")
        if config["analysis"]["single_realization"]["realization"] != campaign["realization"]:
            yield (f"config key analysis.single_realization.realization: "
                   f"{config['analysis']['single_realization']['realization']} is not the campaign's pattern "
                   f"campaign.realization={campaign['realization']}")
    elif config["analysis"]["single_realization"]["realization"] >= config["realizations"]:
        yield (f"config key analysis.single_realization.realization: "
               f"{config['analysis']['single_realization']['realization']} is not below realizations={config['realizations']}")
    yield from _memory_errors(config)
    cpus = config["resources"]["max_cpus"]
    if config["training"]["threads"] > cpus:
        yield (f"config key training.threads: {config['training']['threads']} threads per job exceed "
               f"resources.max_cpus = {cpus} (a node's CPUs): such a job would wait in the queue forever")
    low, high = config["level_statistics"]["eps_window"]
    if low >= high:
        yield f"config key level_statistics.eps_window: eps_min={low} must be below eps_max={high}"
    yield from _finite_size_errors(config)


def _memory_errors(config: dict, machine_mem_mb: int | None = None) -> Iterator[str]:
    """Sizes whose diagonalization jobs would need more than ``resources.max_mem_mb`` (or, when the
    jobs run on this machine, more than its ``machine_mem_mb``)."""
    from mblnn.solve.cost import job_mem_mb
    from mblnn.units import format_megabytes

    limit, what = config["resources"]["max_mem_mb"], "resources.max_mem_mb"
    if machine_mem_mb is not None and machine_mem_mb < limit:
        limit, what = machine_mem_mb, "the memory of this machine, where the jobs run"
    for i, N in enumerate(config["sizes"]):
        try:
            need = job_mem_mb(solver_for(config, N), sector_dimension(N, config["model"]["sz"]),
                              config["solver"]["mpi_ranks"], config["dense"]["driver"])
        except InputError:
            continue  # an impossible sector, reported above
        if need <= limit:
            continue
        solver = solver_for(config, N)
        advice = (f"use the shift-invert solver for N={N} (solver.by_size: {{{N}: shift_invert}}), which computes "
                  f"shift_invert.nev eigenpairs per target energy density" if solver != "shift_invert" else
                  "spread the job over more nodes (solver.mpi_ranks), or choose a smaller N")
        yield (f"config key sizes[{i}]: N={N} with the {solver} solver needs about {format_megabytes(need)} per job "
               f"(with the safety factor of mblnn.solve.cost), more than {what} = "
               f"{format_megabytes(limit)}; {advice}")


def _finite_size_errors(config: dict) -> Iterator[str]:
    if "finite_size" not in config:
        return
    section = config["finite_size"]
    low, high = section["fit_range"]
    if low >= high:
        yield f"config key finite_size.fit_range: hbar_min={low} must be below hbar_max={high}"
    elif sum(low <= h <= high for h in config["hbar"]) < 3:
        yield f"config key finite_size.fit_range: fewer than 3 of hbar {config['hbar']} lie in [{low}, {high}]"
    if len(config["hbar"]) < 3:
        yield "config key hbar: learning by confusion and crossings need at least 3 disorder strengths"
    if section["confusion"]["n_hidden"] % 2:
        yield f"config key finite_size.confusion.n_hidden: must be even (half the units are dropped), got {section['confusion']['n_hidden']}"
    shift_invert = [N for N in config["sizes"] if solver_for(config, N) in ("shift_invert", "filter")]
    if shift_invert:
        width = section["eps_width"]
        for key, centres in (("finite_size.eps", section["eps"]), ("finite_size.confusion.eps", section["confusion"]["eps"])):
            for i, eps in enumerate(centres):
                if not any(abs(eps - t) <= width / 2 for t in config["shift_invert"]["targets"]):
                    yield (f"config key {key}[{i}]: no shift-invert target within eps_width/2 = {width / 2} of {eps} "
                           f"(N = {shift_invert} have states only near shift_invert.targets)")


@functools.cache
def _schema(schema_path: str | os.PathLike = DEFAULT_SCHEMA) -> dict:
    with open(schema_path) as handle:  # libyaml's loader where present: the schema is read by every command
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def default(key: str):
    """The schema's default of a dotted config key, e.g. ``default("training.steps")``: the one place where a
    default is written (library signatures and dataclasses take theirs from here)."""
    node = _schema()
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
    schema = _without_required(_schema(schema_path))
    config = copy.deepcopy(config)
    problems = list(_schema_errors(config, schema))
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


def validate_config(config: dict, schema_path: str | os.PathLike = DEFAULT_SCHEMA) -> dict:
    """Validate ``config`` in place (defaults filled in) and return it; raise :class:`ConfigError`."""
    problems = list(_schema_errors(config, _schema(schema_path)))
    if not problems:
        problems = list(_expand_hbar_grid(config))
    if not problems:
        problems = list(_physics_errors(config))
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def read_config_file(path: str | os.PathLike) -> dict:
    """Parse one YAML campaign file; a syntax error names the file, the line and the column."""
    try:
        with open(path) as handle:
            config = yaml.safe_load(handle) or {}
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration ({error.strerror})") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark is not None else str(path)
        problem = "; ".join(str(part) for part in (getattr(error, "context", None), getattr(error, "problem", None)) if part)
        raise ConfigError(f"{where}: YAML syntax error: {problem or error}") from error
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a campaign configuration must be a mapping of keys to values")
    return config


def merge_configs(base: dict, overlay: dict) -> dict:
    """Deep merge as Snakemake does with several config files: mappings merge key by key, other values replace."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_configs(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def check_fits_machine(config: dict, machine_mem_mb: int) -> None:
    """Raise :class:`ConfigError` if a validated campaign's jobs, run on this machine, would need more
    than its ``machine_mem_mb`` (the workflow calls this before the first job of a local run)."""
    problems = list(_memory_errors(config, machine_mem_mb))
    if problems:
        raise ConfigError("the campaign does not fit this machine:\n  " + "\n  ".join(problems))


def campaign_files(files: Sequence[str | os.PathLike] = (), default_campaign: str | os.PathLike = DEFAULT_CAMPAIGN) -> list[Path]:
    """The campaign files a run reads: ``files`` in their order, or the default campaign alone when none is named."""
    return [Path(path) for path in files] or [Path(default_campaign)]


def load_config(*paths: str | os.PathLike, overrides: dict | None = None, schema_path: str | os.PathLike = DEFAULT_SCHEMA,
                default_campaign: str | os.PathLike = DEFAULT_CAMPAIGN) -> dict:
    """The validated configuration of the campaign of ``paths`` (module docstring: the one rule for every entry
    point): the files merged in order (later ones override earlier ones key by key), or ``default_campaign`` when no
    path is given; ``overrides`` (config sections, Snakemake's ``--config``) on top; schema defaults for the rest."""
    config: dict = {}
    for path in campaign_files(paths, default_campaign):
        config = merge_configs(config, read_config_file(path))
    return validate_config(merge_configs(config, overrides or {}), schema_path)


def campaign_record(config: dict, files: Sequence[str | os.PathLike], overrides: dict | None = None) -> str:
    """The resolved configuration of a campaign as YAML that is itself a campaign file (``snakemake --configfile``
    of it runs the same campaign), headed by comments that say where it came from: the files read (path and
    SHA-256, in merge order), the command-line overrides and the code (version and commit)."""
    from mblnn import __version__
    from mblnn.provenance import git_revision

    lines = ["# The resolved configuration of this campaign: every key it uses, schema defaults included (mblnn.config).",
             "# Read from, in this order (later files override earlier ones key by key):"]
    for path in files:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        lines.append(f"#   {Path(path).resolve()}  (sha256 {digest})")
    lines.append(f"# overrides (--config): {yaml.safe_dump(overrides, default_flow_style=True).strip() if overrides else 'none'}")
    lines.append(f"# mblnn {__version__}, git {git_revision() or 'n/a'}")
    return "\n".join(lines) + "\n" + yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=120)


def _cut_offsets(config: dict, N: int) -> tuple[str, list[int]]:
    by_size = config["cut_offsets_by_size"]
    for key in (str(N), N):
        if key in by_size:
            return f"cut_offsets_by_size.{N}", by_size[key]
    return "cut_offsets", config["cut_offsets"]


def cuts_for(config: dict, N: int) -> list[int]:
    """Entanglement cuts N_A of chain length ``N``: N/2 + offset for ``cut_offsets_by_size[N]`` or ``cut_offsets``."""
    return sorted({N // 2 + offset for offset in _cut_offsets(config, N)[1]})


#: training keys a variant may override (besides its own delta and mu)
VARIANT_OVERRIDES = ("optimizer", "learning_rate", "steps", "cost_reduction", "floor", "trim_tr", "fraction", "input",
                     "hidden_layers")


def variant_training(config: dict, variant: str | None = None) -> dict:
    """The ``training`` section as ``variant`` trains (``None``: the first variant): its delta and mu, and its
    overrides of :data:`VARIANT_OVERRIDES`."""
    t = config["training"]
    if variant is None:
        variant = next(iter(t["variants"]))
    if variant not in t["variants"]:
        raise ConfigError(f"config key training.variants: no variant {variant!r} (variants: {', '.join(t['variants'])})")
    v = t["variants"][variant]
    return {**{k: t[k] for k in t if k != "variants"}, **{k: v[k] for k in VARIANT_OVERRIDES if k in v},
            "delta": v["delta"], "mu": v["mu"]}


def solver_for(config: dict, N: int) -> str:
    """Eigensolver of chain length ``N``: ``solver.by_size[N]`` or ``solver.default``."""
    return config["solver"]["by_size"].get(str(N), config["solver"]["by_size"].get(N, config["solver"]["default"]))
