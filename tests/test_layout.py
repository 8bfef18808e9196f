"""Store layouts: sharded directories and single-file zip archives hold the same stores, read and checked alike."""

import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from mblnn.learn.classify import classification_block, open_classification, write_classification
from mblnn.sample import SampleSpec, diagonalize_sample
from mblnn.store.integrity import DIGESTS_ATTRIBUTE, file_digests, root_attributes
from mblnn.store.layout import StoreFiles
from mblnn.store.samples import (StoreError, describe, find_stores, open_campaign, open_sample_store, read_sample, verify,
                                 write_sample_store)

MBLNN = str(Path(sys.executable).with_name("mblnn"))
CUTS = (3, 5, 6)


@pytest.fixture(scope="module")
def sample():
    return diagonalize_sample(SampleSpec(N=10, hbar=2.0, seed=5, realization=3, cuts=CUTS))


def files_below(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


def test_a_directory_store_is_one_shard_file_per_array(tmp_path, sample):
    """13 + 7 per cut: group and array metadata, one shard per array, whatever the number of states."""
    path = write_sample_store(sample, tmp_path / "s.zarr", state_chunk=16)  # 252 states: 16 chunks per state array
    files = files_below(path)
    assert len(files) == 13 + 7 * len(CUTS), files
    assert "cut5/spectrum/c/0/0" in files and "energies/c/0" in files and "energies/c/1" not in files
    assert zarr.open_group(path, mode="r")["energies"].chunks == (16,)  # chunks stay readable one by one inside
    unsharded = write_sample_store(sample, tmp_path / "u.zarr", state_chunk=16, shard=False)
    assert len(files_below(unsharded)) > 100
    np.testing.assert_array_equal(read_sample(path).cuts[5].spectrum, read_sample(unsharded).cuts[5].spectrum)


def test_an_archive_holds_the_directory_files_in_one_file(tmp_path, sample):
    archive = write_sample_store(sample, tmp_path / "s.zarr.zip")
    assert archive.is_file() and [p.name for p in tmp_path.iterdir()] == ["s.zarr.zip"], "one file, no temporaries"
    back = read_sample(archive)
    for name in ("energies", "energy_density", "gap_ratio", "fields"):
        assert getattr(back, name).tobytes() == getattr(sample, name).tobytes(), name
    for N_A in CUTS:
        for name in ("entropy", "schmidt_gap", "spectrum"):
            assert getattr(back.cuts[N_A], name).tobytes() == getattr(sample.cuts[N_A], name).tobytes(), (N_A, name)
    directory = write_sample_store(sample, tmp_path / "d.zarr")
    assert StoreFiles(archive).names() == files_below(directory)
    with zipfile.ZipFile(archive) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}  # chunks are Blosc-compressed already
    digests = root_attributes(archive)[DIGESTS_ATTRIBUTE]
    assert digests == file_digests(archive) and set(digests["files"]) == set(files_below(directory)) - {"zarr.json"}


