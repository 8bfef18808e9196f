import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import mblnn.sample
import mblnn.solve.eigsolve
from mblnn.store.atomic import atomic_write
from mblnn.errors import InputError, MemoryBudgetError
from mblnn.sample import SampleSpec, diagonalize_sample
from mblnn.solve.settings import SolverSettings
from mblnn.store.samples import read_sample

MBLNN = [str(Path(sys.executable).with_name("mblnn"))]


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if anything expensive starts."""
    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the input was checked")
    monkeypatch.setattr(mblnn.sample.SectorBasis, "build", forbidden)
    monkeypatch.setattr(mblnn.solve.eigsolve, "diagonalize_dense", forbidden)


@pytest.mark.parametrize("spec, key", [
    (SampleSpec(N=11, hbar=1.0), "even N"),
    (SampleSpec(N=12, hbar=1.0, cuts=(12,)), "cuts"),
    (SampleSpec(N=12, hbar=1.0, cuts=(0, 6)), "cuts"),
    (SampleSpec(N=12, hbar=-0.5), "hbar"),
    (SampleSpec(N=12, hbar=1.0, fields=(1.0, 2.0)), "fields"),
    (SampleSpec(N=12, hbar=1.0, realization=-1), "realization"),
])
def test_bad_input_before_any_work(no_work, spec, key):
    with pytest.raises(InputError, match=key):
        diagonalize_sample(spec)


def test_too_large_for_dense_names_memory_and_shift_invert(no_work):
    with pytest.raises(MemoryBudgetError) as error:
        diagonalize_sample(SampleSpec(N=22, hbar=3.0))  # 705,432 states: ~12 TB dense
    message = str(error.value)
    assert "705432" in message and " TB (driver" in message and "shift_invert" in message
    with pytest.raises(MemoryBudgetError, match=r"budget is 10\.5 MB"):
        diagonalize_sample(SampleSpec(N=12, hbar=3.0), SolverSettings(max_memory=10 * 2**20))


def test_explicit_fields_and_default_cut():
    fields = tuple(np.linspace(-1, 1, 8))
    result = diagonalize_sample(SampleSpec(N=8, hbar=0.0, fields=fields))
    np.testing.assert_array_equal(result.fields, fields)
    assert list(result.cuts) == [4]
    assert np.all(np.isfinite(result.gap_ratio[1:-1]))


def test_same_spec_same_bits():
    a = diagonalize_sample(SampleSpec(N=10, hbar=2.0, seed=3, realization=1, cuts=(5,)))
    b = diagonalize_sample(SampleSpec(N=10, hbar=2.0, seed=3, realization=1, cuts=(5,)))
    assert a.energies.tobytes() == b.energies.tobytes()
    assert a.cuts[5].spectrum.tobytes() == b.cuts[5].spectrum.tobytes()


def test_failed_write_leaves_nothing(tmp_path):
    def broken(temporary):
        temporary.write_bytes(b"half")
        raise OSError("disk full")
    with pytest.raises(OSError):
        atomic_write(tmp_path / "table.csv", broken)
    assert list(tmp_path.iterdir()) == []


def test_cli_spectrum_and_levels(tmp_path):
    outputs = []
    for realization in (0, 1):
        out = tmp_path / f"r{realization}.zarr"
        done = subprocess.run(MBLNN + ["spectrum", "--N", "10", "--hbar", "3.0", "--config", '{"seed": 7}',
                              "--realization", str(realization), "--cuts", "5,3", "--out", str(out)],
                              capture_output=True, text=True, check=True)
        assert "252 states" in done.stdout
        outputs.append(str(out))
    stored = read_sample(outputs[0])
    assert stored.spec.cuts == (3, 5) and stored.cuts[5].spectrum.shape == (252, 10)
    reference = diagonalize_sample(SampleSpec(N=10, hbar=3.0, seed=7, realization=0, cuts=(5,)))
    assert stored.energies.tobytes() == reference.energies.tobytes()
    table = tmp_path / "levels.csv"
    subprocess.run(MBLNN + ["table", "level_statistics", "--samples", *outputs, "--config",
                            '{"level_statistics": {"eps_window": [0.1, 0.9]}}', "--out", str(table)],
                   capture_output=True, text=True, check=True)
    lines = table.read_text().splitlines()
    assert lines[0].startswith("N,hbar,r_mean,r_sem,n_realizations") and len(lines) == 2


def test_cli_fields_option(tmp_path):
    out = tmp_path / "f.zarr"
    subprocess.run(MBLNN + ["spectrum", "--N", "4", "--hbar", "0", "--fields", "0.5,-0.5,1,0", "--out", str(out)],
                   check=True, capture_output=True)
    np.testing.assert_array_equal(read_sample(out).fields, [0.5, -0.5, 1, 0])


@pytest.mark.parametrize("args, key", [
    (["--N", "11", "--hbar", "1"], "even N"),
    (["--N", "10", "--hbar", "-1"], "hbar"),
    (["--N", "10", "--hbar", "1", "--cuts", "10"], "cuts"),
    (["--N", "22", "--hbar", "1"], "shift_invert"),
])
def test_cli_bad_input(tmp_path, args, key):
    out = tmp_path / "x.zarr"
    done = subprocess.run(MBLNN + ["spectrum", *args, "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 2 and key in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_auto_picks_dense_then_shift_invert_then_filter_by_memory(caplog):
    from mblnn.sample import choose_solver
    from mblnn.solve import cost

    spec = SampleSpec(N=20, hbar=3.0).validated()  # 184,756 states: dense ~1 TB, shift-invert ~10 GiB modelled
    si = cost.memory_bytes("shift_invert", 184756)
    auto = SolverSettings(solver="auto").interior((0.5,))
    with caplog.at_level("INFO", logger="mblnn.sample"):
        assert choose_solver(spec, replace(auto, max_memory=2**50)) == "dense"
        assert choose_solver(spec, replace(auto, max_memory=si + 1)) == "shift_invert"
        assert choose_solver(spec, replace(auto, max_memory=si - 1)) == "filter"
    assert "solver=auto: N=20 (184756 states) -> filter" in caplog.text


def test_one_list_of_solvers_for_the_schema_the_command_and_the_library():
    """The schema's solver enums, `mblnn spectrum --solver` and the library's SOLVER_CHOICES are one list."""
    from mblnn.schema import load_schema
    from mblnn.solve.settings import SOLVER_CHOICES

    solver = load_schema()["properties"]["solver"]["properties"]
    assert tuple(solver["default"]["enum"]) == tuple(solver["by_size"]["additionalProperties"]["enum"]) == SOLVER_CHOICES
    with pytest.raises(InputError, match="solver must be one of"):
        SolverSettings(solver="lanczos")
