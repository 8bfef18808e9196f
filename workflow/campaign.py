"""The workflow's own logic, kept out of the library: which jobs a campaign has, their file paths, the config keys
each job depends on (passed to its command as ``--config JSON``, so Snakemake's params trigger sees every key), the
routing of N to its solver rule, and per-job resources from the solvers' cost model (:mod:`mblnn.solve.cost`).

Plain Python on a validated config (no Snakemake here): the rules in workflow/rules/*.smk call these functions, and
the tests import them directly.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from mblnn.analyse.registry import TABLES, config_subset
from mblnn.config import cuts_for, default, solver_for, variant_training
from mblnn.model.basis import sector_dimension
from mblnn import slurm
from mblnn.hbar import hbar_key
from mblnn.plot.catalogue import FIGURES
from mblnn.solve import cost
from mblnn.solve.mpi import tuned_options
from mblnn.stack import MPI_SOLVERS

TABLE_FORMATS = ("csv", "parquet")

#: the stores' paths without their layout's suffix (:func:`store_suffix`)
SAMPLE_STEM = "results/samples/N{N}/hbar{hbar}/r{realization}"
CLASSIFIED_STEM = "results/classified/N{N}/cut{N_A}/{variant}"
#: storage.layout -> the stores' suffix (mblnn.store.layout reads the layout from the name)
STORE_SUFFIXES = {"directory": ".zarr", "archive": ".zarr.zip"}
ENSEMBLE = "results/ensembles/N{N}/cut{N_A}/{variant}.npz"
DREAM = "results/dreams/N{N}/cut{N_A}/{variant}_{target}.npz"
CONFUSION = "results/finite_size/confusion/N{N}.csv"
TABLE = "results/tables/{table}.csv"
#: the campaign's resolved configuration with where it came from (mblnn.config.campaign_record)
CAMPAIGN_RECORD = "results/campaign.yaml"
FIGURE = "results/figures/{figure}.png"


def store_suffix(config: dict) -> str:
    """``.zarr`` (a directory per store) or ``.zarr.zip`` (one file per store), from ``storage.layout``."""
    return STORE_SUFFIXES[config["storage"]["layout"]]


def sample_pattern(config: dict) -> str:
    """Wildcard pattern of the sample stores, in the campaign's layout."""
    return SAMPLE_STEM + store_suffix(config)


def classified_pattern(config: dict) -> str:
    """Wildcard pattern of the classification stores, in the campaign's layout."""
    return CLASSIFIED_STEM + store_suffix(config)


def realization_indices(config: dict) -> list[int]:
    """The disorder realizations of the campaign: 0 .. realizations-1, or the one pattern of a
    single_realization campaign."""
    if config["campaign"]["type"] == "single_realization":
        return [int(config["campaign"]["realization"])]
    return list(range(config["realizations"]))


def sample_paths(config: dict, N: int | None = None) -> list[str]:
    """Every sample store of the campaign (or of one chain length N)."""
    sizes = config["sizes"] if N is None else [int(N)]
    return [sample_pattern(config).format(N=n, hbar=hbar_key(h), realization=k)
            for n in sizes for h in config["hbar"] for k in realization_indices(config)]


def training_cuts(config: dict, N: int, variant: str) -> list[int]:
    """Cuts with an ensemble of ``variant``: every cut of N if the variant has ``all_cuts``, else N/2
    (or the cut nearest to it)."""
    cuts = cuts_for(config, N)
    if config["training"]["variants"][variant].get("all_cuts", False):
        return cuts
    return [_nearest_half_chain(cuts, N)]


