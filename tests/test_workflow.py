"""The real Snakemake workflow, run in a temporary directory on a tiny campaign."""

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from mblnn.config import load_config
from mblnn.learn.classify import open_classification
from mblnn.store.samples import read_sample, verify
import planning
from planning import plan_requests

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TINY = {"sizes": [8, 10], "hbar": [0.25, 3.0, 12.0], "realizations": 2, "seed": 11, "cut_offsets_by_size": {"10": [-1, 0, 1]},
        "training": {"members": 3, "n_hidden": 64, "steps": 500, "optimizer": "adam", "learning_rate": 3e-3, "threads": 1},
        "dreaming": {"targets": ["mbl"], "networks": 2, "steps": 50, "step_size": 1e-3, "window": [0.0, 1.0]},
        "analysis": {"eps_bins": 4},
        "finite_size": {"eps": [0.5], "eps_width": 0.3, "fit_range": [0.25, 12.0], "degree": 1, "replicas": 5,
                        "confusion": {"eps": [0.5], "repeats": 2, "n_hidden": 16, "steps": 100, "max_per_sample": 20}}}
ED_ONLY = {"sizes": [6, 8], "hbar": [0.25, 6.0, 12.0], "realizations": 2, "seed": 11}


def snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    path = workdir / "campaign.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"}
    return subprocess.run(
        [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--configfile", str(path),
         "--cores", "2", *args],
        capture_output=True, text=True, env=env,
    )


def diagonalized(planned: dict[str, int]) -> int:
    """Diagonalization jobs among planned jobs (one rule per chain length, diagonalize_[mpi_]N<N>)."""
    return sum(count for rule, count in planned.items() if re.match(r"diagonalize_(mpi_)?N\d+$", rule))


def planned_jobs(done: subprocess.CompletedProcess) -> dict[str, int]:
    """Jobs per rule from Snakemake's own dry-run 'Job stats' table ({} when it has nothing to do)."""
    return planning.planned_jobs(done.stdout + done.stderr)


def planned_tables(done: subprocess.CompletedProcess) -> set[str]:
    """The tables a dry-run would (re)write (jobs of the one `table` rule)."""
    return set(re.findall(r"output: results/tables/(\w+)\.csv", done.stdout))


LEVELS = "results/tables/level_statistics.csv"


