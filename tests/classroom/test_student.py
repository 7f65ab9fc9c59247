"""Student copies: no solution code survives, the copies run up to the exercises with only the
checkers failing ("not implemented yet"), and the solutions folder is never written into."""

from __future__ import annotations

import ast
import datetime
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lecture_vae.classroom.student import (
    STUB_TAG,
    is_solution,
    main,
    stub_source,
    student_notebook,
    write_student_copies,
)

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
NONE_YET = pytest.param(None, marks=pytest.mark.skip(reason=f"no notebooks in {NOTEBOOKS_DIR} yet"))


def _lines(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines()]


def _is_code(line: str) -> bool:
    """A line that carries solution content: not blank, not a bare bracket or quote."""
    return any(ch.isalnum() for ch in line) and not line.startswith("#")


def _timestamp(iso: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))  # Python 3.10 rejects a "Z" suffix


def _stored_seconds(path: Path) -> float:
    """How long the stored outputs took to compute, from nbclient's per-cell timestamps (inf if unknown)."""
    total, seen = 0.0, False
    for cell in nbformat.read(path, as_version=4).cells:
        ex = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in ex and "shell.execute_reply" in ex:
            t0, t1 = (_timestamp(ex[k]) for k in ("iopub.execute_input", "shell.execute_reply"))
            total, seen = total + (t1 - t0).total_seconds(), True
    return total if seen else float("inf")


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("student")
    write_student_copies(out, NOTEBOOKS_DIR)
    return out


@pytest.mark.parametrize("path", NOTEBOOKS or [NONE_YET], ids=lambda p: p.name if p else "none")
def test_student_copy_has_no_solution_code(path: Path, student_dir: Path):
    nb, copy = nbformat.read(path, as_version=4), nbformat.read(student_dir / path.name, as_version=4)
    assert [c.cell_type for c in copy.cells] == [c.cell_type for c in nb.cells]
    assert "widgets" not in copy.metadata
    public = {line for c in nb.cells if not is_solution(c) for line in _lines(c.source)}
    copy_lines = {line for c in copy.cells for line in _lines(c.source)}
    n_solutions = sum(is_solution(c) for c in nb.cells)
    if not path.name.startswith("00_"):
        assert 1 <= n_solutions <= 3, f"{path.name}: expected 1-3 exercises tagged 'solution', found {n_solutions}"
    for i, (cell, stub) in enumerate(zip(nb.cells, copy.cells, strict=True)):
        if cell.cell_type == "code":
            assert stub.outputs == [] and stub.execution_count is None, f"cell {i}: outputs not cleared"
        if not is_solution(cell):
            assert stub.source == cell.source, f"cell {i} changed although it is not a solution"
            continue
        assert STUB_TAG in stub.metadata["tags"] and "solution" not in stub.metadata["tags"]
        if cell.cell_type != "code":
            continue
        assert 'raise NotImplementedError("Exercise' in stub.source
        added = set(_lines(stub.source)) - set(_lines(cell.source))
        assert all(line.startswith(("raise NotImplementedError", "#")) for line in added), added
        names = lambda src: [n.name for n in ast.parse(src).body if isinstance(n, ast.FunctionDef)]  # noqa: E731
        assert names(stub.source) == names(cell.source), f"cell {i}: the stub must define the same functions"
        body = {line for line in set(_lines(cell.source)) - set(_lines(stub.source)) if _is_code(line)}
        leaked = (body - public) & copy_lines
        assert not leaked, f"cell {i}: solution lines left in the student copy: {sorted(leaked)}"


