"""The checks of a whole campaign that a schema cannot express: the h̄ grid, the physics (sectors, cuts, training
fields, seeds), the memory of every job against the limits, the finite-size analysis; :func:`validate_config`
runs the schema's and these."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

from mblnn.config.derived import cut_offsets, solver_for
from mblnn.errors import InputError
from mblnn.hbar import same_hbar
from mblnn.model.basis import n_up_for_sector, sector_dimension
from mblnn.schema import DEFAULT_SCHEMA, ConfigError, default, load_schema, schema_errors
from mblnn.solve.cost import job_mem_mb
from mblnn.units import format_megabytes


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
        key, offsets = cut_offsets(config, N)
        for j, offset in enumerate(offsets):
            N_A = N // 2 + offset
            if not 1 <= N_A <= N - 1:
                yield f"config key {key}[{j}]: N_A = N/2 + {offset} = {N_A} is outside [1, {N - 1}] for N={N}"
    model = config["model"]
    if model["fields"] != "quasiperiodic" and model["beta"] != default("model.beta"):
        yield (f"config key model.beta: {model['beta']} is read by quasiperiodic fields only, and model.fields is "
               f"{model['fields']}: set model.fields: quasiperiodic or drop beta")
    if model["boundary"] == "periodic":
        for N in config["sizes"]:
            key, offsets = cut_offsets(config, N)
            if len(offsets) > 1:
                yield (f"config key {key}: {len(offsets)} cuts for N={N} on a periodic chain (model.boundary); there "
                       "A = sites 1..N_A has two boundaries, so the cuts are subsystems of different sizes, not one "
                       "boundary at different places, and the spatial analysis across cuts (Fig. 6) does not apply: "
                       "give one cut offset")
                break
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


def validate_config(config: dict, schema_path: str | os.PathLike = DEFAULT_SCHEMA) -> dict:
    """Validate ``config`` in place (defaults filled in) and return it; raise :class:`ConfigError`."""
    problems = list(schema_errors(config, load_schema(schema_path)))
    if not problems:
        problems = list(_expand_hbar_grid(config))
    if not problems:
        problems = list(_physics_errors(config))
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def check_fits_machine(config: dict, machine_mem_mb: int) -> None:
    """Raise :class:`ConfigError` if a validated campaign's jobs, run on this machine, would need more
    than its ``machine_mem_mb`` (the workflow calls this before the first job of a local run)."""
    problems = list(_memory_errors(config, machine_mem_mb))
    if problems:
        raise ConfigError("the campaign does not fit this machine:\n  " + "\n  ".join(problems))
