"""Why a Slurm job ended, from its output file: what slurmstepd writes there when it stops a job, so that a retry
can ask for what the job lacked (more time after a time-limit kill, more memory after an out-of-memory kill, nothing
after a user's scancel). Reading the output file needs no accounting database (``sacct``), which many small
installations and the test cluster lack.

The texts (Slurm 22-24, ``src/slurmd/slurmstepd``): ``*** JOB 42 ON node CANCELLED AT 2026-12-01T19:00:00 DUE TO
TIME LIMIT ***`` (time limit), ``*** JOB 42 ON node CANCELLED AT ... ***`` (scancel; ``DUE TO PREEMPTION`` and
``DUE TO NODE FAILURE`` name the cluster's reasons), ``Detected 1 oom_kill event in StepId=42.batch`` (the cgroup's
memory limit), and the executor's ``OUT_OF_MEMORY`` status.
"""

from __future__ import annotations

import os
import re
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


#: markers of jobs whose retry must not run, by output path, relative to the working directory (shared with the
#: compute nodes): the workflow writes one when a job's earlier attempt was cancelled by a user, the command refuses
#: to start while its output has one
NOT_RETRIED = Path(".snakemake") / "mblnn" / "not-retried"


def _below(folder: Path, out: str | os.PathLike) -> Path:
    """Where ``folder`` keeps its record of the job writing ``out`` (the output path, made relative)."""
    return folder / str(Path(out)).lstrip("/")


def _marker(out: str | os.PathLike) -> Path:
    return _below(NOT_RETRIED, out).with_name(Path(out).name + ".reason")


def mark_not_retried(out: str | os.PathLike, reason: str) -> None:
    """Tell the job writing ``out`` not to run (its retry ends at once with ``reason``)."""
    marker = _marker(out)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(reason + "\n")


def clear_not_retried(out: str | os.PathLike) -> None:
    """A new first attempt of the job writing ``out`` runs: forget an earlier run's refusal."""
    _marker(out).unlink(missing_ok=True)


def not_retried_reason(out: str | os.PathLike | None) -> str | None:
    """Why the job writing ``out`` must not run, or None."""
    if out is None:
        return None
    marker = _marker(out)
    return marker.read_text().strip() if marker.is_file() else None


#: records of attempts that refused to start because their allocation was smaller than their modelled memory (the
#: job's own check, :mod:`mblnn.memory`, before the OOM killer would strike): one file per Slurm job, by output path
SHORT_OF_MEMORY = Path(".snakemake") / "mblnn" / "short-of-memory"


def mark_short_of_memory(out: str | os.PathLike, reason: str, environ=None) -> None:
    """Record that this Slurm job, writing ``out``, stopped because its allocation is too small (nothing outside
    Slurm: there is no retry to inform)."""
    job = (os.environ if environ is None else environ).get("SLURM_JOB_ID")
    if job is None:
        return
    folder = _below(SHORT_OF_MEMORY, out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{job}.reason").write_text(reason + "\n")


def short_of_memory_attempts(out: str | os.PathLike, since: float) -> int:
    """Attempts of the job writing ``out`` since the time ``since`` that stopped short of memory."""
    folder = _below(SHORT_OF_MEMORY, out)
    if not folder.is_dir():
        return 0
    return sum(1 for record in folder.glob("*.reason") if record.stat().st_mtime >= since)


def clear_short_of_memory(out: str | os.PathLike) -> None:
    """A new first attempt of the job writing ``out``: forget earlier runs' records."""
    folder = _below(SHORT_OF_MEMORY, out)
    for record in folder.glob("*.reason") if folder.is_dir() else ():
        record.unlink(missing_ok=True)

