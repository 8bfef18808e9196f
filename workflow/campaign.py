"""The workflow's own logic, kept out of the library: which jobs a campaign has, their file paths, the config keys
each job depends on (passed to its command as ``--config JSON``, so Snakemake's params trigger sees every key), the
routing of N to its solver rule, and per-job resources from the solvers' cost model (:mod:`mblnn.solve.cost`).

Plain Python on a validated config (no Snakemake here): the rules in workflow/rules/*.smk call these functions, and
the tests import them directly.
"""

from __future__ import annotations

import json

from mblnn.analyse.registry import TABLES, config_subset
from mblnn.config import cuts_for, default, solver_for, variant_training
from mblnn.model.basis import sector_dimension
from mblnn.model.disorder import hbar_key
from mblnn.plot.figures import FIGURES
from mblnn.solve import cost
from mblnn.solve.mpi import tuned_options

#: solvers whose jobs run under an MPI launcher
MPI_SOLVERS = ("dense_mpi", "shift_invert", "filter")
TABLE_FORMATS = ("csv", "parquet")

SAMPLE = "results/samples/N{N}/hbar{hbar}/r{realization}.zarr"
ENSEMBLE = "results/ensembles/N{N}/cut{N_A}/{variant}.npz"
CLASSIFIED = "results/classified/N{N}/cut{N_A}/{variant}.zarr"
DREAM = "results/dreams/N{N}/cut{N_A}/{variant}_{target}.npz"
CONFUSION = "results/finite_size/confusion/N{N}.csv"
TABLE = "results/tables/{table}.csv"
FIGURE = "results/figures/{figure}.png"


def realization_indices(config: dict) -> list[int]:
    """The disorder realizations of the campaign: 0 .. realizations-1, or the one pattern of a
    single_realization campaign."""
    if config["campaign"]["type"] == "single_realization":
        return [int(config["campaign"]["realization"])]
    return list(range(config["realizations"]))


def sample_paths(config: dict, N: int | None = None) -> list[str]:
    """Every sample store of the campaign (or of one chain length N)."""
    sizes = config["sizes"] if N is None else [int(N)]
    return [SAMPLE.format(N=n, hbar=hbar_key(h), realization=k)
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
        return [CLASSIFIED.format(N=N, N_A=half_chain_cut(config, N, main), variant=main) for N in config["sizes"]]
    return [CLASSIFIED.format(N=N, N_A=N_A, variant=variant) for N, N_A, variant in ensembles(config)
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


def sizes_regex(config: dict, mpi: bool) -> str:
    """Regex of the chain lengths whose solver runs under MPI (or not): routes N to its rule."""
    sizes = [str(N) for N in config["sizes"] if uses_mpi(config, N) == mpi]
    return "|".join(sizes) if sizes else "(?!)"


def diagonalize_mem_mb(config: dict, N: int) -> int:
    """Memory request of one diagonalization job of chain length N (all ranks together)."""
    return cost.job_mem_mb(solver_for(config, N), sector_dimension(N, config["model"]["sz"]),
                           config["solver"]["mpi_ranks"], config["dense"]["driver"])


def diagonalize_runtime(config: dict, N: int) -> int:
    """Wall-time request (minutes) of one diagonalization job of chain length N."""
    return cost.job_runtime_min(solver_for(config, N), sector_dimension(N, config["model"]["sz"]),
                                config["solver"]["mpi_ranks"], len(config["shift_invert"]["targets"]))
