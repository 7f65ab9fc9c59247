"""Re-execute the lecture notebooks the way maintainers do, and keep them clean.

    python -m lecture_vae.classroom.notebooks execute [NB.ipynb ...]   # default: every notebooks/NN_*.ipynb
    python -m lecture_vae.classroom.notebooks clean [NB.ipynb ...]     # strip volatile metadata only

``execute`` runs each notebook top to bottom in a fresh ``python3`` kernel whose working folder is the
notebook's own (as JupyterLab and nbval run it), then ``clean``s it. ``clean`` keeps every output and
execution count and removes what changes on every run without changing what a reader sees: per-cell
execution timestamps, stored widget state, and a kernelspec other than the one JupyterLab writes
(so opening a notebook in JupyterLab never marks it modified). A notebook is written atomically, and
only when it changed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .._atomic import atomic_write

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime")
VOLATILE_NOTEBOOK_METADATA = ("widgets", "signature")
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def clean(nb: NotebookNode) -> NotebookNode:
    """Strip volatile metadata in place (outputs and execution counts stay) and return ``nb``."""
    for key in VOLATILE_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
    return nb


def write_if_changed(nb: NotebookNode, path: Path) -> bool:
    """Write ``nb`` to ``path`` atomically when its text differs from the file's; return whether it did."""
    text = nbformat.writes(nb) + "\n"
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)
    return True


def execute(path: Path, *, timeout: int = 600) -> float:
    """Run ``path`` in a fresh kernel in its own folder, clean it, write it back; return the seconds taken."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    write_if_changed(clean(nb), path)
    return time.perf_counter() - start


def default_notebooks() -> list[Path]:
    """Every numbered notebook: ``notebooks/NN_*.ipynb`` and, where present, ``notebooks/ko/NN_*.ipynb``."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lecture_vae.classroom.notebooks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=("execute", "clean"))
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to process (default: notebooks/NN_*.ipynb)")
    args = parser.parse_args(argv)
    paths = args.notebooks or default_notebooks()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"notebooks must be existing .ipynb files; not found: {', '.join(missing)}")
    for path in paths:
        if args.command == "execute":
            print(f"{path}: executed in {execute(path):.1f} s", flush=True)
        else:
            changed = write_if_changed(clean(nbformat.read(path, as_version=4)), path)
            print(f"{path}: {'cleaned' if changed else 'already clean'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
