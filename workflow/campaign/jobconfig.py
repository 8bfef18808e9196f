"""The ``--config`` of every job: the JSON of exactly the config keys the job's result depends on (so Snakemake's
params trigger reruns a job when, and only when, one of its keys changes)."""

from __future__ import annotations

import dataclasses
import json

from mblnn.analyse.registry import TABLES, config_subset
from mblnn.config import default, solver_for, variant_training
from mblnn.model.chain import model_extension
from mblnn.solve.mpi import tuned_options
from mblnn.solve.settings import FilterSettings


def job_config(config: dict, *keys: str) -> str:
    """``--config`` of a job: the JSON of exactly ``keys`` (dotted) of the config, sorted for a stable text."""
    return json.dumps(config_subset(config, keys), sort_keys=True)


def table_config(config: dict, name: str) -> str:
    return job_config(config, *TABLES[name].keys)


#: the config keys of a sample's solve, by solver (only the settings of the solver used: editing the shift-invert
#: targets reruns the shift-invert samples and nothing else)
SOLVER_KEYS = {
    "dense": ("dense.driver", "dense.entanglement_method"),
    "dense_mpi": ("dense.mpi_driver", "dense.entanglement_method"),
    "shift_invert": ("dense.entanglement_method", "shift_invert.targets", "shift_invert.nev", "shift_invert.tol",
                     "shift_invert.residual_tol", "shift_invert.petsc_options"),
}
SOLVER_KEYS["filter"] = SOLVER_KEYS["shift_invert"][:-1] + ("filter.degree", "filter.width_factor", "filter.petsc_options")
SOLVER_KEYS["auto"] = tuple(dict.fromkeys(SOLVER_KEYS["dense"] + SOLVER_KEYS["shift_invert"]))

#: the filter's keys that a job sees only where the campaign sets them off their defaults: a filter job (and an auto
#: job, which may pick the filter when it runs) gets them then, and the commands of every other campaign stay as they
#: were before these keys existed (no rerun)
_FILTER_KEYS = tuple(f"filter.{field.name}" for field in dataclasses.fields(FilterSettings))  # the whole section
FILTER_KEYS_IF_SET = {"filter": tuple(key for key in _FILTER_KEYS if key not in SOLVER_KEYS["filter"]),
                      "auto": _FILTER_KEYS}


def _set_keys(config: dict, keys) -> list[str]:
    """Those ``section.key`` keys whose value in ``config`` differs from the schema's default."""
    return [key for key in keys if config[key.split(".")[0]][key.split(".")[1]] != default(key)]


def spectrum_config(config: dict, N: int) -> str:
    """``mblnn spectrum --config`` of size N: the seed, the model (J and sz; any other key only for a model other than
    the paper's), the settings of its solver; for shift-invert also the one entry of
    ``shift_invert.tuning`` that applies to N (and ``exact_resolve``), only where one applies, so that editing the
    N = 20 entry reruns the N = 20 samples and nothing else."""
    solver = solver_for(config, N)
    model = [f"model.{key}" for key in model_extension(config["model"])]  # none for the paper's model: unchanged commands
    extra = _set_keys(config, FILTER_KEYS_IF_SET.get(solver, ()))
    subset = config_subset(config, ("seed", "model.J", "model.sz", *model, *SOLVER_KEYS[solver], *extra))
    key, options = tuned_options(config["shift_invert"]["tuning"], N)
    if solver in ("shift_invert", "auto") and options:
        subset["shift_invert"] |= {"tuning": {str(key): options}, "exact_resolve": config["shift_invert"]["exact_resolve"]}
    elif solver in ("shift_invert", "auto") and tuned_options(default("shift_invert.tuning"), N)[1]:
        subset["shift_invert"]["tuning"] = {}  # the job must not fall back on the default table's entry
    return json.dumps(subset, sort_keys=True)


#: keys of a variant's training section that do not change its ensemble
_NOT_RESULTS = ("threads", "variants")


def training_config(config: dict, variant: str) -> str:
    """``mblnn train --config`` of ``variant``: the training keys it trains with, its own variant entry only (editing
    another variant retrains nothing of this one)."""
    training = config["training"]
    section = {key: value for key, value in training.items() if key not in _NOT_RESULTS}
    section["variants"] = {variant: training["variants"][variant]}
    variant_training({"training": section}, variant)  # a misspelt variant fails here, at planning
    return json.dumps({"training": section}, sort_keys=True)


def confusion_config(config: dict) -> str:
    """``mblnn confusion --config``: its networks (finite_size.confusion), the bin width and the network inputs."""
    return job_config(config, "finite_size.confusion", "finite_size.eps_width", "training.fraction", "training.input",
                      "training.floor")
