"""The memory a job may use: the smallest of what the machine has free, what its cgroup allows, and what its Slurm
allocation grants.

On a cluster node /proc/meminfo shows the whole node (hundreds of GB) while the job may use only what it asked
for: Slurm kills it (OOM) at its cgroup's limit, or, where the site does not enforce limits, it competes with the
node's other jobs. The solvers check their modelled peak against :func:`available_memory_bytes` before any
expensive step, so a job that cannot fit fails at once with a message instead of minutes later by the OOM killer.

Sources, each used when present:

* ``MemAvailable`` of /proc/meminfo (else physical memory);
* the cgroup's limit minus its current usage (v2 ``memory.max`` / ``memory.current``, v1
  ``memory.limit_in_bytes`` / ``memory.usage_in_bytes``), for the cgroup this process is in;
* the Slurm allocation: ``SLURM_MEM_PER_NODE`` (MB, ``--mem``) or ``SLURM_MEM_PER_CPU`` × ``SLURM_CPUS_ON_NODE``
  (``--mem-per-cpu``), else ``scontrol show job $SLURM_JOB_ID`` (inside Snakemake's Slurm jobs, whose job step
  strips those variables), minus this process's resident set (the allocation covers the whole job on the node).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

#: cgroup v1 reports "no limit" as a huge number (2^63 rounded down to pages); anything above this is no limit
_NO_LIMIT = 2**60


def _meminfo_available() -> int:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max" (v2) means no limit


def cgroup_free_bytes(proc_cgroup: str | os.PathLike = "/proc/self/cgroup",
                      root: str | os.PathLike = "/sys/fs/cgroup") -> int | None:
    """The cgroup's memory limit minus its usage, or None without a limit (or without cgroups)."""
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        return None
    root = Path(root)
    for line in lines:
        hierarchy, controllers, path = line.split(":", 2)
        relative = path.lstrip("/")
        if hierarchy == "0" and controllers == "":  # v2 (unified), used when it has the memory controller
            limit, usage = _read_int(root / relative / "memory.max"), _read_int(root / relative / "memory.current")
        elif "memory" in controllers.split(","):
            base = root / "memory" / relative
            limit, usage = _read_int(base / "memory.limit_in_bytes"), _read_int(base / "memory.usage_in_bytes")
        else:
            continue
        if limit is not None and limit < _NO_LIMIT:
            return max(0, limit - (usage or 0))
    return None


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


_UNITS = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_job_memory(scontrol_text: str) -> int | None:
    """The memory of a job from ``scontrol show job -o`` (its ``TRES=…,mem=1500M,…``), or None."""
    found = re.search(r"(?:^|\s)TRES=\S*?\bmem=(\d+(?:\.\d+)?)([KMGT]?)", scontrol_text)
    if not found:
        return None
    return int(float(found[1]) * _UNITS[found[2] or "M"])


def _scontrol_job_memory(job: str) -> int | None:
    try:
        done = subprocess.run(["scontrol", "show", "job", "-o", job], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_job_memory(done.stdout) if done.returncode == 0 else None


def slurm_allocation_bytes(environ=None, ask_slurm=_scontrol_job_memory) -> int | None:
    """The memory of this job's Slurm allocation on this node, or None outside Slurm (or without a memory request).

    From ``SLURM_MEM_PER_NODE`` (``--mem``) or ``SLURM_MEM_PER_CPU`` × ``SLURM_CPUS_ON_NODE``; where those are not
    in the environment but ``SLURM_JOB_ID`` is, from ``scontrol show job``: Snakemake's Slurm job step
    (snakemake-executor-plugin-slurm-jobstep) removes every ``SLURM_*`` variable but the job's identity from the
    environment of the commands it runs."""
    environ = os.environ if environ is None else environ
    per_node = environ.get("SLURM_MEM_PER_NODE", "")
    if per_node.isdigit():
        return int(per_node) * 2**20
    per_cpu, cpus = environ.get("SLURM_MEM_PER_CPU", ""), environ.get("SLURM_CPUS_ON_NODE", "")
    if per_cpu.isdigit() and cpus.isdigit():
        return int(per_cpu) * int(cpus) * 2**20
    job = environ.get("SLURM_JOB_ID")
    return ask_slurm(job) if job else None


def memory_limits(environ=None) -> dict[str, int]:
    """Every memory bound that applies to this process, in bytes, by source ("machine", "cgroup", "slurm")."""
    limits = {"machine": _meminfo_available()}
    cgroup = cgroup_free_bytes()
    if cgroup is not None:
        limits["cgroup"] = cgroup
    slurm = slurm_allocation_bytes(environ)
    if slurm is not None:
        limits["slurm"] = max(0, slurm - _resident_bytes())
    return limits


def available_memory_bytes(environ=None) -> int:
    """Memory this process may use: the smallest of :func:`memory_limits`."""
    return min(memory_limits(environ).values())


def describe_memory_budget(environ=None) -> str:
    """One line for a job's log: the budget and where it comes from, e.g. "7.6 GiB (slurm; machine 180.2 GiB)"."""
    limits = memory_limits(environ)
    source = min(limits, key=limits.get)
    others = ", ".join(f"{name} {value / 2**30:.1f} GiB" for name, value in limits.items() if name != source)
    return f"{limits[source] / 2**30:.1f} GiB ({source}" + (f"; {others})" if others else ")")
