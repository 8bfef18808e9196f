"""The Zarr sample store: round trips, the campaign view, killed writers, mismatches."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from mblnn.sample import SampleSpec, diagonalize_sample
from mblnn.store.samples import (
    COMPLETE_MARKER,
    StoreError,
    describe,
    find_stores,
    is_complete,
    open_campaign,
    open_sample_store,
    read_sample,
    write_sample_store,
)

MBLNN = str(Path(sys.executable).with_name("mblnn"))


def assert_same_result(a, b):
    for name in ("energies", "energy_density", "gap_ratio", "fields"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    assert a.spec == b.spec and a.solver == b.solver and list(a.cuts) == list(b.cuts)
    for N_A in a.cuts:
        for name in ("entropy", "schmidt_gap", "spectrum"):
            assert getattr(a.cuts[N_A], name).tobytes() == getattr(b.cuts[N_A], name).tobytes(), (N_A, name)


@pytest.fixture(scope="module")
def sample():
    return diagonalize_sample(SampleSpec(N=10, hbar=2.0, seed=5, realization=3, cuts=(3, 5, 6)))


def test_dense_round_trip_bit_for_bit(tmp_path, sample):
    path = write_sample_store(sample, tmp_path / "s.zarr")
    assert is_complete(path)
    assert_same_result(sample, read_sample(path))
    assert [p.name for p in tmp_path.iterdir()] == ["s.zarr"], "no temporary left behind"


def test_explicit_fields_round_trip(tmp_path):
    result = diagonalize_sample(SampleSpec(N=6, hbar=0.0, fields=(0.1, -0.4, 2.0, 0.0, 1.0, -1.0)))
    assert_same_result(result, read_sample(write_sample_store(result, tmp_path / "f.zarr")))


def test_shift_invert_shaped_round_trip(tmp_path, sample):
    """Windows of states at target energy densities, with residuals, as the shift-invert solver returns them."""
    keep = np.r_[40:60, 120:140]
    windowed = replace(
        sample,
        energies=sample.energies[keep], energy_density=sample.energy_density[keep], gap_ratio=sample.gap_ratio[keep],
        cuts={k: replace(c, entropy=c.entropy[keep], schmidt_gap=c.schmidt_gap[keep], spectrum=c.spectrum[keep])
              for k, c in sample.cuts.items()},
        targets=np.array([0.2, 0.5]), window=np.repeat([0, 1], 20), residuals=np.geomspace(1e-14, 1e-12, 40),
        solver={"name": "shift_invert", "nev": "20"},
    )
    back = read_sample(write_sample_store(windowed, tmp_path / "si.zarr"))
    assert_same_result(windowed, back)
    for name in ("targets", "window", "residuals"):
        assert getattr(back, name).tobytes() == getattr(windowed, name).tobytes()


def test_plain_zarr_and_xarray_read(tmp_path, sample):
    path = write_sample_store(sample, tmp_path / "s.zarr")
    group = zarr.open_group(path, mode="r")
    assert group.attrs["mblnn"]["N"] == 10 and group["cut5/spectrum"].shape == (252, 10)
    (path / ".snakemake_timestamp").touch()  # as Snakemake leaves it in a directory output
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # consolidated metadata: no fallback warning, no listing of foreign files
        root = xr.open_zarr(path)
        cut = xr.open_zarr(path, group="cut5")
    assert dict(root.sizes) == {"state": 252, "site": 10}
    assert root.indexes["state"].tolist() == list(range(252)) and root["site"].values.tolist() == list(range(1, 11))
    assert set(root.coords) == {"state", "site", "energies", "energy_density"} and set(root.data_vars) == {"fields", "gap_ratio"}
    assert root["energies"].attrs["units"] == "J" and "gap ratio" in root["gap_ratio"].attrs["long_name"]
    np.testing.assert_array_equal(root["energy_density"].values, sample.energy_density)
    assert cut["spectrum"].dims == ("state", "level") and cut["entropy"].attrs["units"] == "nat"
    np.testing.assert_array_equal(cut["entropy"].values, sample.cuts[5].entropy)


def test_provenance_attributes(tmp_path, sample):
    attrs = open_sample_store(write_sample_store(sample, tmp_path / "s.zarr")).attrs
    for key in ("N", "J", "hbar", "sz", "seed", "realization", "boundary", "solver", "mblnn_version",
                "git_revision", "config_sha256", "created", "schema_version", "cuts"):
        assert key in attrs, key
    assert attrs["boundary"] == "open" and attrs["solver"]["driver"] == "evd" and len(attrs["config_sha256"]) == 64
    other = diagonalize_sample(SampleSpec(N=10, hbar=2.5, seed=5, realization=3, cuts=(3, 5, 6)))
    assert open_sample_store(write_sample_store(other, tmp_path / "o.zarr")).attrs["config_sha256"] != attrs["config_sha256"]


def test_mismatches_raise_clear_errors(tmp_path, sample):
    path = write_sample_store(sample, tmp_path / "s.zarr")
    with pytest.raises(StoreError, match="holds N=10, expected N=12"):
        open_sample_store(path, N=12)
    with pytest.raises(StoreError, match="no cut N_A=4"):
        open_sample_store(path, cut=4)
    group = zarr.open_group(path, mode="r+")
    group.attrs["mblnn"] = {**group.attrs["mblnn"], "schema_version": 99}
    with pytest.raises(StoreError, match="schema version 99"):
        open_sample_store(path)
    group.attrs.pop(COMPLETE_MARKER)
    assert not is_complete(path)
    with pytest.raises(StoreError, match="incomplete"):
        open_sample_store(path)
    with pytest.raises(StoreError, match="no such store"):
        open_sample_store(tmp_path / "absent.zarr")


def test_rewrite_replaces_atomically(tmp_path, sample):
    path = write_sample_store(sample, tmp_path / "s.zarr")
    other = diagonalize_sample(SampleSpec(N=10, hbar=7.0, seed=5, realization=3, cuts=(5,)))
    write_sample_store(other, path)
    assert read_sample(path).spec.hbar == 7.0 and [p.name for p in tmp_path.iterdir()] == ["s.zarr"]


def test_results_get_the_umasks_permissions_not_owner_only(tmp_path, sample):
    from mblnn.store.atomic import atomic_write

    old = os.umask(0o022)
    try:
        store = write_sample_store(sample, tmp_path / "s.zarr")
        table = atomic_write(tmp_path / "t.csv", lambda temporary: temporary.write_text("a\n"))
    finally:
        os.umask(old)
    assert store.stat().st_mode & 0o777 == 0o755 and table.stat().st_mode & 0o777 == 0o644


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    root = tmp_path_factory.mktemp("campaign")
    results = {}
    for hbar in (4.0, 0.5, 1.5):
        for realization in (0, 1):
            if (hbar, realization) == (1.5, 1):
                continue  # a sample still missing
            result = diagonalize_sample(SampleSpec(N=8, hbar=hbar, seed=9, realization=realization, cuts=(3, 4)))
            write_sample_store(result, root / f"N8/hbar{hbar}/r{realization}.zarr")
            results[hbar, realization] = result
    other = diagonalize_sample(SampleSpec(N=6, hbar=1.0, seed=9, cuts=(3,)))
    write_sample_store(other, root / "N6/hbar1.0/r0.zarr")
    return root, results


def test_campaign_view_selects_slices(campaign):
    root, results = campaign
    paths = find_stores(root, N=8)
    assert len(paths) == 5
    ds = open_campaign(paths, cut=4)
    assert dict(ds.sizes) == {"hbar": 3, "realization": 2, "state": 70, "level": 6, "site": 8}
    assert list(ds.hbar.values) == [0.5, 1.5, 4.0]
    assert type(ds["spectrum"].data).__module__.startswith("dask"), "lazy, nothing copied"
    picked = ds.sel(hbar=4.0, realization=1)
    np.testing.assert_array_equal(picked["spectrum"].values, results[4.0, 1].cuts[4].spectrum)
    np.testing.assert_array_equal(picked["energies"].values, results[4.0, 1].energies)
    np.testing.assert_array_equal(picked["fields"].values, results[4.0, 1].fields)
    assert np.isnan(ds["entropy"].sel(hbar=1.5, realization=1).values).all(), "missing sample is NaN"
    assert ds.attrs["N"] == 8 and ds.attrs["N_A"] == 4


def test_campaign_refuses_mixed_sizes(campaign):
    root, _ = campaign
    with pytest.raises(StoreError, match="N"):
        open_campaign(find_stores(root), cut=3)


KILLED_WRITER = textwrap.dedent("""
    import sys, time, pathlib
    import zarr.core.group as group_module
    from mblnn.sample import SampleSpec, diagonalize_sample
    from mblnn.store.samples import write_sample_store
    result = diagonalize_sample(SampleSpec(N=10, hbar=2.0, seed=1, realization=0, cuts=(5,)))
    original = group_module.Group.create_array
    def slow_create_array(self, *args, **kwargs):
        array = original(self, *args, **kwargs)
        pathlib.Path(sys.argv[2]).touch()  # tell the test that writing has started
        time.sleep(60)
        return array
    group_module.Group.create_array = slow_create_array
    write_sample_store(result, sys.argv[1])
