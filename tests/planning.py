"""What a campaign plans, as users see it: `workflow/scripts/plan-requests` (a real dry-run through profiles/slurm in
a temporary working directory: outside the repository) and Snakemake's own dry-run, cached for the test session
(several tests read the paper's plans, each a dry-run of 11,000 to 19,000 jobs)."""

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def user_environment(**extra: str) -> dict:
    """The environment of a user who followed the README: the venv first on PATH."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **extra}


@functools.cache
def plan_requests(*configfiles: str) -> dict:
    """``workflow/scripts/plan-requests --configfile FILES --json`` run as written from the repository root (files
    relative to it; none: the default campaign): per rule the jobs, largest requests and sbatch submissions, and the
    stores' file count."""
    command = ["workflow/scripts/plan-requests", *(["--configfile", *configfiles] if configfiles else []), "--json"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=user_environment())
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)


def planned_jobs(output: str) -> dict[str, int]:
    """Jobs per rule from Snakemake's dry-run 'Job stats' table ({} when it has nothing to do)."""
    if "Job stats:" not in output:
        assert "Nothing to be done" in output, output[-3000:]
        return {}
    table = output.split("Job stats:")[1].split("Reasons")[0].split("This was a dry-run")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M) if m[1] != "total"}
