"""Per-job requests and retries by cause: the cost models behind every rule's mem_mb and runtime, the Slurm failure
causes read from job output, and what a retry asks for after each (workflow/campaign/resources.py, mblnn.slurm)."""

import time
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from campaign import resources as campaign
from mblnn import slurm
from mblnn.cli import main
from mblnn.config import validate_config

# what slurmstepd writes into a job's output (Slurm 22-24)
TIME_LIMIT = "slurmstepd: error: *** JOB 57 ON vm CANCELLED AT 2026-12-01T19:00:01 DUE TO TIME LIMIT ***"
SCANCEL = "slurmstepd: error: *** JOB 58 ON vm CANCELLED AT 2026-12-01T19:00:01 ***"
OOM = "slurmstepd: error: Detected 1 oom_kill event in StepId=59.batch. Some of the step tasks have been OOM Killed."
PREEMPTED = "slurmstepd: error: *** JOB 60 ON vm CANCELLED AT 2026-12-01T19:00:01 DUE TO PREEMPTION ***"


@pytest.mark.parametrize("text, cause", [
    (TIME_LIMIT, slurm.TIMEOUT), (SCANCEL, slurm.CANCELLED), (OOM, slurm.MEMORY), (PREEMPTED, slurm.OTHER),
    ("srun: error: vm: task 0: Out Of Memory", slurm.MEMORY), ("Error in rule train: exit status 1", None),
])
def test_failure_causes_from_slurm_output(text, cause):
    assert slurm.failure_cause("Building DAG of jobs...\n" + text + "\n") == cause


class Wildcards(SimpleNamespace):
    """What Snakemake hands a resources callable: attributes, items() and iteration over the values."""

    def items(self):
        return vars(self).items()

    def __iter__(self):
        return iter(vars(self).values())


SAMPLE = Wildcards(N="16", hbar="3.0", realization="0")


OUT = "results/samples/N16/hbar3.0/r0.zarr"


def run_log(workdir, started=None):
    """The log of a Snakemake run in ``workdir``, named as Snakemake names it (its start time)."""
    folder = workdir / ".snakemake/log"
    folder.mkdir(parents=True, exist_ok=True)
    started = datetime.now() - timedelta(seconds=1) if started is None else started
    log = folder / (started.isoformat().replace(":", "") + ".snakemake.log")
    log.touch()
    return log


def slurm_log(workdir, rule, name, text, array=False, out=OUT):
    """A failed Slurm attempt of the job writing ``out``: its Slurm output where snakemake-executor-plugin-slurm
    keeps it (array tasks: one folder per rule, though the report names the wildcards' folder) and the report of the
    failure in the newest run's log, as Snakemake writes them (in the order of the attempts)."""
    named = workdir / ".snakemake/slurm_logs" / f"rule_{rule}" / "16_3.0_0" / name
    written = named.parent.parent / name if array else named
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_text(f"rule {rule}:\n    wildcards: N=16, hbar=3.0, realization=0\n{text}\n")
    report = (f"[Sat Dec  5 22:19:32 2026]\nError in rule {rule}:\n    message: SLURM-job '1' failed, SLURM status is: "
              f"'FAILED'.\n    jobid: 0\n    output: {out}\n    log: results/logs/x.log, {named} (check log file(s) for "
              f"error details)\n    shell:\n        mblnn spectrum --out {out}\n        (command exited with non-zero "
              f"exit code)\n    external_jobid: 1\nTrying to restart job 0.\nSelect jobs to execute...\n")
    with slurm.current_run_log(workdir).open("a") as stream:
        stream.write(report)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_log(tmp_path)
    return tmp_path


CONFIG = validate_config({"sizes": [16], "hbar": [0.25, 3.0, 12.0]})


def test_a_retry_asks_for_what_the_failed_attempt_lacked(workdir):
    resources = campaign.rule_resources(CONFIG, "diagonalize")
    mem, runtime = campaign.diagonalize_mem_mb(CONFIG, 16), campaign.diagonalize_runtime(CONFIG, 16)
    assert (resources["mem_mb"](SAMPLE, 1), resources["runtime"](SAMPLE, 1)) == (mem, runtime)
    # no Slurm output to read (another executor): attempt times both, as Snakemake's usual recipe
    assert (resources["mem_mb"](SAMPLE, 2), resources["runtime"](SAMPLE, 2)) == (2 * mem, 2 * runtime)
    slurm_log(workdir, "diagonalize_N16", "101.log", TIME_LIMIT)
    assert (resources["mem_mb"](SAMPLE, 2), resources["runtime"](SAMPLE, 2)) == (mem, 2 * runtime)
    slurm_log(workdir, "diagonalize_N16", "102.log", OOM)  # the second attempt ran out of memory
    assert (resources["mem_mb"](SAMPLE, 3), resources["runtime"](SAMPLE, 3)) == (2 * mem, 2 * runtime)
    # an array task's output is written beside the folder the report names; another job's failures do not count
    slurm_log(workdir, "diagonalize_N16", "200_3.log", TIME_LIMIT, array=True)
    assert resources["runtime"](SAMPLE, 4) == 4 * runtime
    assert resources["runtime"](Wildcards(N="16", hbar="12.0", realization="0"), 2) == 2 * runtime
    slurm_log(workdir, "diagonalize_N16", "201_1.log", OOM, out="results/samples/N16/hbar12.0/r0.zarr")
    assert resources["mem_mb"](SAMPLE, 5) == 2 * mem


