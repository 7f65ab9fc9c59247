"""The package off this machine: the lock matches the environment, the version has one source, the
repository is named once, and a wheel installed in a fresh virtual environment, used from a folder
outside the repository, finds its shipped checkpoint and runs notebook 01's first cells."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from importlib.metadata import distributions
from pathlib import Path

import pytest

import lecture_vae
from lecture_vae import _project

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
# Installed beside the lock without being pinned by it: the installers, the project itself, and the
# accelerator libraries that PyPI's CUDA build of torch brings on Linux.
UNPINNED = re.compile(r"^(pip|setuptools|wheel|lecture-vae|nvidia-.*|triton|cuda-.*)$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if m:
            pins[_norm(m.group(1))] = m.group(2)
    return pins


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_lock_pins_every_requirement_and_no_index():
    text = (ROOT / "constraints.txt").read_text()
    pins = _lock()
    meta = _pyproject()["project"]
    wanted = meta["dependencies"] + [r for group in meta["optional-dependencies"].values() for r in group]
    missing = [r for r in wanted if _norm(re.split(r"[<>=!~ \[;]", r, maxsplit=1)[0]) not in pins]
    assert missing == [], f"not in constraints.txt (run `make lock`): {missing}"
    assert pins["torch"] == "2.13.0", "torch is pinned without a build label, so any platform's build matches"
    assert not re.search(r"^\s*-(-index-url|-extra-index-url|-find-links|i|f)\b", text, re.M), "no index in the lock"
    assert re.search(r"^#\s+make lock$", text, re.M), "the header names the command that writes the lock"


def test_every_installed_package_matches_its_pin():
    """The environment the tests run in is the locked one (`make lab`/`make test` install with the lock)."""
    venv = (ROOT / ".venv").resolve()
    if Path(sys.prefix).resolve() != venv:
        pytest.skip(f"checks the project's .venv; these tests run in {sys.prefix}")
    pins = _lock()
    installed = {_norm(d.metadata["Name"]): d.version for d in distributions()}
    wrong = {n: (v, pins[n]) for n, v in installed.items() if n in pins and v.split("+")[0] != pins[n].split("+")[0]}
    assert wrong == {}, f"installed (version, pin) that differ; rerun `make clean lab`: {wrong}"
    unpinned = sorted(n for n in installed if n not in pins and not UNPINNED.match(n))
    assert unpinned == [], (
        f"installed but not in constraints.txt; add them to pyproject.toml and run `make lock`: {unpinned}"
    )


def test_version_has_one_source():
    project = _pyproject()
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "lecture_vae.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", lecture_vae.__version__)
    hits = [p for p in ROOT.glob("lecture_vae/**/*.py") if re.search(r"^__version__\s*=", p.read_text(), re.M)]
    assert hits == [ROOT / "lecture_vae" / "__init__.py"]


def test_licences_and_changelog():
    assert _pyproject()["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "CC BY 4.0" in (ROOT / "LICENSE-TEXT").read_text()
    assert (ROOT / "CHANGELOG.md").read_text().startswith("# Changelog")


LINKS = re.compile(
    r"(?:colab\.research\.google\.com/github/|mybinder\.org/v2/gh/|git\+https://github\.com/)"
    r"([\w.-]+/[\w.-]+?)(?=[/?\"' )#]|$)"
)


def test_the_repository_is_named_in_one_place():
    """Colab, Binder and pip-from-git links in the README, the notebooks and the site all use _project's."""
    files = [ROOT / "README.md", *sorted((ROOT / "notebooks").rglob("*.ipynb")), *sorted((ROOT / "docs").glob("*.md"))]
    named = {(f.relative_to(ROOT).as_posix(), m) for f in files if f.is_file() for m in LINKS.findall(f.read_text())}
    assert {m for _, m in named} <= {_project.REPOSITORY}, f"other repositories named: {sorted(named)}"
    assert _pyproject()["project"]["urls"]["Repository"] == _project.REPOSITORY_URL
    assert _project.colab_url("01_generative_models.ipynb") == (
        f"https://colab.research.google.com/github/{_project.REPOSITORY}/blob/main/notebooks/01_generative_models.ipynb"
    )
    with pytest.raises(ValueError, match="notebook must be a file name"):
        _project.colab_url("notebooks/01_generative_models.ipynb")


def test_cpu_index_is_opt_in():
    """`make ... TORCH_INDEX=cpu` adds PyTorch's CPU index to the install; without it, no index is added."""

    def install_line(*args: str) -> str:
        out = subprocess.run(
            ["make", "-n", "install", "VENV=/nonexistent/venv", *args], cwd=ROOT, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        return next(line for line in out.stdout.splitlines() if "-c constraints.txt" in line)

    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in install_line("TORCH_INDEX=cpu")
    assert "index-url" not in install_line()


@pytest.mark.wheel
def test_wheel_works_outside_the_repository(tmp_path: Path):
    """Build the wheel, install it with its dependencies (the lock's versions) into a fresh virtual
    environment, and from a folder outside the repository load the shipped checkpoint and run the
    first code cells of notebook 01."""
    # pip must see only the new environment: no PYTHONPATH pointing into a source tree
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels), str(ROOT)],
        check=True,
        cwd=tmp_path,
        env=clean,
    )
    (wheel,) = wheels.glob("lecture_vae-*.whl")
    assert wheel.name.startswith(f"lecture_vae-{lecture_vae.__version__}-")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=clean)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "-c", ROOT / "constraints.txt", wheel],
        check=True,
        cwd=tmp_path,
        env=clean,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    nb = json.loads((ROOT / "notebooks" / "01_generative_models.ipynb").read_text())
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"][:3]
    assert not any("solution" in c["metadata"].get("tags", []) for c in cells)
    check = textwrap.dedent(
        """
        import importlib.resources, json, sys
        from pathlib import Path
        import lecture_vae
        from lecture_vae.training import paper
        model, meta = paper.load_shipped()
        here = Path(lecture_vae.__file__).resolve()
        shipped = importlib.resources.files("lecture_vae.training") / "checkpoints" / "mnist-paper.pt"
        print(json.dumps({"package": str(here), "checkpoint": str(shipped), "z_dim": model.z_dim,
                          "version": lecture_vae.__version__}))
        """
    )
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "MPLBACKEND": "Agg", "HOME": str(tmp_path)}
    out = subprocess.run([python, "-c", check], cwd=outside, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(found["package"]).is_relative_to(venv) and Path(found["checkpoint"]).is_relative_to(venv)
    assert found["version"] == lecture_vae.__version__ and found["z_dim"] > 0
    # notebook 01's first code cells, through IPython as a kernel runs them (magics included)
    script = outside / "first_cells.ipy"
    script.write_text("\n\n".join("".join(c["source"]) for c in cells) + "\nprint('first cells ran')\n")
    out = subprocess.run(
        [venv / "bin" / "ipython", "--quick", str(script)], cwd=outside, capture_output=True, text=True, env=env
    )
    assert out.returncode == 0 and "first cells ran" in out.stdout, out.stdout + out.stderr
