"""Checked exercises: ``check_<name>(student_function)`` runs a student's code on test cases against
the package's reference implementation and prints a clear pass, or what differed and by how much.

Each notebook's checkers live in a module of this package (``nb05.py`` for notebook 05, ...);
``lecture_vae.exercises.check_<name>`` finds them by name.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from ._core import ExerciseResult, check_function


def _checker_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def available() -> list[str]:
    """The names of every ``check_*`` function, across all notebooks."""
    names = []
    for mod in _checker_modules():
        m = importlib.import_module(f"{__name__}.{mod}")
        names += [n for n in dir(m) if n.startswith("check_") and callable(getattr(m, n))]
    return sorted(names)


def __getattr__(name: str) -> Any:
    if name.startswith("check_"):
        for mod in _checker_modules():
            m = importlib.import_module(f"{__name__}.{mod}")
            if hasattr(m, name):
                return getattr(m, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}; checkers: {available()}")


__all__ = ["ExerciseResult", "available", "check_function"]
