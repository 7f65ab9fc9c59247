"""`python -m lecture_vae.classroom.notebooks`: the setup cell (Colab/Binder install) and clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lecture_vae import _project
from lecture_vae.classroom import notebooks as tool


def _toy(tmp_path: Path, name: str = "01_toy.ipynb") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(tool.KERNELSPEC)
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 01 · A toy\n\nText."),
        nbformat.v4.new_code_cell("import math\nprint(math.sqrt(4.0))"),
        nbformat.v4.new_markdown_cell("## More"),
        nbformat.v4.new_code_cell("print(1 + 1)"),
    ]
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def test_setup_cell_is_the_first_code_cell_and_idempotent(tmp_path: Path):
    path = _toy(tmp_path)
    nb = tool.add_setup_cell(nbformat.read(path, as_version=4))
    codes = [c for c in nb.cells if c.cell_type == "code"]
    assert codes[0].metadata["tags"] == [tool.SETUP_TAG] and nb.cells[1] is codes[0]
    source = codes[0].source
    assert "import lecture_vae" in source and "except ImportError:" in source
    assert f'%pip install --quiet "{_project.INSTALL_REQUIREMENT}"' in source
    assert "torch" not in source and " -e " not in source and "--editable" not in source
    again = tool.add_setup_cell(nbformat.read(path, as_version=4))
    assert nbformat.writes(tool.add_setup_cell(again)) == nbformat.writes(nb)
    assert sum(tool.SETUP_TAG in c.metadata.get("tags", []) for c in again.cells) == 1


def test_setup_cell_moves_and_updates_a_stale_copy(tmp_path: Path):
    nb = nbformat.read(_toy(tmp_path), as_version=4)
    stale = nbformat.v4.new_code_cell("%pip install old", metadata={"tags": [tool.SETUP_TAG]})
    nb.cells.append(stale)
    tool.add_setup_cell(nb)
    tagged = [i for i, c in enumerate(nb.cells) if tool.SETUP_TAG in c.metadata.get("tags", [])]
    assert tagged == [1] and nb.cells[1].source == tool.setup_source() and len(nb.cells) == 5


def test_notebook_00_gets_every_chapters_cloud_links(tmp_path: Path):
    nb = nbformat.read(_toy(tmp_path, "00_toy.ipynb"), as_version=4)
    names = ["00_toy.ipynb", "01_toy.ipynb"]
    tool.add_setup_cell(nb, links_to=names)
    (links,) = [c for c in nb.cells if tool.LINKS_TAG in c.metadata.get("tags", [])]
    for name in names:
        assert _project.colab_url(name) in links.source and _project.binder_url(name) in links.source
    tool.add_setup_cell(nb, links_to=names)
    assert sum(tool.LINKS_TAG in c.metadata.get("tags", []) for c in nb.cells) == 1


def test_setup_cell_prints_nothing_and_nbval_passes(tmp_path: Path):
    """With the package installed the cell is silent, so nbval's stored outputs still match."""
    path = _toy(tmp_path)
    assert tool.main(["setup-cell", str(path)]) == 0
    tool.execute(path)
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[1].outputs == [] and nb.cells[2].outputs[0]["text"] == "2.0\n"
    assert tool.main(["setup-cell", str(path)]) == 0 and nbformat.read(path, as_version=4) == nb
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider", path.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_main_names_a_missing_notebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        tool.main(["setup-cell", str(tmp_path / "nope.ipynb")])
    assert "nope.ipynb" in capsys.readouterr().err
