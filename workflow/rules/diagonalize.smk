# One job per sample (N, hbar, realization): eigenpairs, entanglement and gap ratios, written to one
# Zarr store. Two rules for the two kinds of job, chosen per N by the config's solver: `diagonalize`
# (dense LAPACK, one process; small N are grouped for clusters) and `diagonalize_mpi` (SLEPc
# shift-invert or ScaLAPACK, launched as `{resources.mpi} -n {resources.tasks}`: mpiexec here, srun
# under the Slurm profile). The config keys of the solve are the param `config` (editing one reruns
# exactly these jobs); launcher and rank count are resources (results do not depend on them).

SPECTRUM_PARAMS = dict(
    solver=lambda wc: solver_for(config, int(wc.N)),
    cuts=lambda wc: ",".join(map(str, cuts_for(config, int(wc.N)))),
    config=lambda wc: spectrum_config(config, int(wc.N)),
)
SPECTRUM = (
    "mblnn spectrum --N {wildcards.N} --hbar {wildcards.hbar} --realization {wildcards.realization} "
    "--cuts {params.cuts} --solver {params.solver} --config {params.config:q} --out {output} > {log} 2>&1"
)
SAMPLE_LOG = "results/logs/diagonalize/N{N}/hbar{hbar}/r{realization}.log"


rule diagonalize:
    output:
        directory(SAMPLE),
    params:
        **SPECTRUM_PARAMS,
    wildcard_constraints:
        N=sizes_regex(config, mpi=False),
    group: diagonalize_group
    resources:
        mem_mb=lambda wc, attempt: diagonalize_mem_mb(config, int(wc.N)) * attempt,  # a retry gets more
        runtime=lambda wc, attempt: diagonalize_runtime(config, int(wc.N)) * attempt,
    conda:
        "../../envs/ed.yaml"
    log:
        SAMPLE_LOG,
    shell:
        SPECTRUM


rule diagonalize_mpi:
    output:
        directory(SAMPLE),
    params:
        **SPECTRUM_PARAMS,
    wildcard_constraints:
        N=sizes_regex(config, mpi=True),
    threads: config["solver"]["mpi_ranks"]  # so that local runs count every rank as a core
    resources:
        mpi=config["solver"]["mpi_launcher"],
        tasks=config["solver"]["mpi_ranks"],
        cpus_per_task=1,
        mem_mb=lambda wc, attempt: diagonalize_mem_mb(config, int(wc.N)) * attempt,  # a retry gets more
        runtime=lambda wc, attempt: diagonalize_runtime(config, int(wc.N)) * attempt,
    conda:
        "../../envs/ed.yaml"
    log:
        SAMPLE_LOG,
    shell:
        # one BLAS/OpenMP thread per rank: the ranks are the parallelism (Snakemake would give each rank `threads`)
        "export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1; {resources.mpi} -n {resources.tasks} " + SPECTRUM