def _nearest_half_chain(cuts: list[int], N: int) -> int:
    return min(cuts, key=lambda N_A: abs(N_A - N // 2))


def half_chain_cut(config: dict, N: int, variant: str) -> int:
    """The cut of ``variant``'s ensembles for N nearest to the half chain N_A = N/2 (the paper's cut)."""
    return _nearest_half_chain(training_cuts(config, N, variant), N)


def main_variant(config: dict) -> str:
    """The first variant of training.variants: the reference ensembles of the figures."""
    return next(iter(config["training"]["variants"]))


def ensembles(config: dict) -> list[tuple[int, int, str]]:
    """Every (N, N_A, variant) of the campaign that trains an ensemble."""
    return [(N, N_A, variant) for N in config["sizes"] for variant in config["training"]["variants"]
            for N_A in training_cuts(config, N, variant)]


def classification_paths(config: dict, stores: str = "all") -> list[str]:
    """Classification stores: of every ensemble (``all``), of the main variant at every cut (``main``), or of the
    main variant at each N's half-chain cut (``half_chain``)."""
    main = main_variant(config)
    if stores == "half_chain":
        return [classified_pattern(config).format(N=N, N_A=half_chain_cut(config, N, main), variant=main)
                for N in config["sizes"]]
    return [classified_pattern(config).format(N=N, N_A=N_A, variant=variant) for N, N_A, variant in ensembles(config)
            if stores == "all" or variant == main]


def dream_paths(config: dict) -> list[str]:
    """Dreams of the main variant's half-chain ensembles, one per target class and N."""
    main = main_variant(config)
    return [DREAM.format(N=N, N_A=half_chain_cut(config, N, main), variant=main, target=target)
            for N in config["sizes"] for target in config["dreaming"]["targets"]]


def confusion_paths(config: dict) -> list[str]:
    """Per-network confusion tables, one per N (none without finite_size or without confusion bins)."""
    if "finite_size" not in config or not config["finite_size"]["confusion"]["eps"]:
        return []
    return [CONFUSION.format(N=N) for N in config["sizes"]]


def _enabled(config: dict, needs: str) -> bool:
    node = config
    for part in needs.split(".") if needs else ():
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return bool(node) if needs else True


def tables(config: dict) -> list[str]:
    """The tables of this campaign (:data:`mblnn.analyse.registry.TABLES` whose ``needs`` the config meets)."""
    return [name for name, table in TABLES.items() if _enabled(config, table.needs)]


def table_inputs(config: dict, name: str) -> dict[str, list[str]]:
    """Named inputs of table ``name``'s job (the rule's ``input``; :func:`table_arguments` renders them)."""
    table = TABLES[name]
    inputs = {"samples": sample_paths(config) if "samples" in table.reads else [],
              "classified": classification_paths(config, table.stores) if "classified" in table.reads else [],
              "dreams": dream_paths(config) if "dreams" in table.reads else [],
              "confusion": confusion_paths(config) if "confusion" in table.reads else []}
    inputs = {kind: paths for kind, paths in inputs.items() if paths}
    inputs.update({f"table_{other}": [TABLE.format(table=other)] for other in table.tables})
    return inputs


def table_arguments(inputs: dict[str, list[str]]) -> str:
    """The ``mblnn table`` options of a job's named inputs."""
    parts = []
    for kind, paths in inputs.items():
        if kind.startswith("table_"):
            parts += [f"--table {kind[len('table_'):]}={path}" for path in paths]
        else:
            parts.append(f"--{kind} " + " ".join(paths))
    return " ".join(parts)


def figures(config: dict) -> list[str]:
    """The figures of this campaign: those whose table the campaign has; Fig. 6 (agreement across cuts) only where
    some N has at least three cuts."""
    have = set(tables(config))
    if not any(len(cuts_for(config, N)) >= 3 for N in config["sizes"]):
        have.discard("spatial_structure")
    return [name for name, (_, table, overlays) in FIGURES.items() if table in have and set(overlays.values()) <= have]


def job_config(config: dict, *keys: str) -> str:
    """``--config`` of a job: the JSON of exactly ``keys`` (dotted) of the config, sorted for a stable text."""
    return json.dumps(config_subset(config, keys), sort_keys=True)


def table_config(config: dict, name: str) -> str:
    return job_config(config, *TABLES[name].keys)


#: the config keys of a sample's solve, by solver (only the settings of the solver used: editing the shift-invert
#: targets reruns the shift-invert samples and nothing else)
SOLVER_KEYS = {
    "dense": ("dense.driver", "dense.entanglement_method"),
    "dense_mpi": ("dense.entanglement_method",),
    "shift_invert": ("dense.entanglement_method", "shift_invert.targets", "shift_invert.nev", "shift_invert.tol",
                     "shift_invert.residual_tol", "shift_invert.petsc_options"),
}
SOLVER_KEYS["filter"] = SOLVER_KEYS["shift_invert"][:-1] + ("filter.degree", "filter.width_factor", "filter.petsc_options")
SOLVER_KEYS["auto"] = tuple(dict.fromkeys(SOLVER_KEYS["dense"] + SOLVER_KEYS["shift_invert"]))


def spectrum_config(config: dict, N: int) -> str:
    """``mblnn spectrum --config`` of size N: the settings of its solver; for shift-invert also the one entry of
    ``shift_invert.tuning`` that applies to N (and ``exact_resolve``), only where one applies, so that editing the
    N = 20 entry reruns the N = 20 samples and nothing else."""
    solver = solver_for(config, N)
    subset = config_subset(config, ("seed", "model.J", "model.sz", *SOLVER_KEYS[solver]))
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


def uses_mpi(config: dict, N: int) -> bool:
    return solver_for(config, N) in MPI_SOLVERS


def diagonalize_rule(config: dict, N: int) -> str:
    """Name of the rule that diagonalizes the samples of chain length N (one rule per N): diagonalize_N<N>, or
    diagonalize_mpi_N<N> for a solver under MPI (kept out of Slurm job arrays: the executor's job step runs every
    task of an array of MPI jobs as the first one, snakemake-executor-plugin-slurm-jobstep 0.6.1)."""
    return f"diagonalize_{'mpi_' if uses_mpi(config, N) else ''}N{int(N)}"


def diagonalize_group(config: dict, N: int) -> str | None:
    """Samples of N <= batching.group_max_N share the Snakemake job group "diagonalize-small" (for sites without job
    arrays: a group's jobs run one after another in one cluster job)."""
    return "diagonalize-small" if int(N) <= config["batching"]["group_max_N"] else None


def mpi_launcher_command(config: dict) -> str:
    """The MPI launcher of the jobs (its ``-n`` flag gives the ranks): solver.mpi_launcher, where ``auto`` is srun
    inside a Slurm allocation and mpiexec elsewhere, decided when the job runs."""
    launcher = config["solver"]["mpi_launcher"]
    if launcher == "auto":
        return '$(if [ -n "${SLURM_JOB_ID:-}" ]; then echo srun; else echo mpiexec; fi)'
    return launcher


def diagonalize_mem_mb(config: dict, N: int) -> int:
    """Memory request of one diagonalization job of chain length N (all ranks together)."""
    return cost.job_mem_mb(solver_for(config, N), sector_dimension(N, config["model"]["sz"]),
                           config["solver"]["mpi_ranks"], config["dense"]["driver"])


def diagonalize_runtime(config: dict, N: int) -> int:
    """Wall-time request (minutes) of one diagonalization job of chain length N."""
    return cost.job_runtime_min(solver_for(config, N), sector_dimension(N, config["model"]["sz"]),
                                config["solver"]["mpi_ranks"], len(config["shift_invert"]["targets"]))


# Per-job requests of the learning and analysis rules, from the learning cost model (mblnn.learn.cost), as the
# diagonalizations' come from the solvers' (mblnn.solve.cost). A retry asks for what the failed attempt lacked
# (rule_resources), never more than the node allows (resources.max_mem_mb, resources.max_runtime_min).

def spectra_per_sample(config: dict, N: int) -> int:
    """Eigenstates stored per sample of chain length N: the sector for the dense solvers, nev per target otherwise."""
    if solver_for(config, N) in ("shift_invert", "filter"):
        return config["shift_invert"]["nev"] * len(config["shift_invert"]["targets"])
    return sector_dimension(N, config["model"]["sz"])


def _samples_per_size(config: dict) -> int:
    return len(config["hbar"]) * len(realization_indices(config))


def _half_chain(config: dict, N: int) -> int:
    return half_chain_cut(config, N, main_variant(config))


def learning_request(config: dict, rule: str, N: int, N_A: int | None = None, variant: str | None = None) -> tuple[int, int]:
    """(mem_mb, runtime in minutes) of one job of a learning rule (train, classify, dream, confusion) for N."""
    from mblnn.learn import cost as learn_cost

    training = variant_training(config, variant)
    samples, per_sample = _samples_per_size(config), spectra_per_sample(config, N)
    N_A = _half_chain(config, N) if N_A is None else int(N_A)
    n_in = learn_cost.input_length(N, N_A, training["fraction"])
    members, hidden = training["members"], training["n_hidden"]
    if rule == "train":
        spectra = samples * per_sample
        need = (learn_cost.train_memory_bytes(spectra, n_in, members, hidden),
                learn_cost.train_seconds(learn_cost.train_member_steps(training), 1, n_in, hidden, samples))
    elif rule == "classify":
        need = (learn_cost.classify_memory_bytes(per_sample, n_in, members, samples),
                learn_cost.classify_seconds(samples * per_sample, samples, n_in, members, hidden))
    elif rule == "dream":
        dreaming = config["dreaming"]
        need = (learn_cost.classify_memory_bytes(per_sample, n_in, members),
                learn_cost.dream_seconds(dreaming["steps"], dreaming["networks"], n_in, hidden, samples))
    elif rule == "confusion":
        section = config["finite_size"]["confusion"]
        bins = len(section["eps"])
        spectra = samples * min(per_sample, section["max_per_sample"] * bins)
        networks = section["repeats"] * len(config["hbar"]) * bins  # one set per trial point and bin
        need = (learn_cost.train_memory_bytes(spectra, n_in, section["repeats"], section["n_hidden"]),
                learn_cost.train_seconds(section["steps"], networks, n_in, section["n_hidden"], samples))
    else:
        raise KeyError(rule)
    return cost.mem_request_mb(need[0]), cost.runtime_request_min(need[1])


def analysis_request(config: dict) -> tuple[int, int]:
    """(mem_mb, runtime in minutes) of a table job, the largest of them: every network's confidence (float32) of
    every stored state of one N, read at once, and ~0.05 s per store read."""
    from mblnn.learn import cost as learn_cost

    members = max(variant_training(config, v)["members"] for v in config["training"]["variants"])
    largest = _samples_per_size(config) * max(spectra_per_sample(config, N) for N in config["sizes"])
    # a table reads each sample once per ensemble of its size (classification stores), at ~0.05 s a store
    stores = _samples_per_size(config) * len(ensembles(config))
    return (cost.mem_request_mb(learn_cost.TENSORFLOW_BYTES / 4 + 4 * largest * (members + 4)),
            cost.runtime_request_min(0.05 * stores))


def capped_request(config: dict, mem_mb: int, runtime: int, attempt: int, causes: list[str] = ()) -> dict:
    """The request of ``attempt``: after a time-limit kill twice the time, after an out-of-memory kill twice the
    memory (per such failure); with retries of unknown cause ``attempt`` times both; never above the node's limits
    (resources.max_mem_mb, resources.max_runtime_min)."""
    limits = config["resources"]
    if attempt > 1 and not causes:
        mem_mb, runtime = mem_mb * attempt, runtime * attempt
    mem_mb *= 2 ** sum(cause == slurm.MEMORY for cause in causes)
    runtime *= 2 ** sum(cause == slurm.TIMEOUT for cause in causes)
    return {"mem_mb": min(mem_mb, limits["max_mem_mb"]), "runtime": min(runtime, limits["max_runtime_min"])}


#: where snakemake-executor-plugin-slurm keeps each job's Slurm output (its default logdir, relative to the workdir)
SLURM_LOGS = Path(".snakemake/slurm_logs")
#: attempts before this run started are not this run's failures
RUN_STARTED = time.time()


def previous_failures(rule: str, wildcards) -> list[str]:
    """Causes (:func:`mblnn.slurm.failure_cause`) of this run's failed Slurm attempts of the job (rule, wildcards),
    oldest first, from the executor's log files: ``rule_<rule>/<wildcard values>/<jobid>.log``, or for array tasks
    ``rule_<rule>/<array>_<task>.log`` naming the wildcards inside."""
    folder = SLURM_LOGS / f"rule_{rule}"
    if not folder.is_dir():
        return []
    values = "_".join(str(value) for value in wildcards).replace("/", "_")
    printed = "wildcards: " + ", ".join(f"{key}={value}" for key, value in wildcards.items())
    causes = []
    logs = [log for log in folder.glob("**/*.log") if log.stat().st_mtime >= RUN_STARTED]
    for log in sorted(logs, key=lambda log: log.stat().st_mtime):
        text = log.read_text(errors="replace")
        if log.parent.name == values or printed in text:
            cause = slurm.failure_cause(text)
            if cause:
                causes.append(cause)
    return causes


def rule_resources(config: dict, rule: str) -> dict:
    """The ``resources`` of a rule as callables of (wildcards, attempt): ``mem_mb`` and ``runtime`` from the cost
    models (or resources.requests of the rule), raised on a retry by what the failed attempt lacked; after a user's
    scancel the retry is marked not to run."""
    def name(wc):
        return diagonalize_rule(config, wc.N) if rule == "diagonalize" else rule

    def modelled(wc):
        if rule == "diagonalize":
            request = diagonalize_mem_mb(config, int(wc.N)), diagonalize_runtime(config, int(wc.N))
        elif rule in ("train", "classify", "dream", "confusion"):
            request = learning_request(config, rule, int(wc.N), getattr(wc, "N_A", None), getattr(wc, "variant", None))
        elif rule == "table":
            request = analysis_request(config)
        else:
            request = cost.MIN_MEM_MB, cost.MIN_RUNTIME_MIN  # figures and the report read tables only: seconds
        override = config["resources"]["requests"].get(name(wc), {})
        return override.get("mem_mb", request[0]), override.get("runtime", request[1])

    def causes(wc, attempt):
        found = previous_failures(name(wc), wc) if attempt > 1 else []
        out = rule_output(config, rule).format(**dict(wc.items()))
        # attempts that stopped themselves because the allocation was below their modelled memory (mblnn.memory)
        found += [slurm.MEMORY] * (slurm.short_of_memory_attempts(out, RUN_STARTED) if attempt > 1 else 0)
        # a user's scancel: the retry's command ends at once (mblnn.slurm.not_retried_reason), asking for little
        if slurm.CANCELLED in found:
            slurm.mark_not_retried(out, f"{name(wc)} ({out}) was cancelled by a user (scancel): not retried")
        elif attempt == 1:
            slurm.clear_not_retried(out)
            slurm.clear_short_of_memory(out)
        return found

    def request(wc, attempt):
        found = causes(wc, attempt)
        if slurm.CANCELLED in found:
            return {"mem_mb": cost.MIN_MEM_MB, "runtime": 1}
        return capped_request(config, *modelled(wc), attempt, found)

    return {"mem_mb": lambda wc, attempt: request(wc, attempt)["mem_mb"],
            "runtime": lambda wc, attempt: request(wc, attempt)["runtime"]}


#: the output each rule's command writes (its --out), by which a refused retry is marked (stores: rule_output)
RULE_OUTPUTS = {"train": ENSEMBLE, "dream": DREAM, "confusion": CONFUSION, "table": TABLE, "figure": FIGURE,
                "report_html": "results/report.html"}


def rule_output(config: dict, rule: str) -> str:
    """The wildcard pattern of the output a rule's command writes."""
    if rule == "diagonalize":
        return sample_pattern(config)
    if rule == "classify":
        return classified_pattern(config)
    return RULE_OUTPUTS[rule]
