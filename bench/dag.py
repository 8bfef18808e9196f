"""How long Snakemake takes to plan the paper's campaign (a dry-run of config/paper.yaml), measured
against a baseline in the same run: a one-rule Snakefile with the same number of independent jobs
(what any workflow of that size costs Snakemake), so the ratio is this workflow's own overhead.

    python bench/dag.py                  # config/paper.yaml (target: under 60 s on 2 cores)
    python bench/dag.py --config FILE
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def dry_run(snakefile: Path, workdir: Path, *args: str) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    done = subprocess.run([SNAKEMAKE, "-s", str(snakefile), "-d", str(workdir), "-n", "--cores", "2", "--quiet", "rules", *args],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(done.stderr)
    counts = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", done.stdout, re.M) if m[1] != "total"}
    return elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO / "config" / "paper.yaml"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        t_campaign, counts = dry_run(REPO / "Snakefile", scratch / "campaign", "--configfile", args.config)
        jobs = sum(counts.values())
        baseline = scratch / "Snakefile.baseline"
        baseline.write_text(
            f"rule all:\n    input: expand('out/{{i}}.txt', i=range({jobs}))\n\n"
            "rule one:\n    output: 'out/{i}.txt'\n    shell: 'touch {output}'\n"
        )
        t_baseline, _ = dry_run(baseline, scratch / "baseline")
    print(f"dry-run of {args.config}: {jobs} jobs " + ", ".join(f"{rule} {n}" for rule, n in counts.items()))
    print(f"campaign dry-run:  {t_campaign:6.1f} s")
    print(f"baseline dry-run:  {t_baseline:6.1f} s  (one rule, {jobs} independent jobs)")
    print(f"ratio campaign/baseline = {t_campaign / t_baseline:.2f}   (target: campaign under 60 s)")


if __name__ == "__main__":
    main()
