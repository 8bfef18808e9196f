"""A new venv with the project venv's packages but not its mblnn: the dependencies come through a plain path entry
(a ``.pth`` line), which does not run that venv's editable finder, so ``import mblnn`` finds only what is installed
into the new venv itself. Installing TensorFlow anew from PyPI would test PyPI, not mblnn."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path


def venv_with_project_dependencies(where: Path) -> tuple[Path, dict]:
    """Create the venv at ``where``; return its bin directory and an environment that runs it first on PATH."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    bin_dir = where / "bin"
    purelib = subprocess.run([str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}:/usr/bin:/bin"
    return bin_dir, env
