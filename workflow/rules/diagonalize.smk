# One job per sample (N, hbar, realization): eigenpairs (dense LAPACK, or SLEPc/ScaLAPACK under MPI,
# chosen per N in the config), entanglement and gap ratios, written to one Zarr store.
# Every config value that affects the result is a param, so editing it reruns exactly these jobs;
# the MPI launcher and rank count are resources (results do not depend on them: no rerun).


rule diagonalize:
    output:
        directory("results/samples/N{N}/hbar{hbar}/r{realization}.zarr"),
    params:
        seed=lambda wc: config["seed"],
        J=lambda wc: config["model"]["J"],
        sz=lambda wc: config["model"]["sz"],
        cuts=lambda wc: ",".join(map(str, cuts_for(config, int(wc.N)))),
        solver=lambda wc: solver_arguments(config, int(wc.N)),
        method=lambda wc: config["dense"]["entanglement_method"],
    threads: lambda wc: mpi_tasks(int(wc.N))  # so that local runs count every rank as a core
    group: diagonalize_group
    resources:
        mpi=config["solver"]["mpi_launcher"],  # the Slurm profile sets srun
        tasks=lambda wc: mpi_tasks(int(wc.N)),
        cpus_per_task=1,
        mem_mb=lambda wc: diagonalize_mem_mb(config, int(wc.N)),
        runtime=lambda wc: diagonalize_runtime(config, int(wc.N)),
    conda:
        "../../envs/ed.yaml"
    log:
        "results/logs/diagonalize/N{N}/hbar{hbar}/r{realization}.log",
    shell:
        "if [ {resources.tasks} -gt 1 ]; then launch='{resources.mpi} -n {resources.tasks}'; else launch=''; fi; "
        "$launch mblnn spectrum --N {wildcards.N} --hbar {wildcards.hbar} --seed {params.seed} "
        "--realization {wildcards.realization} --cuts {params.cuts} --J {params.J} --sz {params.sz} "
        "{params.solver} --entanglement-method {params.method} --out {output} > {log} 2>&1"