def test_archives_open_with_plain_zarr_and_xarray(tmp_path, sample):
    archive = write_sample_store(sample, tmp_path / "s.zarr.zip")
    store = zarr.storage.ZipStore(archive, mode="r")
    assert zarr.open_group(store, mode="r")["cut5/spectrum"].shape == (252, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cut = xr.open_zarr(zarr.storage.ZipStore(archive, mode="r"), group="cut5")
    np.testing.assert_array_equal(cut["entropy"].values, sample.cuts[5].entropy)


def test_campaign_view_and_inspect_over_archives(tmp_path):
    for hbar in (0.5, 4.0):
        result = diagonalize_sample(SampleSpec(N=8, hbar=hbar, seed=9, realization=0, cuts=(4,)))
        write_sample_store(result, tmp_path / f"N8/hbar{hbar}/r0.zarr.zip")
    other = diagonalize_sample(SampleSpec(N=8, hbar=4.0, seed=9, realization=1, cuts=(4,)))
    write_sample_store(other, tmp_path / "N8/hbar4.0/r1.zarr")  # the layouts can be mixed
    paths = find_stores(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["N8/hbar0.5/r0.zarr.zip", "N8/hbar4.0/r0.zarr.zip",
                                                                    "N8/hbar4.0/r1.zarr"]
    view = open_campaign(paths, cut=4)
    assert dict(view.sizes) == {"hbar": 2, "realization": 2, "state": 70, "level": 6, "site": 8}
    np.testing.assert_array_equal(view["entropy"].sel(hbar=4.0, realization=0).values, result.cuts[4].entropy)
    assert "3 complete sample stores" in describe(tmp_path)
    assert "complete" in describe(paths[0]) and "cut4/spectrum" in describe(paths[0])


def flip_byte_of_entry(archive: Path, name: str) -> None:
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo(name)
    data = bytearray(archive.read_bytes())
    header = info.header_offset  # the local header: 30 bytes, then the name and the extra field, then the data
    start = header + 30 + int.from_bytes(data[header + 26:header + 28], "little") + int.from_bytes(data[header + 28:header + 30], "little")
    data[start + info.file_size // 2] ^= 0x01
    archive.write_bytes(bytes(data))


def test_damaged_archive_entry_is_found_by_readers_and_verify(tmp_path, sample):
    archive = write_sample_store(sample, tmp_path / "r" / "s.zarr.zip")
    assert [v.status for v in verify([tmp_path / "r"])] == ["ok"]
    flip_byte_of_entry(archive, "cut5/spectrum/c/0/0")
    store = open_sample_store(archive)
    assert store.cut(3)["spectrum"][:].shape == (252, 3)  # other arrays still read
    with pytest.raises(StoreError, match="'cut5/spectrum' cannot be trusted"):
        store.cut(5)["spectrum"][:2]
    [verification] = verify([archive])
    assert verification.status == "bad" and "cut5/spectrum/c/0/0" in " ".join(verification.problems)
    done = subprocess.run([MBLNN, "verify", "--remove-bad", str(tmp_path / "r")], capture_output=True, text=True)
    assert done.returncode == 0 and f"removed {archive}" in done.stdout and not archive.exists()


def test_truncated_archive_is_not_a_store(tmp_path, sample):
    archive = write_sample_store(sample, tmp_path / "s.zarr.zip")
    archive.write_bytes(archive.read_bytes()[:1000])
    with pytest.raises(StoreError, match="incomplete"):
        open_sample_store(archive)
    assert verify([archive])[0].status == "bad" and find_stores(tmp_path) == []


def classification_rows(samples: int, members: int, states: int):
    rng = np.random.default_rng(0)
    for i in range(samples):
        n = states - (i % 3)  # some samples with fewer states (padding)
        yield {"confidence": rng.random((members, n)), "energy_density": np.linspace(0, 1, n), "entropy": rng.random(n),
               "schmidt_gap": rng.random(n)}


@pytest.mark.parametrize("name", ["c.zarr", "c.zarr.zip"])
def test_classification_store_in_sample_blocks(tmp_path, name):
    S, M, n = 20, 3, 2100  # 3 chunks of 1024 states per sample
    rows = list(classification_rows(S, M, n))
    out = write_classification(tmp_path / name, {"N": 12, "cut": 6}, hbar=np.linspace(0.5, 5, S), realization=[0] * S,
                               fields=np.zeros((S, 12)), members=list(range(M)), test_accuracy=[1.0] * M, n_states=n,
                               rows=iter(rows))
    assert classification_block(S, M, n) == 3  # 20 samples in 7 shards per array
    names = StoreFiles(out).names()
    shards = [f for f in names if f.startswith("confidence/c/")]
    assert len(shards) == 7 and len(names) <= 2 + 7 * 8 + 5 * 2, names  # was 20 samples × 3 chunks per array
    c = open_classification(out)
    for i in (0, 4, 19):
        width = n - (i % 3)
        np.testing.assert_array_equal(c.group["confidence"][i][:, :width], rows[i]["confidence"].astype(np.float32))
        assert np.isnan(c.group["confidence"][i][:, width:]).all()
        np.testing.assert_allclose(c.mean_confidence(i)[:width], rows[i]["confidence"].mean(axis=0), rtol=1e-6)
        assert (c.group["category"][i][width:] == -2).all()
    assert verify([out])[0].status == "ok"
    if name.endswith(".zip"):
        assert [p.name for p in tmp_path.iterdir()] == [name]


def test_classification_block_bounds_memory_and_shards():
    assert classification_block(1, 50, 12870) == 1
    assert classification_block(800, 50, 100) == 100  # 800 samples, 8 shards
    assert classification_block(800, 50, 48620) == 2**28 // (4 * 50 * 48620)  # the 256 MB buffer bound
