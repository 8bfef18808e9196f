"""Values derived from a validated campaign configuration: the cuts of a chain length, a variant's training
section, the solver of a chain length and the sizes that need the MPI stack."""

from __future__ import annotations

from mblnn.model.basis import sector_dimension
from mblnn.schema import ConfigError
from mblnn.solve.cost import dense_memory_bytes
from mblnn.stack import MPI_SOLVERS


def cut_offsets(config: dict, N: int) -> tuple[str, list[int]]:
    """The config key that sets the cuts of chain length ``N`` and its offsets from N/2."""
    by_size = config["cut_offsets_by_size"]
    for key in (str(N), N):
        if key in by_size:
            return f"cut_offsets_by_size.{N}", by_size[key]
    return "cut_offsets", config["cut_offsets"]


def cuts_for(config: dict, N: int) -> list[int]:
    """Entanglement cuts N_A of chain length ``N``: N/2 + offset for ``cut_offsets_by_size[N]`` or ``cut_offsets``."""
    return sorted({N // 2 + offset for offset in cut_offsets(config, N)[1]})


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


def mpi_sizes(config: dict, memory_bytes: int) -> list[int]:
    """Chain lengths of a validated campaign whose samples run under MPI: a solver of :data:`MPI_SOLVERS`, or ``auto``
    where a dense diagonalization would not fit ``memory_bytes`` (``auto`` then picks shift-invert or the filter,
    :func:`mblnn.sample.choose_solver`)."""
    sizes = []
    for N in config["sizes"]:
        solver = solver_for(config, N)
        if solver == "auto":
            dim = sector_dimension(N, config["model"]["sz"])
            solver = "dense" if dense_memory_bytes(dim, config["dense"]["driver"]) <= memory_bytes else "shift_invert"
        if solver in MPI_SOLVERS:
            sizes.append(int(N))
    return sizes
