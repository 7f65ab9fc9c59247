"""The project's frame: environment.yml and pyproject.toml agree, CI runs the README's command."""

import json
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


def test_public_names_and_the_bounds_module():
    """``lv.elbo``, ``lv.VAE`` ... are the lecture's API; ``lecture_vae.bounds`` is a module, not shadowed."""
    import types

    import lecture_vae as lv
    import lecture_vae.bounds

    assert isinstance(lecture_vae.bounds, types.ModuleType)
    assert lv.elbo is lecture_vae.bounds.elbo
    for name in lv.__all__:
        assert getattr(lv, name) is not None, name
    assert {"elbo", "iwae_bound", "VAE", "NonFiniteError", "ModelLike", "seed_everything"} <= set(lv.__all__)


NOTEBOOKS = sorted((ROOT / "notebooks").rglob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebooks_are_clean(path):
    """No execution timestamps, no widget state, JupyterLab's kernelspec (`make execute` strips them), so
    re-executing a notebook changes only what really changed."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in nb["metadata"], "stored widget state: run `make execute` (or notebooks clean)"
    assert nb["metadata"].get("kernelspec") == {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    stamped = [i for i, c in enumerate(nb["cells"]) if {"execution", "ExecuteTime"} & set(c["metadata"])]
    assert stamped == [], f"cells {stamped} carry execution timestamps: run `make execute` (or notebooks clean)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_first_code_cell_installs_the_package_when_missing(path):
    """Colab and Binder: run `python -m lecture_vae.classroom.notebooks setup-cell` after editing notebooks."""
    from lecture_vae.classroom.notebooks import SETUP_TAG, setup_source

    nb = json.loads(path.read_text(encoding="utf-8"))
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert SETUP_TAG in first["metadata"].get("tags", []), "no setup cell: run `... notebooks setup-cell`"
    assert "".join(first["source"]) == setup_source()