def _errors(cell: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def _text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


def assert_fails_only_at_the_exercises(nb: nbformat.NotebookNode, where: str) -> int:
    """Only stubs and the cells after them may fail: checker cells with NotImplementedError or the checker's
    "not implemented yet" message, cells applying a student's function with the stub's own
    NotImplementedError. Returns how many checker cells failed."""
    stubs = [i for i, c in enumerate(nb.cells) if STUB_TAG in c.get("metadata", {}).get("tags", [])]
    failed_checks = 0
    for i, cell in enumerate(nb.cells):
        for err in _errors(cell):
            what = f"{where}, cell {i} raised {err.ename}: {err.evalue}\n{cell.source[:300]}"
            assert stubs and i >= stubs[0], f"error before the exercises: {what}"
            if i in stubs:
                assert err.ename == "NotImplementedError", what
            elif "check_" in cell.source:
                assert err.ename == "NotImplementedError" or "not implemented yet" in _text(cell), what
                failed_checks += 1
            else:  # a cell that applies a student's function: only the stub's own error may surface
                assert err.ename == "NotImplementedError" and err.evalue.startswith("Exercise"), what
    return failed_checks


def test_synthetic_student_copy_fails_only_in_the_checker(tmp_path: Path):
    solution = new_code_cell('def double(x):\n    """Twice x."""\n    y = 2 * x\n    return y')
    solution.metadata["tags"] = ["solution"]
    nb = new_notebook(
        cells=[
            new_markdown_cell("# A notebook"),
            new_code_cell("import torch\nfrom lecture_vae.exercises import check_function"),
            solution,
            new_code_cell('assert check_function("double", double, lambda x: 2 * x, [(torch.ones(2),)])'),
            new_code_cell("print('after the exercise')"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    copy = student_notebook(nb)
    assert (
        copy.cells[2].source
        == 'def double(x):\n    """Twice x."""\n    raise NotImplementedError("Exercise: write double")'
    )
    NotebookClient(copy, timeout=120, kernel_name="python3", allow_errors=True).execute()
    assert assert_fails_only_at_the_exercises(copy, "synthetic") == 1
    assert "not implemented yet" in _text(copy.cells[3])
    assert _text(copy.cells[4]) == "after the exercise\n"


def _cheapest_with_exercises() -> list:
    """The real notebook with exercises whose stored run was the shortest (executing all would be slow)."""
    candidates = [p for p in NOTEBOOKS if any(is_solution(c) for c in nbformat.read(p, as_version=4).cells)]
    if not candidates:
        return [NONE_YET]
    return [min(candidates, key=lambda p: (_stored_seconds(p), p.stat().st_size))]


@pytest.mark.parametrize("path", _cheapest_with_exercises(), ids=lambda p: p.name if p else "none")
def test_real_student_copy_runs_up_to_the_exercises(path: Path, student_dir: Path):
    copy = nbformat.read(student_dir / path.name, as_version=4)
    NotebookClient(
        copy, timeout=300, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(student_dir)}}
    ).execute()
    assert assert_fails_only_at_the_exercises(copy, path.name) >= 1


def test_stub_keeps_headers_docstrings_and_imports_only():
    source = (
        "import math\n\n# helper\n@staticmethod\ndef kl(mu,\n       logvar) -> float:\n"
        '    """KL.\n\n    Shapes."""\n    # closed form\n    return mu**2\n\n'
        "def g(x): return x * 2\n\nmine = kl(1, 2)\n"
    )
    stub = stub_source(source)
    assert stub.splitlines() == [
        "import math",
        "",
        "@staticmethod",
        "def kl(mu,",
        "       logvar) -> float:",
        '    """KL.',
        "",
        '    Shapes."""',
        '    raise NotImplementedError("Exercise: write kl")',
        "",
        "def g(x):",
        '    raise NotImplementedError("Exercise: write g")',
    ]
    assert "NotImplementedError" in stub_source("z = mu + sigma * eps") and "eps" not in stub_source("z = mu + eps")
    assert "timeit" not in stub_source("%timeit f()")


def test_refuses_to_write_into_the_notebooks_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("1")]), nb_dir / "a.ipynb")
    before = (nb_dir / "a.ipynb").read_bytes()
    for out in (nb_dir, nb_dir / "student", tmp_path / "notebooks" / ".." / "notebooks"):
        with pytest.raises(ValueError, match="out_dir must be outside the notebooks folder"):
            write_student_copies(out, nb_dir)
    assert main([str(nb_dir), "--notebooks", str(nb_dir)]) == 2
    assert "out_dir must be outside" in capsys.readouterr().err
    assert (nb_dir / "a.ipynb").read_bytes() == before and sorted(nb_dir.iterdir()) == [nb_dir / "a.ipynb"]
    assert main([str(tmp_path / "out"), "--notebooks", str(nb_dir)]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.ipynb"]  # no temporary files left


def test_module_entry_point(notebooks_dir: Path):
    cmd = [sys.executable, "-m", "lecture_vae.classroom.student", str(notebooks_dir), "--notebooks", str(notebooks_dir)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "out_dir must be outside" in done.stderr
