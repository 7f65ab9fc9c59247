"""Where the project lives: the one setting behind every link to its repository.

The Colab and Binder links in the README, in notebook 00 and on the course website, and the
install line in every notebook's first code cell, are all made from ``REPOSITORY`` here (a test
checks that no other repository is named anywhere). To publish a fork, change ``REPOSITORY``, then
run ``python -m lecture_vae.classroom.notebooks setup-cell`` and ``make site``.
"""

from __future__ import annotations

from pathlib import PurePosixPath

REPOSITORY = "lecture-vae/lecture_vae"  # GitHub owner/name
BRANCH = "main"
REPOSITORY_URL = f"https://github.com/{REPOSITORY}"
INSTALL_REQUIREMENT = f"lecture_vae @ git+{REPOSITORY_URL}"  # what Colab and Binder pip-install


def _notebook_path(notebook: str) -> str:
    name = PurePosixPath(notebook).name
    if not name.endswith(".ipynb") or name != notebook:
        raise ValueError(f"notebook must be a file name such as '01_generative_models.ipynb', got {notebook!r}")
    return f"notebooks/{name}"


def colab_url(notebook: str) -> str:
    """The Colab link that opens ``notebooks/<notebook>`` from the repository's main branch."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{_notebook_path(notebook)}"


def binder_url(notebook: str) -> str:
    """The Binder link that opens ``notebooks/<notebook>`` in JupyterLab."""
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?labpath={_notebook_path(notebook).replace('/', '%2F')}"


def source_url(path: str) -> str:
    """The repository page of ``path`` (relative to the repository root) on the main branch."""
    return f"{REPOSITORY_URL}/blob/{BRANCH}/{path.lstrip('/')}"
