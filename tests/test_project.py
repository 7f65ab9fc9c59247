"""The project's frame: environment.yml and pyproject.toml agree, CI runs the README's command."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_packages_as_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [r for group in meta["optional-dependencies"].values() for r in group]
    pip_names = {_name(r) for r in meta["dependencies"] + extras}
    conda, section = [], None
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if re.match(r"^[a-z]+:", line):
            section = line.split(":")[0]
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+)", line)
        if section == "dependencies" and m and m.group(1) not in ("python", "pip"):
            conda.append(CONDA_NAMES.get(_name(m.group(1)), _name(m.group(1))))
    assert sorted(conda) == sorted(pip_names)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test$", ci, re.M)


def test_import_runs_nothing_heavy():
    """Importing the package must not import matplotlib or ipywidgets, nor train or load anything."""
    code = "import sys, lecture_vae; print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
