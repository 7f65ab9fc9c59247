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


@pytest.fixture
def float64():
    """Run a test in float64 (exact checks), restoring the default dtype afterwards.

    Use with ``pytestmark = pytest.mark.usefixtures("float64")`` in a module.
    """
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """The unit tests' tensors are tiny: one intra-op thread is faster and immune to a busy CPU.

    (Notebooks run in their own kernels and are not affected.)
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
