"""Fixtures shared by the test files (keep this small)."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
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


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must build and check the website")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def site_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The website's two editions (``make site``), built from scratch with `-W` (any warning fails the build):
    English in the returned folder, Korean in its ``ko/``."""
    if not (REPO_ROOT / "docs" / "_static" / "mathjax" / "tex-mml-chtml.js").is_file():
        if shutil.which("npm") is None or shutil.which("make") is None:
            _missing("the local MathJax is missing and npm is not available to fetch it (make mathjax)")
        subprocess.run(["make", "-s", "mathjax"], cwd=REPO_ROOT, check=True)
    out = tmp_path_factory.mktemp("site") / "html"
    sphinx = [sys.executable, "-m", "sphinx", "-E", "-b", "html", "-W", "--keep-going", "-q"]
    for args in (["docs", str(out)], ["-c", "docs", "-t", "ko", "docs/ko", str(out / "ko")]):
        proc = subprocess.run(sphinx + args, cwd=REPO_ROOT, capture_output=True, text=True)
        problems = f"{proc.stdout}\n{proc.stderr}"
        assert proc.returncode == 0, f"sphinx-build {args[-2]} failed (warnings are errors):\n{problems}"
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def served(site_html: Path) -> Iterator[str]:
    """Both editions served on 127.0.0.1 (the Korean one under /ko/)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site_html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
