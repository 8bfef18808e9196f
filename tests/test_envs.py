"""envs/*.yaml work for `snakemake --software-deployment-method conda` by construction (this machine has no conda, so
the route itself is not run here): dependencies only, with the ranges of pyproject.toml, each rule family's extra
complete, no pip install of the package (the rules run the workflow's src/ through workflow/bin/mblnn, which is
tested here with a Python that has the dependencies but no mblnn), and envs/workflow.yaml holding everything
planning a campaign imports — measured by importing the workflow."""

import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from venvs import venv_with_project_dependencies

ROOT = Path(__file__).resolve().parents[1]
#: conda-forge names of PyPI packages
CONDA_TO_PYPI = {"dask-core": "dask", "matplotlib-base": "matplotlib"}
#: conda packages with no PyPI counterpart in pyproject.toml (the interpreter, system libraries of the MPI stack)
SYSTEM = {"python", "petsc", "slepc", "openmpi", "mumps-mpi", "scalapack", "elpa"}
#: env file -> the extras of pyproject.toml its rules need beside the core dependencies
FAMILIES = {"ed.yaml": ["mpi"], "learning.yaml": ["learning"], "analysis.yaml": ["analysis"], "workflow.yaml": ["workflow"]}


def pyproject_requirements() -> dict[str, dict[str, Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    return {group: {canonicalize_name(Requirement(r).name): Requirement(r) for r in reqs} for group, reqs in groups.items()}


def env_packages(name: str) -> dict[str, SpecifierSet]:
    """PyPI name -> version range of the conda dependencies of envs/NAME (system packages left out)."""
    env = yaml.safe_load((ROOT / "envs" / name).read_text())
    packages = {}
    for entry in env["dependencies"]:
        assert isinstance(entry, str), f"envs/{name}: {entry!r}: only conda packages (no pip section: it installed the " \
                                       "package from a path that resolves inside .snakemake/conda/)"
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", entry)
        conda_name, spec = match.group(1), match.group(2)
        if conda_name in SYSTEM:
            continue
        spec = spec.split("=*")[0] if not spec.startswith("==") and "=*" in spec else spec
        packages[canonicalize_name(CONDA_TO_PYPI.get(conda_name, conda_name))] = SpecifierSet(spec)
    return packages


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_env_has_the_pyproject_ranges_of_its_family(name):
    assert sorted(p.name for p in (ROOT / "envs").glob("*.yaml")) == sorted(FAMILIES)
    groups = pyproject_requirements()
    declared = {package: req for group in groups.values() for package, req in group.items()}
    packages = env_packages(name)
    for package, spec in packages.items():
        assert package in declared, f"envs/{name}: {package} is not a dependency in pyproject.toml"
        assert spec == declared[package].specifier, f"envs/{name}: {package}{spec} but pyproject.toml says {declared[package]}"
    for group in ["core", *FAMILIES[name]]:
        missing = sorted(set(groups[group]) - set(packages))
        assert not missing, f"envs/{name}: missing {missing} of pyproject.toml's {group} dependencies"


def requirement_closure(names) -> set[str]:
    """The names and everything they require (installed metadata, extras' requirements left out), canonical."""
    seen, todo = set(), [canonicalize_name(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def test_workflow_env_holds_what_planning_imports():
    """Import what the Snakefile imports (the workflow's campaign package and the mblnn names it uses) in a fresh
    interpreter and map the modules to distributions; every distribution mblnn depends on among them must come with
    envs/workflow.yaml (listed, or required by a listed package). Optional imports of other libraries (scipy tries
    Cython) are not mblnn's dependencies and are left out. Planning imports neither pandas, zarr nor matplotlib."""
    code = ("import sys, json; sys.path.insert(0, 'workflow'); before = set(sys.modules); import campaign.jobconfig, campaign.paths, campaign.resources; "
            "import mblnn.config, mblnn.errors, mblnn.memory, mblnn.stack; "
            "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = json.loads(done.stdout)
    distributions = metadata.packages_distributions()
    imported = {canonicalize_name(d) for m in modules for d in distributions.get(m, [])} - {"mblnn"}
    assert not imported & {"pandas", "zarr", "matplotlib", "tensorflow-cpu"}, sorted(imported)
    groups = pyproject_requirements()
    ours = requirement_closure(name for group in groups.values() for name in group)
    provided = requirement_closure(env_packages("workflow.yaml"))
    missing = sorted((imported & ours) - provided)
    assert not missing, f"planning imports {missing}, which envs/workflow.yaml does not provide"


def test_launcher_runs_the_workflows_library_without_an_installed_package(tmp_path):
    """workflow/bin/mblnn, as a conda environment's job runs it: a Python with the dependencies but no mblnn."""
    _, env = venv_with_project_dependencies(tmp_path / "venv")
    alone = subprocess.run(["python", "-c", "import mblnn"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert alone.returncode != 0, "the test's Python must not find mblnn by itself"
    done = subprocess.run([str(ROOT / "workflow" / "bin" / "mblnn"), "check-config", str(ROOT / "config" / "config.yaml")],
                          env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "valid; sizes [8, 10, 12]" in done.stdout
