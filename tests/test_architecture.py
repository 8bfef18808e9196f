"""The floors of the house (docs/architecture.md): a module imports only from its own floor and the floors below,
never up — lazy imports inside functions included, since they are loops all the same. Read from the source with
``ast``, so the test sees every import statement, whether or not it runs."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: bottom to top; a module's floor is that of the longest prefix listed (docs/architecture.md says what each holds)
FLOORS = [
    ("base", ["mblnn", "mblnn.errors", "mblnn.units", "mblnn.memory", "mblnn.provenance", "mblnn.schema",
              "mblnn.hbar", "mblnn.streams"]),
    ("model", ["mblnn.model"]),
    ("observables", ["mblnn.observables"]),
    ("solve", ["mblnn.solve", "mblnn.stack"]),
    ("sample", ["mblnn.sample"]),
    ("store", ["mblnn.store"]),
    ("config", ["mblnn.config"]),
    ("learn", ["mblnn.learn"]),
    ("analyse", ["mblnn.analyse"]),
    ("plot", ["mblnn.plot"]),
    ("cli", ["mblnn.cli", "mblnn.slurm"]),
]


def floor_of(module: str) -> int:
    best, level = -1, None
    for index, (_, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, level = len(prefix), index
    if level is None:
        raise AssertionError(f"{module}: on no floor; add it to FLOORS and docs/architecture.md")
    return level


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    base = SRC.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported mblnn module) for every import statement of the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "mblnn"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mblnn" and node.level == 0:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.append((node.lineno, name if is_module(name) else node.module))
    return found


MODULES = sorted(SRC.joinpath("mblnn").rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_import_runs_up_a_floor(path):
    me = module_name(path)
    mine = floor_of(me)
    upward = [f"line {line}: {me} ({FLOORS[mine][0]}) imports {name} ({FLOORS[floor_of(name)][0]})"
              for line, name in imports_of(path) if floor_of(name) > mine]
    assert not upward, "\n".join(upward)


def test_no_private_name_is_imported_across_modules():
    private = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mblnn"):
                private += [f"{module_name(path)} line {node.lineno}: {node.module}.{a.name}" for a in node.names
                            if a.name.startswith("_") and not a.name.startswith("__")]
    assert not private, "\n".join(private)


def test_the_floor_test_sees_an_upward_import(tmp_path):
    """The check itself can fail: a lazy import of a higher floor inside a function is found."""
    fake = tmp_path / "mblnn" / "model" / "fake.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("def f():\n    from mblnn.learn.network import Ensemble\n")
    (line, name), = imports_of(fake)
    assert line == 2 and floor_of(name) > floor_of("mblnn.model.fake")
