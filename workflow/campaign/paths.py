"""Which jobs a campaign has and where their files go: the path patterns of samples, ensembles, classifications,
tables and figures, the job lists a validated config implies, and which rule (one per N) and group a
diagonalization belongs to. Plain Python on a validated config (no Snakemake here): the rules call these functions,
and the tests import them directly."""

from __future__ import annotations

from mblnn.analyse.registry import TABLES
from mblnn.config import cuts_for, solver_for
from mblnn.hbar import hbar_key
from mblnn.model.chain import describe_model
from mblnn.plot.catalogue import FIGURES
from mblnn.stack import MPI_SOLVERS

TABLE_FORMATS = ("csv", "parquet")

#: the stores' paths without their layout's suffix (:func:`store_suffix`)
SAMPLE_STEM = "results/samples/N{N}/hbar{hbar}/r{realization}"
CLASSIFIED_STEM = "results/classified/N{N}/cut{N_A}/{variant}"
#: classifications by another campaign's ensembles (config ``transfer``), one per source name
TRANSFERRED_STEM = "results/transferred/N{N}/cut{N_A}/{source}"
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


def transferred_pattern(config: dict) -> str:
    """Wildcard pattern of the transferred classifications (config ``transfer``), in the campaign's layout."""
    return TRANSFERRED_STEM + store_suffix(config)


def transferred_paths(config: dict) -> list[str]:
    """Every transferred classification: each source of ``transfer`` at each N's half-chain cut."""
    main = main_variant(config)
    return [transferred_pattern(config).format(N=N, N_A=half_chain_cut(config, N, main), source=source)
            for source in config["transfer"] for N in config["sizes"]]


def source_ensemble(config: dict, source: str, N: int, N_A: int) -> str:
    """The ensemble of ``transfer.<source>`` that classifies this campaign's N at cut N_A."""
    entry = config["transfer"][source]
    return f"{entry['ensembles'].rstrip('/')}/N{N}/cut{N_A}/{entry['variant']}.npz"


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
    """Classification stores: of every ensemble (``all``), of the main variant at every cut (``main``), of the
    main variant at each N's half-chain cut (``half_chain``), or by other campaigns' ensembles (``transferred``)."""
    if stores == "transferred":
        return transferred_paths(config)
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


def report_title(config: dict) -> str:
    """The report's title: the sizes, the campaign type and, for a model other than Eq. (5), the model."""
    model = describe_model(config["model"])
    return (f"mblnn campaign: N = {', '.join(map(str, config['sizes']))}, {config['campaign']['type'].replace('_', ' ')}"
            + (f"; {model}" if model else ""))
