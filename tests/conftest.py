"""Fixtures shared by the test files (keep this small)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (the folder holding pyproject.toml, notebooks/ and tests/)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def notebooks_dir(repo_root: Path) -> Path:
    """The lecture notebooks folder."""
    return repo_root / "notebooks"
