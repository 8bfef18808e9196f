# One job per sample (N, hbar, realization): dense LAPACK diagonalization, entanglement, gap ratios.
# Every config value that affects the result is a param, so editing it reruns exactly these jobs.


rule diagonalize:
    output:
        directory("results/samples/N{N}/hbar{hbar}/r{realization}.zarr"),
    params:
        seed=lambda wc: config["seed"],
        J=lambda wc: config["model"]["J"],
        sz=lambda wc: config["model"]["sz"],
        cuts=lambda wc: ",".join(map(str, cuts_for(config, int(wc.N)))),
        driver=lambda wc: config["dense"]["driver"],
        method=lambda wc: config["dense"]["entanglement_method"],
    log:
        "results/logs/diagonalize/N{N}/hbar{hbar}/r{realization}.log",
    shell:
        "mblnn spectrum --N {wildcards.N} --hbar {wildcards.hbar} --seed {params.seed} "
        "--realization {wildcards.realization} --cuts {params.cuts} --J {params.J} --sz {params.sz} "
        "--driver {params.driver} --entanglement-method {params.method} --out {output} > {log} 2>&1"