""")


@pytest.mark.parametrize("name", ["r0.zarr", "r0.zarr.zip"])
def test_killed_writer_leaves_nothing_trusted(tmp_path, name):
    target = tmp_path / "N10/hbar2.0" / name
    ready = tmp_path / "ready"
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target), str(ready)])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert writer.poll() is None and time.monotonic() < deadline, "writer did not start writing"
            time.sleep(0.05)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait()
    assert writer.returncode == -signal.SIGKILL
    leftovers = list(target.parent.iterdir())
    assert leftovers and all(p.name.startswith(f".{name}.partial-") for p in leftovers), leftovers
    assert not target.exists()
    assert find_stores(tmp_path) == []
    assert f"{len(leftovers)} partial leftovers" in describe(tmp_path)  # an archive's writer has a directory and a file

    # the rerun of the job completes the store and clears the leftovers
    done = subprocess.run([MBLNN, "spectrum", "--N", "10", "--hbar", "2.0", "--config", '{"seed": 1}', "--cuts", "5",
                           "--out", str(target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in target.parent.iterdir()] == [name]
    assert find_stores(tmp_path) == [target]
    reference = diagonalize_sample(SampleSpec(N=10, hbar=2.0, seed=1, realization=0, cuts=(5,)))
    assert read_sample(target).cuts[5].spectrum.tobytes() == reference.cuts[5].spectrum.tobytes()


def test_inspect_command(campaign):
    root, _ = campaign
    done = subprocess.run([MBLNN, "inspect", str(root / "N8/hbar4.0/r0.zarr"), str(root)],
                          capture_output=True, text=True, check=True)
    out = done.stdout
    assert "complete" in out and "N=8" in out and "cut4/spectrum" in out and "state=70, level=6" in out
    assert "6 complete sample stores" in out and "N=8: 5 samples" in out and "1 missing" in out
    marker = json.loads((root / "N8/hbar4.0/r0.zarr/zarr.json").read_text())["attributes"][COMPLETE_MARKER]
    assert marker == {"schema_version": 1, "N": 8, "cuts": [3, 4]}
