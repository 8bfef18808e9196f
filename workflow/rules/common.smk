# Wildcard values and file lists of the campaign, derived from the validated config only.


def hbar_label(hbar):
    """Exact, round-trippable text of a disorder strength for paths (repr of the float)."""
    return repr(float(hbar))


def sample_paths(N=None):
    """Every sample store of the campaign (or of one chain length N)."""
    sizes = config["sizes"] if N is None else [N]
    return [
        f"results/samples/N{n}/hbar{hbar_label(h)}/r{k}.zarr"
        for n in sizes
        for h in config["hbar"]
        for k in realization_indices(config)
    ]


def ensemble_path(N, N_A, variant):
    return f"results/ensembles/N{N}/cut{N_A}/{variant}.npz"


def classification_path(N, N_A, variant):
    return f"results/classified/N{N}/cut{N_A}/{variant}.zarr"


def classification_paths():
    """Every classification store: one per trained ensemble (N, cut, variant)."""
    return [classification_path(N, N_A, variant) for N, N_A, variant in ensembles(config)]


def main_variant():
    """The first variant of training.variants: the reference ensembles of the figures."""
    return next(iter(config["training"]["variants"]))


def half_chain_classifications():
    """Classification stores of the main variant at each N's half-chain cut."""
    return [classification_path(N, half_chain_cut(config, N, main_variant()), main_variant()) for N in config["sizes"]]


def main_classifications():
    """Classification stores of the main variant, every cut it was trained on."""
    return [classification_path(N, N_A, variant) for N, N_A, variant in ensembles(config) if variant == main_variant()]


def dream_paths():
    """Dreams of the main variant's half-chain ensembles, one per target class and N."""
    main = main_variant()
    return [f"results/dreams/N{N}/cut{half_chain_cut(config, N, main)}/{main}_{target}.npz"
            for N in config["sizes"] for target in config["dreaming"]["targets"]]


def sizes_regex(mpi):
    """Regex of the chain lengths whose solver runs under MPI (or not): routes N to its rule."""
    sizes = [str(N) for N in config["sizes"] if uses_mpi(config, N) == mpi]
    return "|".join(sizes) if sizes else "(?!)"


def diagonalize_group(wildcards):
    """Small, seconds-long samples share the job group that cluster profiles batch (group-components)."""
    return "diagonalize-small" if int(wildcards.N) <= config["batching"]["group_max_N"] else None


wildcard_constraints:
    N=r"\d+",
    N_A=r"\d+",
    hbar=r"\d+(\.\d+)?(e[+-]?\d+)?",
    realization=r"\d+",
    variant=r"[A-Za-z0-9_]+",
    target=r"eth|mbl",
