"""Student copies: no solution code survives, the copies run up to the exercises with only the
checkers failing ("not implemented yet"), and the solutions folder is never written into."""

from __future__ import annotations

import ast
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lecture_vae.classroom.student import (
    GUARD_IMPORT,
    STUB_IMPORT,
    STUB_TAG,
    StudentWorkExists,
    guard_source,
    is_solution,
    main,
    stub_source,
    student_notebook,
    write_student_copies,
)

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
NONE_YET = pytest.param(None, marks=pytest.mark.skip(reason=f"no notebooks in {NOTEBOOKS_DIR} yet"))


def _lines(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines()]


def _is_code(line: str) -> bool:
    """A line that carries solution content: not blank, not a bare bracket or quote."""
    return any(ch.isalnum() for ch in line) and not line.startswith("#")


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
            if stub.source != cell.source:  # only a guard around a cell that uses a student's function
                assert stub.source.startswith(GUARD_IMPORT), f"cell {i} changed although it is not a solution"
                assert _unguard(stub.source) == ast.unparse(ast.parse(cell.source)), f"cell {i}: guard changed it"
            continue
        assert STUB_TAG in stub.metadata["tags"] and "solution" not in stub.metadata["tags"]
        if cell.cell_type != "code":
            continue
        assert "raise ExerciseNotDone(" in stub.source
        added = set(_lines(stub.source)) - set(_lines(cell.source))
        assert all(not line or line.startswith((STUB_IMPORT, "raise ExerciseNotDone(", "#")) for line in added), added
        names = lambda src: [n.name for n in ast.parse(src).body if isinstance(n, ast.FunctionDef)]  # noqa: E731
        assert names(stub.source) == names(cell.source), f"cell {i}: the stub must define the same functions"
        body = {line for line in set(_lines(cell.source)) - set(_lines(stub.source)) if _is_code(line)}
        leaked = (body - public) & copy_lines
        assert not leaked, f"cell {i}: solution lines left in the student copy: {sorted(leaked)}"


def _text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


def _run_all(nb: nbformat.NotebookNode, path: Path | None = None) -> None:
    """Execute like "Run All": the first error stops it (CellExecutionError), as in JupyterLab."""
    resources = {"metadata": {"path": str(path)}} if path else {}
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False, resources=resources).execute()


def assert_reports_each_unfinished_exercise(copy: nbformat.NotebookNode, where: str) -> int:
    """After "Run All" on a fresh copy: every checker cell after a stub says "not implemented yet", every
    guarded cell says "not done yet". Returns the number of guarded cells."""
    stubs = [i for i, c in enumerate(copy.cells) if STUB_TAG in c.get("metadata", {}).get("tags", [])]
    guarded = 0
    for i, cell in enumerate(copy.cells):
        if cell.cell_type != "code" or not stubs or i < stubs[0] or i in stubs:
            continue
        if "check_" in cell.source:
            assert "not implemented yet" in _text(cell), f"{where}, cell {i}: {_text(cell)!r}"
        elif cell.source.startswith(GUARD_IMPORT):
            assert "is not done yet" in _text(cell), f"{where}, cell {i}: {_text(cell)!r}"
            guarded += 1
    return guarded


def _unguard(source: str) -> str:
    """The original cell inside a guarded one: the ``with`` block's body, ``needs_exercise.show(x)`` -> ``x``."""
    tree = ast.parse(source)
    (block,) = [n for n in tree.body if isinstance(n, ast.With)]
    body = []
    for node in block.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if isinstance(call, ast.Call) and ast.unparse(call.func) == "needs_exercise.show":
            node = ast.Expr(call.args[0])
        body.append(node)
    return ast.unparse(ast.Module(body, []))


SYNTHETIC_SOLUTION = 'import math\n\ndef double(x):\n    """Twice x."""\n    y = 2 * x\n    return y'
SYNTHETIC_LATER = (
    "tripled = double(torch.ones(2)) * 1.5  # naïve comment\n"
    'note = """a multi-line\nstring: its lines keep their text"""\n'
    "tripled.sum()"
)