def test_retries_are_capped_at_the_node(workdir):
    config = validate_config({"sizes": [16], "hbar": [0.25, 3.0, 12.0],
                              "resources": {"max_runtime_min": 15, "max_mem_mb": 12000}})
    for name in range(6):
        slurm_log(workdir, "diagonalize_N16", f"{300 + name}.log", (TIME_LIMIT, OOM)[name % 2])
    resources = campaign.rule_resources(config, "diagonalize")
    assert resources["runtime"](SAMPLE, 7) == 15 and resources["mem_mb"](SAMPLE, 7) == 12000


def test_old_runs_failures_do_not_count(workdir):
    slurm_log(workdir, "diagonalize_N16", "101.log", TIME_LIMIT)
    assert slurm.failed_attempts(OUT, slurm.current_run_log()) == [slurm.TIMEOUT]
    run_log(workdir, datetime.now())  # a new run: the newest log is its own
    assert slurm.failed_attempts(OUT, slurm.current_run_log()) == []


def test_first_requests_from_the_config_still_grow_on_retry(workdir):
    config = validate_config({"sizes": [16], "hbar": [0.25, 3.0, 12.0],
                              "resources": {"requests": {"diagonalize_N16": {"runtime": 1}}}})
    resources = campaign.rule_resources(config, "diagonalize")
    assert resources["runtime"](SAMPLE, 1) == 1
    slurm_log(workdir, "diagonalize_N16", "101.log", TIME_LIMIT)
    assert resources["runtime"](SAMPLE, 2) == 2


def test_a_cancelled_job_is_not_retried(workdir, monkeypatch):
    resources = campaign.rule_resources(CONFIG, "diagonalize")
    slurm_log(workdir, "diagonalize_N16", "101.log", SCANCEL)
    assert resources["runtime"](SAMPLE, 2) == 1, "the refused retry asks for next to nothing"
    assert slurm.not_retried_reason(OUT) is None, "outside Slurm nothing is refused"
    monkeypatch.setenv("SLURM_JOB_ID", "102")
    assert "cancelled by a user (scancel): not retried" in slurm.not_retried_reason(OUT)
    # the command itself refuses before any work, with the reason
    code = main(["spectrum", "--N", "16", "--hbar", "3.0", "--realization", "0", "--cuts", "8", "--out", OUT])
    assert code == 3 and not (workdir / OUT).exists()
    # nothing was written to decide it: the files are the run's log and the Slurm output
    assert not (workdir / ".snakemake/mblnn").exists()
    # a new run runs the job again
    run_log(workdir, datetime.now())
    assert slurm.not_retried_reason(OUT) is None and resources["runtime"](SAMPLE, 2) == 2 * resources["runtime"](SAMPLE, 1)


def test_an_allocation_below_the_modelled_memory_stops_the_job_and_its_retry_asks_for_twice_the_memory(workdir, monkeypatch):
    """In a Slurm job the solver's budget is the allocation (mblnn.memory): a dense N = 16 sample given 1000 MB stops
    before any work and records it; each retry of this run doubles the memory, time unchanged."""
    out = OUT
    config = validate_config({"sizes": [16], "hbar": [0.25, 3.0, 12.0],
                              "resources": {"requests": {"diagonalize_N16": {"mem_mb": 1000}}}})
    resources = campaign.rule_resources(config, "diagonalize")
    first = resources["mem_mb"](SAMPLE, 1), resources["runtime"](SAMPLE, 1)
    assert first[0] == 1000
    for attempt, job in ((1, "71"), (2, "72")):
        monkeypatch.setenv("SLURM_JOB_ID", job)
        monkeypatch.setenv("SLURM_MEM_PER_NODE", str(resources["mem_mb"](SAMPLE, attempt)))
        code = main(["spectrum", "--N", "16", "--hbar", "3.0", "--realization", "0", "--cuts", "8", "--out", out])
        assert code == 2 and not (workdir / out).exists()
        time.sleep(0.01)
        assert (resources["mem_mb"](SAMPLE, attempt + 1), resources["runtime"](SAMPLE, attempt + 1)) == \
            (1000 * 2**attempt, first[1])
    # a new run counts its own attempts only
    run_log(workdir, datetime.now())
    assert resources["mem_mb"](SAMPLE, 1) == 1000 and resources["mem_mb"](SAMPLE, 2) == 2000
    monkeypatch.delenv("SLURM_JOB_ID")
    assert main(["spectrum", "--N", "16", "--hbar", "3.0", "--cuts", "8", "--out", out]) == 2
    assert slurm.short_of_memory_attempts(out, 0) == 2, "outside Slurm nothing is recorded"


