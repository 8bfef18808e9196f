# One job per sample (N, hbar, realization): eigenpairs, entanglement and gap ratios, written to one Zarr store.
# One rule per chain length, `diagonalize_N{N}` (`diagonalize_mpi_N{N}` under MPI), so that every job of a rule asks for the same resources: a Slurm
# job array (profiles/slurm: slurm-array-jobs) takes one request for all its tasks, and a site can give one size its
# own partition or limits (`set-resources: diagonalize_N18: slurm_partition: bigmem`). Sizes whose solver runs
# under MPI launch `{launcher} -n {tasks} mblnn spectrum ...` (solver.mpi_launcher: auto is srun inside a Slurm
# allocation, mpiexec elsewhere). The config keys of the solve are the param `config` (editing one reruns exactly
# these jobs); launcher and rank count are resources (results do not depend on them).

SPECTRUM = (
    "mblnn spectrum --N {wildcards.N} --hbar {wildcards.hbar} --realization {wildcards.realization} "
    "--cuts {params.cuts} --solver {params.solver} --config {params.config:q} --out {output} > {log} 2>&1"
)
# one BLAS/OpenMP thread per rank: the ranks are the parallelism (Snakemake would give each rank `threads`)
MPI_SPECTRUM = f"export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1; {{resources.mpi}} -n {{resources.tasks}} {SPECTRUM}"


def define_diagonalize_rule(size):
    # a function, not the loop body: Snakemake evaluates `shell:` when the job runs, and a loop variable would by
    # then hold the last size (every rule would get the last size's command)
    mpi = uses_mpi(config, size)

    rule:
        name:
            diagonalize_rule(config, size)
        output:
            store_output(sample_pattern(config)),
        params:
            solver=solver_for(config, size),
            cuts=",".join(map(str, cuts_for(config, size))),
            config=spectrum_config(config, size),
        wildcard_constraints:
            N=str(size),
        group:
            diagonalize_group(config, size)
        threads: config["solver"]["mpi_ranks"] if mpi else 1  # local runs count every rank as a core
        resources:
            **({"mpi": mpi_launcher_command(config), "tasks": config["solver"]["mpi_ranks"], "cpus_per_task": 1}
               if mpi else {}),
            **rule_resources(config, "diagonalize"),  # a retry asks for what the last attempt lacked
        conda:
            "../../envs/ed.yaml"
        log:
            "results/logs/diagonalize/N{N}/hbar{hbar}/r{realization}.log",
        shell:
            MPI_SPECTRUM if mpi else SPECTRUM


for size in config["sizes"]:
    define_diagonalize_rule(size)