def _synthetic() -> nbformat.NotebookNode:
    solution = new_code_cell(SYNTHETIC_SOLUTION)
    solution.metadata["tags"] = ["solution"]
    assignment = new_code_cell("ratio = 0.5")
    assignment.metadata["tags"] = ["solution"]
    nb = new_notebook(
        cells=[
            new_markdown_cell("# A notebook"),
            new_code_cell("import torch\nimport lecture_vae.exercises"),
            solution,
            new_code_cell(
                'assert lecture_vae.exercises.check_function("double", double, lambda x: 2 * x, [(torch.ones(2),)])'
            ),
            new_code_cell(SYNTHETIC_LATER),
            assignment,
            new_code_cell("print(ratio * 2)"),
            new_code_cell("print('after the exercises')"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_synthetic_student_copy_runs_to_the_end_and_says_what_is_not_done():
    copy = student_notebook(_synthetic())
    assert copy.cells[2].source == (
        f'{STUB_IMPORT}\nimport math\n\ndef double(x):\n    """Twice x."""\n    raise ExerciseNotDone("double")'
    )
    assert copy.cells[3].source == _synthetic().cells[3].source  # the checker cell reads as in the lecture
    assert copy.cells[4].source.startswith(f'{GUARD_IMPORT}\n\nwith needs_exercise("double"):')
    assert _unguard(copy.cells[4].source) == ast.unparse(ast.parse(SYNTHETIC_LATER))
    assert '\nstring: its lines keep their text"""' in copy.cells[4].source  # not indented
    assert copy.cells[5].source == "# Exercise: write your solution here (it defines ratio)."
    _run_all(copy)
    assert "not implemented yet" in _text(copy.cells[3])
    assert "exercise `double` is not done yet" in _text(copy.cells[4])
    assert "exercise `ratio` is not done yet" in _text(copy.cells[6])
    assert _text(copy.cells[7]) == "after the exercises\n"
    assert assert_reports_each_unfinished_exercise(copy, "synthetic") == 2

    done = student_notebook(_synthetic())  # the student writes the solutions: the guarded cells run as before
    done.cells[2].source, done.cells[5].source = SYNTHETIC_SOLUTION, "ratio = 0.5"
    _run_all(done)
    assert _text(done.cells[3]).startswith("✓ double")
    (result,) = [o for o in done.cells[4].outputs if o.output_type == "execute_result"]
    assert result.data["text/plain"] == "tensor(6.)"  # the last expression is still displayed
    assert _text(done.cells[6]) == "1.0\n"


def test_a_wrong_answer_still_stops_the_notebook():
    nb = student_notebook(_synthetic())
    nb.cells[2].source = "def double(x):\n    return 3 * x"
    with pytest.raises(CellExecutionError, match="AssertionError"):
        _run_all(nb)
    assert "✗ double: case 1 differs from the reference" in _text(nb.cells[3])


def test_guard_keeps_strings_semicolons_and_magics():
    assert guard_source("x = 1", ["f"]) == "x = 1"  # does not use f
    assert guard_source("%timeit f(1)", ["f"]) == "%timeit f(1)"  # not Python: left alone
    quiet = guard_source("y = f(1)\ny;", ["f"])
    assert "needs_exercise.show" not in quiet and quiet.endswith("    y;")
    shown = guard_source("y = f(1)\n(y +\n 1)  # é", ["f"])
    assert "    needs_exercise.show((y +\n     1))  # é" in shown
    assert "needs_exercise.show" not in guard_source("plt.plot(f(1))\nplt.show()", ["f"])


def _cheapest_with_guarded_cells() -> list:
    """The smallest real notebook whose student copy has a guarded cell (executing all would be slow)."""
    candidates = []
    for p in NOTEBOOKS:
        copy = student_notebook(nbformat.read(p, as_version=4))
        if any(c.cell_type == "code" and c.source.startswith(GUARD_IMPORT) for c in copy.cells):
            candidates.append(p)
    if not candidates:
        return [NONE_YET]
    return [min(candidates, key=lambda p: p.stat().st_size)]


@pytest.mark.parametrize("path", _cheapest_with_guarded_cells(), ids=lambda p: p.name if p else "none")
def test_real_student_copy_runs_all_to_the_end(path: Path, student_dir: Path):
    copy = nbformat.read(student_dir / path.name, as_version=4)
    _run_all(copy, student_dir)
    assert assert_reports_each_unfinished_exercise(copy, path.name) >= 1


def test_stub_keeps_headers_docstrings_and_imports_only():
    source = (
        "import math\n\n# helper\n@staticmethod\ndef kl(mu,\n       logvar) -> float:\n"
        '    """KL.\n\n    Shapes."""\n    # closed form\n    return mu**2\n\n'
        "def g(x): return x * 2\n\nmine = kl(1, 2)\n"
    )
    stub = stub_source(source)
    assert stub.splitlines() == [
        STUB_IMPORT,
        "import math",
        "",
        "@staticmethod",
        "def kl(mu,",
        "       logvar) -> float:",
        '    """KL.',
        "",
        '    Shapes."""',
        '    raise ExerciseNotDone("kl")',
        "",
        "def g(x):",
        '    raise ExerciseNotDone("g")',
    ]
    assert stub_source("z = mu + sigma * eps") == "# Exercise: write your solution here (it defines z)."
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


def _one_notebook(tmp_path: Path) -> Path:
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    solution = new_code_cell("def f(x):\n    return x")
    solution.metadata["tags"] = ["solution"]
    nbformat.write(new_notebook(cells=[solution, new_code_cell("f(1)")]), nb_dir / "a.ipynb")
    return nb_dir


def test_running_again_never_overwrites_a_students_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    nb_dir, out = _one_notebook(tmp_path), tmp_path / "student"
    assert write_student_copies(out, nb_dir) == [out / "a.ipynb"]
    assert write_student_copies(out, nb_dir) == []  # identical: fine, left alone
    copy = nbformat.read(out / "a.ipynb", as_version=4)
    copy.cells[0].source = "def f(x):\n    return x  # my work"
    nbformat.write(copy, out / "a.ipynb")
    edited = (out / "a.ipynb").read_bytes()
    with pytest.raises(StudentWorkExists, match="(?s)a.ipynb.*Nothing was written.*--force") as info:
        write_student_copies(out, nb_dir)
    assert info.value.paths == [out / "a.ipynb"]
    capsys.readouterr()
    assert main([str(out), "--notebooks", str(nb_dir)]) == 2
    err = capsys.readouterr().err
    assert str(out / "a.ipynb") in err and "--force" in err
    assert (out / "a.ipynb").read_bytes() == edited
    assert main([str(out), "--notebooks", str(nb_dir), "--force"]) == 0
    assert (out / "a.ipynb").read_bytes() != edited and "my work" not in (out / "a.ipynb").read_text()


def test_refuses_the_notebooks_folder_through_a_symbolic_link(tmp_path: Path):
    nb_dir = _one_notebook(tmp_path)
    before = (nb_dir / "a.ipynb").read_bytes()
    (tmp_path / "alias").symlink_to(nb_dir, target_is_directory=True)
    for out in (tmp_path / "alias", tmp_path / "alias" / "student"):
        with pytest.raises(ValueError, match="out_dir must be outside the notebooks folder"):
            write_student_copies(out, nb_dir, force=True)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.ipynb").symlink_to(nb_dir / "a.ipynb")  # a copy that is the solution itself
    with pytest.raises(ValueError, match="is the notebook .* itself"):
        write_student_copies(out, nb_dir, force=True)
    assert (nb_dir / "a.ipynb").read_bytes() == before and sorted(nb_dir.iterdir()) == [nb_dir / "a.ipynb"]


@pytest.mark.skipif(not shutil.which("unshare") or sys.platform != "linux", reason="needs unshare (Linux)")
def test_refuses_the_notebooks_folder_through_a_bind_mount(tmp_path: Path):
    """A bind mount is the same folder under another path that resolve() cannot see through."""
    nb_dir, alias = _one_notebook(tmp_path), tmp_path / "mounted"
    alias.mkdir()
    before = (nb_dir / "a.ipynb").read_bytes()
    script = (
        f"mount --bind {shlex.quote(str(nb_dir))} {shlex.quote(str(alias))} || exit 77; "
        f"exec {shlex.quote(sys.executable)} -m lecture_vae.classroom.student {shlex.quote(str(alias))} "
        f"--notebooks {shlex.quote(str(nb_dir))}"
    )
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    if done.returncode == 77 or "unshare:" in done.stderr:
        pytest.skip(f"no bind mount here: {done.stderr.strip()}")
    assert done.returncode == 2 and "out_dir must be outside the notebooks folder" in done.stderr, done.stderr
    assert (nb_dir / "a.ipynb").read_bytes() == before
