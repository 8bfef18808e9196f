"""Per-job resources: memory and wall time of every rule from the measured cost models (:mod:`mblnn.solve.cost`,
:mod:`mblnn.learn.cost`), and on a retry what the failed attempt lacked (from Slurm's logs), capped at the node."""

from __future__ import annotations

from mblnn import slurm
from mblnn.config import solver_for, variant_training
from mblnn.model.basis import sector_dimension
from mblnn.solve import cost

from campaign.paths import diagonalize_rule, ensembles, half_chain_cut, main_variant, realization_indices, rule_output


def diagonalize_mem_mb(config: dict, N: int) -> int:
    """Memory request of one diagonalization job of chain length N (all ranks together)."""
    return cost.job_mem_mb(solver_for(config, N), sector_dimension(N, config["model"]["sz"]),
                           config["solver"]["mpi_ranks"], config["dense"]["driver"])


def diagonalize_runtime(config: dict, N: int) -> int:
    """Wall-time request (minutes) of one diagonalization job of chain length N."""
    return cost.job_runtime_min(solver_for(config, N), sector_dimension(N, config["model"]["sz"]),
                                config["solver"]["mpi_ranks"], len(config["shift_invert"]["targets"]),
                                config["dense"]["driver"], config["dense"]["mpi_driver"])


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


def rule_resources(config: dict, rule: str) -> dict:
    """The ``resources`` of a rule as callables of (wildcards, attempt): ``mem_mb`` and ``runtime`` from the cost
    models (or resources.requests of the rule), raised on a retry by what the failed attempts of this run lacked
    (:func:`mblnn.slurm.failed_attempts`); after a user's scancel the retry asks for next to nothing, and its command
    ends at once (:func:`mblnn.slurm.not_retried_reason`). The callables only read: Snakemake evaluates them when it
    plans, submits and, on the node, runs a job, and each time they give the same request."""
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
        if attempt == 1:
            return []
        out = rule_output(config, rule).format(**dict(wc.items()))
        run_log = slurm.current_run_log()
        # attempts that stopped themselves because the allocation was below their modelled memory (mblnn.memory)
        short = slurm.short_of_memory_attempts(out, slurm.run_started(run_log))
        return slurm.failed_attempts(out, run_log) + [slurm.MEMORY] * short

    def request(wc, attempt):
        found = causes(wc, attempt)
        if slurm.CANCELLED in found:
            return {"mem_mb": cost.MIN_MEM_MB, "runtime": 1}
        return capped_request(config, *modelled(wc), attempt, found)

    return {"mem_mb": lambda wc, attempt: request(wc, attempt)["mem_mb"],
            "runtime": lambda wc, attempt: request(wc, attempt)["runtime"]}