def test_every_rule_asks_for_memory_and_time_that_grow_with_the_campaign():
    small = validate_config({"sizes": [12], "hbar": [0.25, 3.0, 12.0], "realizations": 2})
    large = validate_config({"sizes": [16], "hbar": [0.25, 3.0, 12.0], "realizations": 200})
    for rule in ("train", "classify", "dream"):
        a, b = (campaign.learning_request(config, rule, config["sizes"][0]) for config in (small, large))
        assert a[0] >= 1000 and a[1] >= 10 and b[0] >= a[0] and b[1] >= a[1], rule
    # training holds every sample's features: 200 realizations of N = 16 need gigabytes, not the old flat 2 GB
    assert campaign.learning_request(large, "train", 16)[0] > 4000
    assert campaign.analysis_request(large)[0] > campaign.analysis_request(small)[0]


def test_threads_above_a_node_are_refused():
    from mblnn.config import ConfigError

    with pytest.raises(ConfigError, match="training.threads"):
        validate_config({"sizes": [12], "hbar": [0.25, 3.0, 12.0], "training": {"threads": 64},
                         "resources": {"max_cpus": 16}})


def test_diagonalization_time_model_follows_the_solver_its_driver_and_ranks():
    """The runtime model behind every diagonalization request (mblnn.solve.cost.seconds, docs/benchmarks.md): the
    one-process drivers by their measured ratio to dsyevd, dense_mpi by its measured driver on 2 ranks and divided by
    the ranks beyond, the filter by its own measured times (not the dense model's dim³), and the workflow's request
    reads the campaign's solver, drivers and ranks."""
    from mblnn.model.basis import sector_dimension
    from mblnn.schema import default
    from mblnn.solve import cost

    dim = sector_dimension(18, 0)
    evd = cost.seconds("dense", dim)
    for driver, ratio in cost.DENSE_DRIVER_TIME.items():
        assert cost.seconds("dense", dim, driver=driver) == pytest.approx(ratio * evd)
    assert cost.DENSE_DRIVER_TIME["evd"] == 1 and max(cost.DENSE_DRIVER_TIME, key=cost.DENSE_DRIVER_TIME.get) == "ev"
    # dense_mpi's default driver is its fastest
    assert min(cost.DENSE_MPI_SECONDS, key=cost.DENSE_MPI_SECONDS.get) == default("dense.mpi_driver")
    for driver in cost.DENSE_MPI_SECONDS:
        two, sixteen = (cost.seconds("dense_mpi", dim, ranks=r, mpi_driver=driver) for r in (2, 16))
        assert sixteen == pytest.approx(two / 8)
    # the filter (100 pairs per target) sits between shift-invert and a full diagonalization at N = 18 and 20
    for N in (18, 20):
        d = sector_dimension(N, 0)
        assert cost.seconds("shift_invert", d, 2) < cost.seconds("filter", d, 2) < cost.seconds("dense", d)
    assert cost.seconds("filter", dim, 2, targets=3) == pytest.approx(3 * cost.seconds("filter", dim, 2))
    # the filter's model passes through its measured (and predicted) points and grows between and beyond them
    for d, measured in cost.FILTER_SECONDS.items():
        assert cost.seconds("filter", d, 2) == pytest.approx(measured)
    grid = [cost.seconds("filter", sector_dimension(N, 0), 2) for N in range(8, 26, 2)]
    assert all(a < b for a, b in zip(grid, grid[1:]))
    for mpi_driver in cost.DENSE_MPI_SECONDS:
        config = validate_config({"sizes": [18], "hbar": [0.25, 3.0, 12.0], "solver": {"default": "dense_mpi", "mpi_ranks": 16},
                                  "dense": {"mpi_driver": mpi_driver}})
        assert campaign.diagonalize_runtime(config, 18) == cost.job_runtime_min("dense_mpi", dim, 16, mpi_driver=mpi_driver)
    config = validate_config({"sizes": [16], "hbar": [0.25, 3.0, 12.0], "dense": {"driver": "evr"}})
    assert campaign.diagonalize_runtime(config, 16) == cost.job_runtime_min("dense", sector_dimension(16, 0), driver="evr")
