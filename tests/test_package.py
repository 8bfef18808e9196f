"""mblnn installs like a package: its wheel, installed without ``-e`` into a fresh venv, works outside the checkout.

The wheel is built from the checkout (``pip wheel --no-deps``) and installed with ``--no-deps`` into a new venv in a
temporary directory that has the project's dependencies but not its mblnn (:mod:`venvs`) — so ``import mblnn`` can
only find the wheel's copy, and every file the library reads (the schema) must be inside it.
"""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from venvs import venv_with_project_dependencies

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def run(command, cwd, env=None, timeout=600):
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command[:3]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv bin directory, environment, working directory outside the checkout)."""
    base = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(base / "dist"), str(ROOT)], cwd=base)
    (wheel,) = (base / "dist").glob("mblnn-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "mblnn/schemas/config.schema.yaml" in archive.namelist()
    bin_dir, env = venv_with_project_dependencies(base / "venv")
    run([str(bin_dir / "python"), "-m", "pip", "install", "--no-deps", "--quiet", str(wheel)], cwd=base)
    work = base / "elsewhere"
    work.mkdir()
    return bin_dir, env, work


def test_the_wheel_imports_its_own_copy_and_reads_its_schema(installed):
    bin_dir, env, work = installed
    done = run([str(bin_dir / "python"), "-c", "import mblnn, mblnn.config, mblnn.learn.network; "
                "print(mblnn.__file__); print(mblnn.config.default('training.steps'))"], cwd=work, env=env)
    where, steps = done.stdout.split()
    assert Path(where).is_relative_to(bin_dir.parent) and ROOT not in Path(where).parents
    assert int(steps) == 3500


def test_spectrum_train_classify_outside_the_checkout(installed):
    bin_dir, env, work = installed
    mblnn = str(bin_dir / "mblnn")
    stores = []
    for hbar in (0.25, 2.0, 12.0):
        out = work / f"hbar{hbar}.zarr"
        run([mblnn, "spectrum", "--N", "8", "--hbar", str(hbar), "--cuts", "4", "--out", str(out)], cwd=work, env=env)
        stores.append(str(out))
    training = {"training": {"members": 2, "n_hidden": 16, "steps": 200, "learning_rate": 1e-3, "min_accuracy": 0.9}}
    run([mblnn, "train", *stores, "--cut", "4", "--config", json.dumps(training), "--out", str(work / "e.npz")],
        cwd=work, env=env)
    run([mblnn, "classify", *stores, "--ensemble", str(work / "e.npz"), "--variant", "main",
         "--out", str(work / "c.zarr")], cwd=work, env=env)
    import zarr

    confidence = zarr.open_group(work / "c.zarr", mode="r")["confidence"][:]
    assert confidence.shape == (3, 2, 70) and np.all((confidence >= 0) & (confidence <= 1))


def test_no_campaign_file_outside_the_checkout_asks_for_one(installed):
    bin_dir, env, work = installed
    done = subprocess.run([str(bin_dir / "mblnn"), "check-config"], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "name a campaign file" in done.stderr
