"""Why a Slurm job ended, from its output file: what slurmstepd writes there when it stops a job, so that a retry
can ask for what the job lacked (more time after a time-limit kill, more memory after an out-of-memory kill, nothing
after a user's scancel). Reading the output file needs no accounting database (``sacct``), which many small
installations and the test cluster lack.

The texts (Slurm 22-24, ``src/slurmd/slurmstepd``): ``*** JOB 42 ON node CANCELLED AT 2026-12-01T19:00:00 DUE TO
TIME LIMIT ***`` (time limit), ``*** JOB 42 ON node CANCELLED AT ... ***`` (scancel; ``DUE TO PREEMPTION`` and
``DUE TO NODE FAILURE`` name the cluster's reasons), ``Detected 1 oom_kill event in StepId=42.batch`` (the cgroup's
memory limit), and the executor's ``OUT_OF_MEMORY`` status.

Which attempts failed comes from the run's own Snakemake log (``.snakemake/log/``: each ``Error in rule`` report
names the job's outputs and its Slurm output file). Everything here only reads, except the record a job writes
about itself when it stops short of memory: the workflow's resources callables and the retried command on its node
reach the same answer from the same files, and nothing is written while Snakemake evaluates a request.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

#: failure causes, in the order they are recognised
TIMEOUT, MEMORY, CANCELLED, OTHER = "timeout", "memory", "cancelled", "other"

_TIME_LIMIT = re.compile(r"\*\*\* (?:JOB|STEP) \S+ ON \S+ CANCELLED AT \S+ DUE TO TIME LIMIT")
_CANCELLED_BY_USER = re.compile(r"\*\*\* (?:JOB|STEP) \S+ ON \S+ CANCELLED AT \S+( DUE TO [A-Z ]+?)? \*\*\*")
_OUT_OF_MEMORY = re.compile(r"oom[-_]kill|Out Of Memory|OUT_OF_MEMORY|Exceeded job memory limit", re.IGNORECASE)


def failure_cause(text: str) -> str | None:
    """The cause of a failed job from its Slurm output ``text``: :data:`TIMEOUT`, :data:`MEMORY`, :data:`CANCELLED`
    (scancel by a user), :data:`OTHER` (a failure Slurm did not cause, or preemption / node failure), or ``None``
    when the text shows no failure by Slurm."""
    if _TIME_LIMIT.search(text):
        return TIMEOUT
    if _OUT_OF_MEMORY.search(text):
        return MEMORY
    cancelled = _CANCELLED_BY_USER.search(text)
    if cancelled:
        return CANCELLED if not cancelled.group(1) else OTHER
    return None


#: where Snakemake keeps each run's log (``<ISO time>.snakemake.log``, relative to the working directory, which the
#: compute nodes share): only a run that executes jobs writes one, never a dry-run or a job step on a node
SNAKEMAKE_LOGS = Path(".snakemake") / "log"
_ERROR_BLOCK = re.compile(r"^Error in rule \S+:\n((?:[ \t]+.*\n?)*)", re.M)
_BLOCK_FIELD = re.compile(r"^ {4}(output|log): (.*)$", re.M)


def current_run_log(workdir: str | os.PathLike = ".") -> Path | None:
    """The log of the Snakemake run under way in ``workdir`` (the newest; a working directory holds one run at a
    time, Snakemake locks it), or None where there is none."""
    logs = sorted((Path(workdir) / SNAKEMAKE_LOGS).glob("*.snakemake.log"))
    return logs[-1] if logs else None


def run_started(run_log: Path | None) -> float | None:
    """When the run that writes ``run_log`` started: the time its name records (Snakemake names it at start)."""
    if run_log is None:
        return None
    try:
        stamp = datetime.strptime(run_log.name.removesuffix(".snakemake.log"), "%Y-%m-%dT%H%M%S.%f")
    except ValueError:
        return None
    return stamp.timestamp()


def _slurm_output(named: str) -> Path | None:
    """The Slurm output file the run's log names for a failed job; an array task's is named inside the wildcards'
    folder but written beside it (plugin 2.8: ``rule_<rule>/<array>_<task>.log``)."""
    path = Path(named)
    for candidate in (path, path.parent.parent / path.name):
        if candidate.is_file():
            return candidate
    return None


def failed_attempts(out: str | os.PathLike, run_log: Path | None) -> list[str]:
    """Causes (:func:`failure_cause`) of the failed attempts of the job writing ``out`` in the run whose log is
    ``run_log``, oldest first: from the run's ``Error in rule`` reports naming ``out`` among their outputs, each
    read from the Slurm output that report names. Only reads: the same answer for the workflow choosing a retry's
    request and for the retried command on its node."""
    if run_log is None or not run_log.is_file():
        return []
    out, causes = str(out), []
    for block in _ERROR_BLOCK.finditer(run_log.read_text(errors="replace")):
        fields = dict(_BLOCK_FIELD.findall(block.group(1)))
        if out not in (name.strip() for name in fields.get("output", "").split(",")):
            continue
        logs = fields.get("log", "").split(" (check log")[0].split(",")
        for named in (name.strip() for name in logs if "slurm_logs" in name):
            found = _slurm_output(named)
            cause = failure_cause(found.read_text(errors="replace")) if found else None
            if cause:
                causes.append(cause)
    return causes


def not_retried_reason(out: str | os.PathLike | None) -> str | None:
    """Why the Slurm job writing ``out`` must not run, or None: an earlier attempt of this run was cancelled by a
    user (``scancel``), so this retry ends before any work. Outside Slurm always None."""
    if out is None or "SLURM_JOB_ID" not in os.environ:
        return None
    if CANCELLED in failed_attempts(out, current_run_log()):
        return f"{out} was cancelled by a user (scancel): not retried"
    return None


#: records of attempts that refused to start because their allocation was smaller than their modelled memory (the
#: job's own check, :mod:`mblnn.memory`, before the OOM killer would strike): one file per Slurm job, by output path
SHORT_OF_MEMORY = Path(".snakemake") / "mblnn" / "short-of-memory"


def _below(folder: Path, out: str | os.PathLike) -> Path:
    """Where ``folder`` keeps its record of the job writing ``out`` (the output path, made relative)."""
    return folder / str(Path(out)).lstrip("/")


def mark_short_of_memory(out: str | os.PathLike, reason: str, environ=None) -> None:
    """Record that this Slurm job, writing ``out``, stopped because its allocation is too small (nothing outside
    Slurm: there is no retry to inform)."""
    job = (os.environ if environ is None else environ).get("SLURM_JOB_ID")
    if job is None:
        return
    folder = _below(SHORT_OF_MEMORY, out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{job}.reason").write_text(reason + "\n")


def short_of_memory_attempts(out: str | os.PathLike, since: float | None) -> int:
    """Attempts of the job writing ``out`` since the time ``since`` (this run's start, :func:`run_started`) that
    stopped short of memory; none where the start is unknown."""
    folder = _below(SHORT_OF_MEMORY, out)
    if since is None or not folder.is_dir():
        return 0
    return sum(1 for record in folder.glob("*.reason") if record.stat().st_mtime >= since)
