"""The layout's rules: no ``_private`` name crosses a module, and the import contracts of pyproject.toml.

A private helper lives in the module that uses it, or becomes a public name (of a small, possibly
private, module such as ``_checks``). Private *modules* with public names are fine: ``from .._checks
import check`` is allowed, ``from .bounds import _posterior`` and ``bounds._posterior`` are not.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lecture_vae"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_module(parts: list[str]) -> bool:
    """Whether ``lecture_vae/<parts...>`` is a module or package (a private module may be imported)."""
    path = PACKAGE.joinpath(*parts)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _resolve(module: str | None, level: int, here: list[str]) -> list[str] | None:
    """The path inside lecture_vae of ``from <level dots><module> import``, from the module ``here``."""
    if level == 0:
        parts = (module or "").split(".")
        return parts[1:] if parts[0] == "lecture_vae" else None
    base = here[: len(here) - level]
    return base + (module.split(".") if module else [])


def private_crossings(source: str, here: list[str]) -> list[str]:
    """Each ``from X import _name`` and ``X._name`` (``X`` an imported module) in ``source``.

    ``here`` is the importing module's package path inside lecture_vae, e.g. ``["training", "trainer"]``
    (``["x", "__init__"]`` for a package's ``__init__``).
    """
    tree = ast.parse(source)
    found: list[str] = []
    modules: dict[str, list[str] | None] = {}  # local name -> module path inside lecture_vae (None: outside)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(node.module, node.level, here)
            for alias in node.names:
                sub = None if target is None else [*target, alias.name]
                if sub is not None and _is_module(sub):
                    modules[alias.asname or alias.name] = sub  # `from . import bounds`: a module, not a name
                elif _private(alias.name):
                    found.append(f"line {node.lineno}: from {'.' * node.level}{node.module or ''} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                path = parts[1:] if parts[0] == "lecture_vae" else None
                modules[alias.asname or parts[0]] = path if alias.asname else ([] if path is not None else None)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            chain, base = [node.attr], node.value
            while isinstance(base, ast.Attribute):
                chain.insert(0, base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                path = modules[base.id]
                owner = (path or []) + chain[:-1]
                if path is None or _is_module([*owner, node.attr]):
                    continue  # another library's attribute, or a private module of lecture_vae
                found.append(f"line {node.lineno}: {base.id}.{'.'.join(chain)}")
    return found


def _package_sources() -> list[tuple[Path, list[str]]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        out.append((path, list(rel.parts)))
    return out


def test_no_private_name_is_imported_across_modules() -> None:
    offences = [
        f"{path.relative_to(ROOT)} {hit}"
        for path, here in _package_sources()
        for hit in private_crossings(path.read_text(encoding="utf-8"), here)
    ]
    assert not offences, "private names used across modules:\n" + "\n".join(offences)


@pytest.mark.parametrize(
    ("source", "here"),
    [
        ("from .bounds import _posterior", ["tractable"]),
        ("from ._checks import check, _describe", ["model"]),
        ("from .._checks import _describe", ["training", "guards"]),
        ("from lecture_vae.bounds import _check_model", ["evaluation"]),
        ("from . import bounds\nbounds._posterior(1, 2, 3)", ["tractable"]),
        ("import lecture_vae.bounds as b\nb._posterior", ["evaluation"]),
        ("import lecture_vae\nlecture_vae.bounds._posterior", ["figures", "plots"]),
        ("from .. import reparam\nreparam._check_f_output", ["training", "trainer"]),
    ],
)
def test_the_private_name_check_catches_a_crossing(source: str, here: list[str]) -> None:
    """The check fails on a synthetic module that reaches into another module's private names."""
    assert len(private_crossings(source, here)) == 1, source


@pytest.mark.parametrize(
    ("source", "here"),
    [
        ("from ._checks import check, describe", ["model"]),  # a private module with public names
        ("from .._atomic import atomic_write", ["training", "checkpoint"]),
        ("from ._idx import read_idx", ["training", "data"]),
        ("from ._core import check_function as _check_function", ["exercises", "nb02"]),  # a public name, aliased
        ("import torch\ntorch._C", ["model"]),  # another library
        ("def _helper(): ...\n_helper()\nself._tril_idx", ["model"]),  # private names of this module
        ("from . import _checks\n_checks.check", ["model"]),
        ("import lecture_vae\nlecture_vae._checks.describe", ["figures", "plots"]),
    ],
)
def test_the_private_name_check_allows_private_modules_and_local_names(source: str, here: list[str]) -> None:
    assert private_crossings(source, here) == [], source


def _lint_imports() -> str:
    exe = Path(sys.executable).with_name("lint-imports")
    return str(exe) if exe.is_file() else (shutil.which("lint-imports") or "")


@pytest.mark.skipif(not _lint_imports(), reason="import-linter is not installed (pip install import-linter)")
def test_import_contracts_hold() -> None:
    """lint-imports (import-linter) with the contracts of pyproject.toml, on this checkout's package."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(
        [_lint_imports(), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout and "3 kept" in run.stdout, run.stdout
