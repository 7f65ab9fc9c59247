"""Re-execute the lecture notebooks the way maintainers do, and keep them clean.

    python -m lecture_vae.classroom.notebooks execute [NB.ipynb ...]   # default: every notebooks/NN_*.ipynb
    python -m lecture_vae.classroom.notebooks clean [NB.ipynb ...]     # strip volatile metadata only
    python -m lecture_vae.classroom.notebooks setup-cell [NB.ipynb ...]  # the Colab/Binder install cell

``execute`` runs each notebook top to bottom in a fresh ``python3`` kernel whose working folder is the
notebook's own (as JupyterLab and nbval run it), then ``clean``s it. ``clean`` keeps every output and
execution count and removes what changes on every run without changing what a reader sees: per-cell
execution timestamps, stored widget state, and a kernelspec other than the one JupyterLab writes
(so opening a notebook in JupyterLab never marks it modified). A notebook is written atomically, and
only when it changed.

``setup-cell`` makes every notebook runnable where the package is not installed (Colab, Binder, a bare
Jupyter): its first code cell, tagged ``setup``, imports ``lecture_vae`` and pip-installs it from the
repository (``lecture_vae._project``) only when the import fails; with the package installed it prints
nothing. No torch pin (Colab's own PyTorch is kept) and no editable install. Notebook 00 also gets a
markdown cell, tagged ``run-links``, with every chapter's Colab and Binder links. Running it again
changes nothing; changing the repository setting and running it again updates every cell.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .. import _project
from .._atomic import atomic_write

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime")
VOLATILE_NOTEBOOK_METADATA = ("widgets", "signature")
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SETUP_TAG = "setup"
SETUP_CELL_ID = "install-lecture-vae"
LINKS_TAG = "run-links"
LINKS_CELL_ID = "run-in-the-cloud"


def setup_source() -> str:
    """The first code cell of every notebook: install the package when (and only when) it is missing."""
    return (
        "# On Colab, Binder or any Jupyter without lecture_vae: install it (a local `make lab` already has it).\n"
        "try:\n"
        "    import lecture_vae  # noqa: F401\n"
        "except ImportError:\n"
        f'    %pip install --quiet "{_project.INSTALL_REQUIREMENT}"'
    )


def links_source(names: Sequence[str]) -> str:
    """The markdown of notebook 00's table of Colab and Binder links, one row per notebook file name."""
    link = "| {} | [Colab]({}) | [Binder]({}) |"
    rows = [link.format(Path(n).stem, _project.colab_url(n), _project.binder_url(n)) for n in names]
    return (
        "### Run a chapter in the cloud\n\n"
        "Each link opens the notebook from the repository; its first code cell installs `lecture_vae` when the\n"
        "machine does not have it (Colab keeps its own PyTorch).\n\n"
        "| notebook | Colab | Binder |\n|---|---|---|\n" + "\n".join(rows)
    )


def _tagged(nb: NotebookNode, tag: str) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if tag in c.get("metadata", {}).get("tags", [])]


def add_setup_cell(nb: NotebookNode, *, links_to: Sequence[str] = ()) -> NotebookNode:
    """Give ``nb`` its install cell as the first code cell (with ``links_to``: also the cloud links), in place.

    A setup cell that is already the first code cell, with the current source, is left alone (its
    outputs and execution count too); any other tagged cell is replaced.
    """
    source = setup_source()
    found = _tagged(nb, SETUP_TAG)
    first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), None)
    if not (found == [first_code] and nb.cells[first_code].source == source):
        for i in reversed(found):
            del nb.cells[i]
        first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
        nb.cells.insert(first, nbformat.v4.new_code_cell(source, id=SETUP_CELL_ID, metadata={"tags": [SETUP_TAG]}))
    if links_to:
        text = links_source(links_to)
        found = _tagged(nb, LINKS_TAG)
        if found and nb.cells[found[0]].cell_type == "markdown":
            nb.cells[found[0]].source = text  # updated where the author put it
            for i in reversed(found[1:]):
                del nb.cells[i]
        else:
            for i in reversed(found):
                del nb.cells[i]
            after = [i + 1 for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## How to run" in c.source]
            cell = nbformat.v4.new_markdown_cell(text, id=LINKS_CELL_ID, metadata={"tags": [LINKS_TAG]})
            nb.cells.insert(after[0] if after else len(nb.cells), cell)
    return nb


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
    parser.add_argument("command", choices=("execute", "clean", "setup-cell"))
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to process (default: notebooks/NN_*.ipynb)")
    args = parser.parse_args(argv)
    paths = args.notebooks or default_notebooks()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"notebooks must be existing .ipynb files; not found: {', '.join(missing)}")
    if args.command == "setup-cell":
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            chapters = sorted(p.name for p in path.parent.glob("[0-9][0-9]_*.ipynb"))
            links = chapters if path.name.startswith("00_") else ()
            changed = write_if_changed(clean(add_setup_cell(nb, links_to=links)), path)
            print(f"{path}: {'setup cell written' if changed else 'already has its setup cell'}")
        return 0
    for path in paths:
        if args.command == "execute":
            print(f"{path}: executed in {execute(path):.1f} s", flush=True)
        else:
            changed = write_if_changed(clean(nbformat.read(path, as_version=4)), path)
            print(f"{path}: {'cleaned' if changed else 'already clean'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
