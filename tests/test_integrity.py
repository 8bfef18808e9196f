"""Store integrity: digests recorded at completion, damaged chunks found by readers and by `mblnn verify`."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mblnn.learn.classify import write_classification, open_classification
from mblnn.learn.features import FeatureSettings, sample_features
from mblnn.store.integrity import DIGESTS_ATTRIBUTE
from mblnn.observables.levels import window_mean
from mblnn.sample import SampleSpec, diagonalize_sample
from mblnn.store.samples import StoreError, find_stores, open_sample_store, read_sample, verify, write_sample_store

MBLNN = str(Path(sys.executable).with_name("mblnn"))
SPECTRUM_CHUNK = "cut5/spectrum/c/0/0"


@pytest.fixture(scope="module")
def result():
    return diagonalize_sample(SampleSpec(N=10, hbar=1.5, seed=3, realization=0, cuts=(4, 5)))


@pytest.fixture
def store(tmp_path, result):
    return write_sample_store(result, tmp_path / "N10/hbar1.5/r0.zarr")


def mblnn(*args):
    return subprocess.run([MBLNN, *map(str, args)], capture_output=True, text=True)


def test_digests_cover_every_file_but_the_root_metadata(store):
    recorded = json.loads((store / "zarr.json").read_text())["attributes"][DIGESTS_ATTRIBUTE]
    files = {p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()} - {"zarr.json"}
    assert recorded["algorithm"] == "sha256" and set(recorded["files"]) == files
    assert SPECTRUM_CHUNK in files and "cut5/spectrum/zarr.json" in files and "cut5/zarr.json" in files
    assert [v.status for v in verify([store])] == ["ok"]


def damage_truncate(path: Path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def damage_delete(path: Path):
    path.unlink()


def damage_flip(path: Path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage, problem", [
    (damage_truncate, "content differs"), (damage_delete, "missing"), (damage_flip, "content differs")])
def test_damaged_chunk_is_named_by_readers_and_verify(store, damage, problem):
    damage(store / SPECTRUM_CHUNK)
    opened = open_sample_store(store)
    # what is undamaged still reads; the damaged array raises an error naming the store and the array
    assert opened.cut(4)["spectrum"][:].shape[0] == 252
    with pytest.raises(StoreError, match=rf"{store}: array 'cut5/spectrum' cannot be trusted \({SPECTRUM_CHUNK}: {problem}"):
        opened.cut(5)["spectrum"][:]
    with pytest.raises(StoreError, match="cut5/spectrum"):
        sample_features(store, FeatureSettings(cut=5))
    with pytest.raises(StoreError, match="mblnn verify --remove-bad"):
        read_sample(store)
    [verification] = verify([store.parents[2]])
    assert verification.status == "bad" and len(verification.problems) == 1
    assert verification.problems[0].startswith(f"{SPECTRUM_CHUNK}: {problem}")


def test_deleted_gap_ratio_chunk_is_not_read_as_nan(store):
    (store / "gap_ratio/c/0").unlink()
    with pytest.raises(StoreError, match="'gap_ratio'.*missing"):
        window_mean(open_sample_store(store).group["gap_ratio"][:], np.linspace(0, 1, 252), (0.1, 0.9))


def test_verify_command_reports_and_removes_exactly_the_damaged_stores(tmp_path, result):
    good = write_sample_store(result, tmp_path / "results/N10/hbar1.5/r0.zarr")
    bad = write_sample_store(result, tmp_path / "results/N10/hbar1.5/r1.zarr")
    damage_flip(bad / "energies/c/0")
    done = mblnn("verify", tmp_path / "results")
    assert done.returncode == 1
    assert f"{bad}: BAD\n  energies/c/0: content differs" in done.stdout and str(good) not in done.stdout
    assert "2 stores: 1 ok, 0 unverifiable, 1 bad" in done.stdout
    done = mblnn("verify", "--remove-bad", tmp_path / "results")
    assert done.returncode == 0 and f"removed {bad}" in done.stdout and "rerun the workflow" in done.stdout
    assert not bad.exists() and good.exists() and find_stores(tmp_path / "results") == [good]
    assert mblnn("verify", tmp_path / "results").returncode == 0
    missing = mblnn("verify", tmp_path / "nosuch.zarr")
    assert missing.returncode == 1 and "nosuch.zarr: BAD\n  no such store" in missing.stdout


def test_stores_without_digests_stay_readable_and_are_unverifiable(store):
    metadata = json.loads((store / "zarr.json").read_text())
    del metadata["attributes"][DIGESTS_ATTRIBUTE]
    (store / "zarr.json").write_text(json.dumps(metadata))
    assert read_sample(store).energies.size == 252
    [verification] = verify([store])
    assert verification.status == "unverifiable"
    done = mblnn("verify", store)
    assert done.returncode == 0 and "1 stores written before digests cannot be verified" in done.stdout


def test_incomplete_store_is_bad_and_removable(tmp_path, store):
    metadata = json.loads((store / "zarr.json").read_text())
    del metadata["attributes"]["mblnn_complete"]
    (store / "zarr.json").write_text(json.dumps(metadata))
    [verification] = verify([store])
    assert verification.status == "bad" and "incomplete" in verification.problems[0]


def test_files_added_after_completion_are_reported_but_snakemake_markers_are_not(store):
    (store / ".snakemake_timestamp").touch()
    assert verify([store])[0].status == "ok"
    shutil.copy(store / SPECTRUM_CHUNK, store / "cut5/spectrum/c/1")
    [verification] = verify([store])
    assert verification.problems == ["cut5/spectrum/c/1: not recorded at completion (added later)"]


def test_classification_store_records_and_checks_digests(tmp_path):
    rows = [{"confidence": np.full((2, 5), 0.5), "energy_density": np.linspace(0, 1, 5), "entropy": np.ones(5),
             "schmidt_gap": np.zeros(5)} for _ in range(3)]
    out = write_classification(tmp_path / "c.zarr", {"N": 10, "cut": 5}, hbar=[1.0, 2.0, 3.0], realization=[0, 0, 0],
                               fields=np.zeros((3, 10)), members=[0, 1], test_accuracy=[1.0, 1.0], n_states=5, rows=rows)
    assert verify([out])[0].status == "ok"
    damage_truncate(out / "mean/c/1/0")
    c = open_classification(out)
    assert c.group["confidence"][1].shape == (2, 5)
    with pytest.raises(StoreError, match="'mean'"):
        c.mean_confidence(1)
    with pytest.raises(StoreError, match="'mean'"):
        c.group["mean"].oindex[[0, 1], :]


def test_inspect_tells_sample_and_classification_stores_apart(tmp_path, store):
    rows = [{"confidence": np.full((2, 5), 0.5), "energy_density": np.linspace(0, 1, 5), "entropy": np.ones(5),
             "schmidt_gap": np.zeros(5)}]
    write_classification(store.parents[2] / "classified/N10_cut5_main.zarr", {"N": 10, "cut": 5, "variant": "main"},
                         hbar=[1.5], realization=[0], fields=np.zeros((1, 10)), members=[0, 1], test_accuracy=[1.0, 1.0],
                         n_states=5, rows=rows)
    done = mblnn("inspect", store.parents[2])
    assert done.returncode == 0, done.stderr
    assert "1 complete sample stores, 1 classification stores, 0 incomplete" in done.stdout
    assert "N=10 cut=5 variant=main: 1 samples x 2 networks x 5 states" in done.stdout
    assert find_stores(store.parents[2]) == [store]
    missing = mblnn("inspect", tmp_path / "nosuch.zarr")
    assert missing.returncode == 2 and "no such store or directory" in missing.stderr


def test_an_array_is_hashed_once_per_opened_store(store, monkeypatch):
    import mblnn.store.integrity as integrity

    calls = []
    original = integrity.check_files
    monkeypatch.setattr(integrity, "check_files", lambda root, expected: calls.append(sorted(expected)) or original(root, expected))
    opened = open_sample_store(store)
    for _ in range(3):  # a new array object each time, as `group[name][i]` in a loop makes
        opened.cut(5)["spectrum"][:2]
    assert len(calls) == 1 and calls[0][-1] == "cut5/spectrum/zarr.json"
