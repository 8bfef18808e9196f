# Wildcard values of the campaign, derived from the validated config only.


def hbar_label(hbar):
    """Exact, round-trippable text of a disorder strength for paths (repr of the float)."""
    return repr(float(hbar))


def sample_paths(N=None):
    """Every sample file of the campaign (or of one chain length N)."""
    sizes = config["sizes"] if N is None else [N]
    return [
        f"results/samples/N{n}/hbar{hbar_label(h)}/r{k}.zarr"
        for n in sizes
        for h in config["hbar"]
        for k in range(config["realizations"])
    ]


def mpi_tasks(N):
    """MPI ranks of the diagonalization of chain length N (1: no launcher)."""
    return config["solver"]["mpi_ranks"] if uses_mpi(config, N) else 1


wildcard_constraints:
    N=r"\d+",
    hbar=r"\d+(\.\d+)?(e[+-]?\d+)?",
    realization=r"\d+",