@pytest.mark.slow
def test_campaign_runs_end_to_end_and_reruns_only_what_changed(tmp_path):
    done = snakemake(tmp_path, TINY)
    assert done.returncode == 0, done.stderr
    results = tmp_path / "results"
    levels = pd.read_csv(results / "tables/level_statistics.csv")
    assert list(levels[["N", "hbar"]].itertuples(index=False, name=None)) == [(N, h) for N in (8, 10) for h in (0.25, 3.0, 12.0)]
    assert (levels["n_realizations"] == 2).all() and levels["r_mean"].between(0, 1).all()
    pd.testing.assert_frame_equal(pd.read_parquet(results / "tables/level_statistics.parquet"), levels)
    with warnings.catch_warnings():  # Snakemake's .snakemake_timestamp in the store is invisible to zarr/xarray
        warnings.simplefilter("error")
        xr.open_zarr(next(results.glob("samples/N8/hbar3.0/r0.zarr")))
    assert [v.status for v in verify([results])] == ["ok"] * len(list(results.rglob("*.zarr")))
    assert len(list((results / "samples").glob("N*/hbar*/r*.zarr"))) == 12
    phase = pd.read_parquet(results / "tables/phase_diagram.parquet")
    assert set(phase["N"]) == {8, 10} and phase["confidence"].between(0, 1).all()
    assert len(phase) == (1 + 3) * 3 * 4  # ensembles (N = 8 half chain; N = 10 at three cuts) × h̄ × ε bins
    assert set(phase[phase["N"] == 10]["N_A"]) == {4, 5, 6}
    middle = phase[(phase["eps_low"] >= 0.25) & (phase["eps_high"] <= 0.75) & (phase["N_A"] == phase["N"] // 2)]
    eth, mbl = (middle[middle["hbar"] == h]["confidence"].mean() for h in (0.25, 12.0))
    assert eth < 0.3 < 0.7 < mbl
    critical = pd.read_csv(results / "tables/critical_field.csv")
    assert len(critical) == (1 + 3) * 5 * 5 and critical["hbar_c"].dropna().between(0.25, 12.0).all()
    assert set(pd.read_csv(results / "tables/levels_vs_network.csv").columns) >= {"r_mean", "eth_confidence_main"}
    assert pd.read_csv(results / "tables/consistency.csv")["changed"].between(0, 1).all()
    summary = pd.read_csv(results / "tables/summary.csv")
    assert list(summary["N"]) == [8, 10, 10, 10] and summary["eta_min"].between(0.9, 1).all()
    assert {"hbar_c", "hbar_c_err", "r_midpoint", "uncertain_peak", "confident_uncertain", "flipped",
            "rho_inverse_hbar_c_u"} <= set(summary.columns)
    for table in ("transition_region", "spatial_structure", "single_realization", "fine_structure", "dreams"):
        assert not pd.read_parquet(results / f"tables/{table}.parquet").empty, table
    edge = pd.read_parquet(results / "tables/mobility_edge.parquet")
    assert set(edge["N"]) == {8, 10} and edge["r"].between(0, 1).all() and edge["confidence"].between(0, 1).all()
    crossings = pd.read_csv(results / "tables/crossings.csv")
    assert set(crossings["method"]) == {"gap_ratio", "network", "confusion"}
    assert set(pd.read_csv(results / "tables/confusion.csv")["trial"]) == {1.625, 7.5}
    scaling = pd.read_csv(results / "tables/scaling.csv")
    # r is fitted; the network only if enough of its points lie off the saturated plateaus (network_range)
    assert "gap_ratio" in set(scaling["observable"]) and set(scaling["observable"]) <= {"gap_ratio", "network"}
    assert set(scaling[["N_min", "N_max"]].itertuples(index=False, name=None)) == {(8, 10)}
    for figure in ("phase_diagram", "critical_field", "disorder_correlation", "levels_vs_network", "consistency", "transition_region",
                   "single_realization", "spatial_structure", "dreams", "mobility_edge", "scaling", "confusion"):
        assert (results / f"figures/{figure}.png").stat().st_size > 1000 and (results / f"figures/{figure}.pdf").exists()
    assert (results / "dreams/N10/cut5/main_mbl.npz").exists()

    nothing = snakemake(tmp_path, TINY, "-n")
    assert "Nothing to be done" in nothing.stdout + nothing.stderr

    # what the run used, every key resolved (the campaign file alone on the schema's defaults), is itself the campaign
    record = results / "campaign.yaml"
    assert load_config(record) == load_config(tmp_path / "campaign.yaml")
    assert f"{tmp_path / 'campaign.yaml'}  (sha256 " in record.read_text()
    again = subprocess.run([str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--configfile",
                            str(record), "-n", "--cores", "2"], capture_output=True, text=True)
    assert planned_jobs(again) == {"campaign_record": 1, "all": 1}  # only the record of where it came from changes

    # a training setting: retrain and everything downstream, never rediagonalize
    steps = snakemake(tmp_path, {**TINY, "training": {**TINY["training"], "steps": 600}}, "-n")
    planned = planned_jobs(steps)
    assert not diagonalized(planned) and "level_statistics" not in planned_tables(steps)
    assert planned["train"] == 4 and planned["classify"] == 4 and "phase_diagram" in planned_tables(steps)  # N = 8; N = 10 at 3 cuts

    # an analysis setting: only the tables that use it and their figures
    bins = snakemake(tmp_path, {**TINY, "analysis": {"eps_bins": 5}}, "-n")
    assert planned_jobs(bins) == {"table": 2, "figure": 2, "report_html": 1, "all": 1, "campaign_record": 1}
    assert planned_tables(bins) == {"phase_diagram", "levels_vs_network"}
    fraction = snakemake(tmp_path, {**TINY, "analysis": {"eps_bins": 4, "critical_fraction": 0.25}}, "-n")
    assert planned_jobs(fraction) == {"table": 1, "report_html": 1, "all": 1, "campaign_record": 1} and planned_tables(fraction) == {"summary"}
    fit = snakemake(tmp_path, {**TINY, "finite_size": {**TINY["finite_size"], "degree": 2}}, "-n")
    # only the scaling collapse uses the degree (confusion is not retrained, the other tables are not rebuilt)
    assert planned_jobs(fit) == {"table": 1, "figure": 1, "report_html": 1, "all": 1, "campaign_record": 1} and planned_tables(fit) == {"scaling"}
    window = snakemake(tmp_path, {**TINY, "analysis": {"eps_bins": 4, "single_realization": {"window": 64}}}, "-n")
    assert planned_jobs(window) == {"table": 1, "figure": 1, "report_html": 1, "all": 1, "campaign_record": 1}
    assert planned_tables(window) == {"single_realization"}

    # a new realization: only its samples are diagonalized; the reductions follow
    more = snakemake(tmp_path, {**TINY, "realizations": 3}, "-n")
    planned = planned_jobs(more)
    assert diagonalized(planned) == 6 and "level_statistics" in planned_tables(more)
    new_samples = set(re.findall(r"output: results/samples/(N\d+/hbar[\d.]+/r\d+)\.zarr", more.stdout))
    assert new_samples == {f"N{N}/hbar{h}/r2" for N in (8, 10) for h in (0.25, 3.0, 12.0)}

    driver = snakemake(tmp_path, {**TINY, "dense": {"driver": "evr"}}, "-n")
    assert diagonalized(planned_jobs(driver)) == 12

    report = snakemake(tmp_path, TINY, "--report", str(tmp_path / "report.html"))
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report.html").stat().st_size > 10_000


def assert_fits_node(plan: dict, config: dict) -> None:
    """Every request of every rule fits one node of the config's resources section (what Slurm would refuse or
    leave pending forever otherwise)."""
    node = config["resources"]
    for rule, r in plan["rules"].items():
        assert r["mem_mb"] <= node["max_mem_mb"], (rule, r)
        assert r["runtime"] <= node["max_runtime_min"], (rule, r)
        assert r["cpus_per_task"] <= node["max_cpus"], (rule, r)
        if not r["local"]:
            assert r["mem_mb"] >= 1000 and r["runtime"] >= 10, f"{rule} asks for no memory or time: {r}"


@pytest.mark.slow
def test_paper_campaigns_plan_through_the_slurm_profile_and_fit_a_node():
    """The paper as three campaigns (config/paper.yaml, single_realization_n16/n18.yaml) planned through
    profiles/slurm: the jobs, every request within a node, the sbatch submissions and the file count
    (the numbers of docs/cluster.md)."""
    hbars, realizations = 95, 40
    plans = {name: plan_requests(f"config/{name}.yaml")
             for name in ("paper", "single_realization_n16", "single_realization_n18")}
    jobs = {name: {rule: r["jobs"] for rule, r in plan["rules"].items()} for name, plan in plans.items()}
    # N = 12, 14, 16 dense, 40 realizations; ensembles: main + three ablations at N/2; every table of the registry
    assert jobs["paper"] == {"diagonalize_N12": hbars * realizations, "diagonalize_N14": hbars * realizations,
                             "diagonalize_N16": hbars * realizations, "train": 12, "classify": 12, "dream": 6,
                             "table": 17, "figure": 11, "report_html": 1, "all": 1, "confusion": 3,
                             "campaign_record": 1}
    assert jobs["single_realization_n18"]["diagonalize_mpi_N18"] == hbars
    for name, plan in plans.items():
        assert_fits_node(plan, load_config(REPO / "config" / f"{name}.yaml"))
    paper = plans["paper"]["rules"]
    # one job array per size (up to 1000 tasks per sbatch), one for the tables; figures and report local
    assert all(paper[f"diagonalize_N{N}"]["submissions"] == 4 for N in (12, 14, 16))
    assert paper["table"]["submissions"] == 1 and paper["figure"]["local"] and paper["report_html"]["local"]
    assert plans["paper"]["submissions"] == 3 * 4 + 12 + 12 + 6 + 3 + 1
    # ScaLAPACK for N = 18: 16 tasks of one thread each
    assert plans["single_realization_n18"]["rules"]["diagonalize_mpi_N18"]["tasks"] == 16
    # storage.layout archive: one file per sample and per classification store
    assert plans["paper"]["files"] == {"samples": 3 * hbars * realizations, "classifications": 12,
                                       "total": 3 * hbars * realizations + 12}
    assert plans["single_realization_n18"]["files"]["total"] == hbars + 10


@pytest.mark.slow
def test_mobility_edge_campaign_plans_n22_under_mpi_within_a_node():
    """config/mobility_edge.yaml, the cluster campaign beyond the paper: N = 12 … 22 by shift-invert on 16 ranks,
    every request within the node, one file per store."""
    plan = plan_requests("config/mobility_edge.yaml")
    assert_fits_node(plan, load_config(REPO / "config" / "mobility_edge.yaml"))
    n22 = plan["rules"]["diagonalize_mpi_N22"]
    assert n22["jobs"] == 16 * 200 and n22["tasks"] == 16 and n22["mem_mb"] > plan["rules"]["diagonalize_mpi_N20"]["mem_mb"]
    assert plan["files"]["total"] == 6 * 16 * 200 + 6


def test_archive_layout_plans_one_file_per_store(tmp_path):
    """storage.layout: archive names every store *.zarr.zip (a file output, no directory() for Snakemake)."""
    done = snakemake(tmp_path, {**TINY, "storage": {"layout": "archive"}}, "-n")
    assert done.returncode == 0, done.stderr
    stores = set(re.findall(r"output: (results/(?:samples|classified)/\S+)", done.stdout))
    assert len([s for s in stores if s.startswith("results/samples/")]) == 12
    assert stores and all(s.endswith(".zarr.zip") for s in stores), stores
    bad = snakemake(tmp_path, {**TINY, "storage": {"layout": "zip"}}, "-n")
    assert bad.returncode != 0 and "storage.layout" in bad.stderr


@pytest.mark.slow
def test_single_realization_campaign_runs(tmp_path):
    """campaign.type single_realization: one pattern at every h̄, trained on and tabulated alone."""
    config = {"sizes": [8], "seed": 3, "campaign": {"type": "single_realization", "realization": 2},
              "hbar": {"start": 0.5, "stop": 3.0, "step": 0.5, "include": [0.25, 12.0]},
              "training": {"members": 2, "n_hidden": 32, "steps": 400, "optimizer": "adam", "learning_rate": 3e-3, "threads": 1},
              "analysis": {"eps_bins": 4, "single_realization": {"realization": 2, "window": 20}}}
    done = snakemake(tmp_path, config, "results/tables/summary.csv", "results/tables/critical_field_realizations.csv")
    assert done.returncode == 0, done.stderr
    samples = sorted(p.relative_to(tmp_path / "results/samples") for p in (tmp_path / "results/samples").glob("N8/*/*.zarr"))
    assert [p.name for p in samples] == ["r2.zarr"] * 8
    summary = pd.read_csv(tmp_path / "results/tables/summary.csv").iloc[0]
    assert summary["N"] == 8 and np.isnan(summary["hbar_c_err"])  # one realization: no bootstrap error
    assert set(pd.read_csv(tmp_path / "results/tables/critical_field_realizations.csv")["realization"]) == {2}


@pytest.mark.slow
def test_another_campaigns_ensembles_classify_a_quasiperiodic_periodic_chain(tmp_path):
    """Transfer (config transfer): a random-field campaign's half-chain ensemble classifies the samples of a
    quasiperiodic, periodic campaign beside that campaign's own ensemble; the transferred store records both chains,
    the transfer tables hold the source's name as variant; retraining the source reclassifies the transfer only."""
    base = {"sizes": [8], "hbar": [0.25, 3.0, 12.0], "realizations": 2, "seed": 11, "dreaming": {"targets": []},
            "training": {"members": 2, "n_hidden": 32, "steps": 400, "optimizer": "adam", "learning_rate": 3e-3, "threads": 1},
            "analysis": {"eps_bins": 4}}
    source, target = tmp_path / "random_field", tmp_path / "quasiperiodic"
    source.mkdir(), target.mkdir()
    done = snakemake(source, base, "results/ensembles/N8/cut4/main.npz")
    assert done.returncode == 0, done.stderr
    model = {"fields": "quasiperiodic", "boundary": "periodic", "delta": 0.8}
    config = {**base, "model": model, "transfer": {"random_field": {"ensembles": "../random_field/results/ensembles"}}}
    wanted = [f"results/tables/{name}.csv" for name in ("phase_diagram", "transfer_phase_diagram", "transfer_critical_field")]
    done = snakemake(target, config, *wanted)
    assert done.returncode == 0, done.stderr
    transferred = open_classification(target / "results/transferred/N8/cut4/random_field.zarr").attrs
    assert transferred["variant"] == "random_field" and transferred["chains"]["transfer"] is True
    assert transferred["chains"]["ensemble"] == {"J": 1.0, "sz": 0.0}
    assert transferred["chains"]["samples"] == {"J": 1.0, "sz": 0.0, "delta": 0.8, "J2": 0.0, "fields": "quasiperiodic",
                                                "beta": (5 ** 0.5 - 1) / 2, "boundary": "periodic"}
    own = open_classification(target / "results/classified/N8/cut4/main.zarr").attrs["chains"]
    assert own["transfer"] is False and own["ensemble"] == own["samples"] == transferred["chains"]["samples"]
    table = pd.read_csv(target / "results/tables/transfer_phase_diagram.csv")
    assert set(table["variant"]) == {"random_field"} and set(table["N"]) == {8}
    assert set(pd.read_csv(target / "results/tables/phase_diagram.csv")["variant"]) == {"main"}
    retrained = {**base, "training": {**base["training"], "steps": 300}}
    assert snakemake(source, retrained, "results/ensembles/N8/cut4/main.npz").returncode == 0
    again = planned_jobs(snakemake(target, config, *wanted, "-n"))
    assert again == {"classify_transferred": 1, "table": 2}, again


def dry_run_counts(tmp_path, configfile, *args):
    done = subprocess.run(
        [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--configfile", str(configfile),
         "-n", "--cores", "2", *args],
        capture_output=True, text=True, env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
    )
    assert done.returncode == 0, done.stderr
    return planned_jobs(done), done.stdout


@pytest.mark.parametrize("name, N, pattern, trains, solver_rule", [
    ("single_realization_n16.yaml", 16, 0, 4, "diagonalize_N16"),
    ("single_realization_n18.yaml", 18, 1, 7 + 3, "diagonalize_mpi_N18"),
])
def test_single_realization_cluster_campaigns_plan_one_pattern(tmp_path, name, N, pattern, trains, solver_rule):
    """The paper's single-realization N = 16/18 campaigns: one disorder pattern on the Δh̄ = 0.125 grid."""
    counts, stdout = dry_run_counts(tmp_path, REPO / "config" / name)
    assert counts[solver_rule] == 95 and counts["train"] == trains and counts["classify"] == trains
    samples = set(re.findall(rf"output: results/samples/N{N}/hbar[\d.]+/r(\d+)\.zarr", stdout))
    assert samples == {str(pattern)}


def test_slurm_profile_resources_and_mpi_launcher(tmp_path):
    """profiles/slurm: MPI rules launch with srun, resources follow N and the solver from the config."""
    config = {**TINY, "sizes": [8, 16], "cut_offsets_by_size": {}, "solver": {"by_size": {16: "shift_invert"}, "mpi_ranks": 2}}
    done = snakemake(tmp_path, config, "-n", "--profile", str(REPO / "profiles/slurm"), LEVELS)
    assert done.returncode == 0, done.stderr
    small = done.stdout.split("rule diagonalize_N8:")[1].split("Shell command")[0]
    large = done.stdout.split("rule diagonalize_mpi_N16:")[1].split("Shell command")[0]
    assert "N=8," in small and "mpi=" not in small and "tasks=" not in small
    assert "N=16," in large and "tasks=2" in large and "cpus_per_task=1" in large
    launch = done.stdout.split("rule diagonalize_mpi_N16:")[1].split("Shell command:")[1].splitlines()[0]
    # the launcher is chosen in the job: srun inside a Slurm allocation, mpiexec elsewhere
    assert ("export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1; "
            '$(if [ -n "${SLURM_JOB_ID:-}" ]; then echo srun; else echo mpiexec; fi) -n 2 mblnn spectrum') in launch
    assert "slurm_partition=compute" in large
    assert "Group job" not in done.stdout, "no groups by default: profiles/slurm submits job arrays"
    for launcher, environment in (("srun", {"SLURM_JOB_ID": "1"}), ("mpiexec", {})):
        chosen = subprocess.run(["bash", "-c", 'echo $(if [ -n "${SLURM_JOB_ID:-}" ]; then echo srun; else echo mpiexec; fi)'],
                                capture_output=True, text=True, env={"PATH": os.environ["PATH"], **environment})
        assert chosen.stdout.strip() == launcher


def test_campaign_too_large_for_this_machine_stops_before_any_job(tmp_path):
    if os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") > 100e9:
        pytest.skip("this machine could hold a dense N = 18 job")
    config = {**ED_ONLY, "sizes": [18], "hbar": [0.25, 3.0, 12.0]}  # dense N = 18: ~144 GB modelled (evd: 4 n² doubles, ×2 safety)
    assert snakemake(tmp_path, config, "-n").returncode == 0  # a dry-run plans it (the cluster may hold it)
    done = snakemake(tmp_path, config)
    assert done.returncode != 0 and "does not fit this machine" in done.stderr and "N=18" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "results/samples").exists()


@pytest.mark.slow
def test_an_ensemble_left_at_chance_stops_the_campaign_before_its_tables(tmp_path):
    """Plain gradient descent at a step of 1e-2 leaves the networks at chance: the training job fails, its log names
    N, cut, variant and the networks, and nothing is classified or tabulated from them."""
    config = {**ED_ONLY, "sizes": [8], "dreaming": {"targets": []},
              "training": {"members": 2, "n_hidden": 16, "steps": 200, "learning_rate": 1e-2, "retrain_attempts": 1,
                           "threads": 1}}
    done = snakemake(tmp_path, config)
    assert done.returncode != 0
    log = (tmp_path / "results/logs/train/N8/cut4/main.log").read_text()
    assert "N = 8, cut N_A = 4, variant main: 2 of 2 networks failed" in log and "What to change" in log
    results = tmp_path / "results"
    assert not list(results.glob("ensembles/**/*.npz")) and not (results / "classified").exists()
    assert not (results / "tables/summary.csv").exists() and not (results / "tables/phase_diagram.csv").exists()


@pytest.mark.parametrize("change, key", [
    ({"sizes": [7]}, "sizes[0]"),
    ({"hbar": []}, "hbar"),
    ({"typo_key": 3}, "typo_key"),
    ({"realizations": "many"}, "realizations"),
    ({"sizes": [24]}, "sizes[0]: N=24 with the dense solver needs about 446 TB"),
])
def test_invalid_config_fails_before_any_job(tmp_path, change, key):
    done = snakemake(tmp_path, {**TINY, **change})
    assert done.returncode != 0
    assert key in done.stderr and "config key" in done.stderr
    assert "Traceback" not in done.stderr and 'File "' not in done.stderr  # the problems alone, no traceback
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_shift_invert_samples_run_under_mpi_in_the_workflow(tmp_path):
    config = {**ED_ONLY, "sizes": [6, 10], "solver": {"by_size": {10: "shift_invert"}, "mpi_ranks": 2},
              "shift_invert": {"targets": [0.3, 0.7], "nev": 12}}
    done = snakemake(tmp_path, config, LEVELS)
    assert done.returncode == 0, done.stderr
    sample = read_sample(tmp_path / "results/samples/N10/hbar6.0/r1.zarr")
    assert sample.solver["name"] == "shift_invert" and sample.diagnostics["ranks"] == 2
    assert list(sample.targets) == [0.3, 0.7] and sample.energies.size == 24
    assert read_sample(tmp_path / "results/samples/N6/hbar6.0/r1.zarr").solver["name"] == "dense"
    table = pd.read_csv(tmp_path / "results/tables/level_statistics.csv")
    assert table.loc[table.N == 10, "r_mean"].between(0, 1).all()

    # shift-invert settings rerun the shift-invert samples only; the rank count reruns nothing
    targets = snakemake(tmp_path, {**config, "shift_invert": {"targets": [0.3, 0.6], "nev": 12}}, "-n", LEVELS)
    assert planned_jobs(targets) == {"diagonalize_mpi_N10": 6, "table": 1}
    ranks = snakemake(tmp_path, {**config, "solver": {**config["solver"], "mpi_ranks": 1}}, "-n", LEVELS)
    assert planned_jobs(ranks) == {} and "Nothing to be done" in ranks.stdout + ranks.stderr


def test_stale_lock_of_a_killed_run_is_removed_but_a_live_runs_is_kept(tmp_path):
    script = REPO / "workflow/scripts/unlock-if-stale"
    command = [str(script), str(tmp_path), str(BIN / "snakemake"), "-s", str(REPO / "Snakefile")]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    locks = tmp_path / ".snakemake/locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text(str(tmp_path / "results"))
    live = subprocess.Popen(["sh", "-c", "sleep 60 # a snakemake run"], cwd=tmp_path)
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        assert done.returncode == 1 and f"(pid {live.pid}) is running" in done.stderr and any(locks.iterdir())
    finally:
        live.kill()
        live.wait()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    assert done.returncode == 0 and "removing the lock" in done.stdout, done.stderr
    assert not locks.exists() or not any(locks.iterdir())
    assert subprocess.run(command, capture_output=True, text=True, env=env).stdout == ""  # nothing to do
