"""Student copies of the notebooks: solutions replaced by stubs, outputs cleared.

    python -m lecture_vae.classroom.student OUT_DIR [--notebooks notebooks/] [--force]

Every code cell tagged ``solution`` keeps only the ``def`` line(s) and docstring of each function
(and class) it defines, plus its import lines; the body becomes ``raise ExerciseNotDone("name")``
(``lecture_vae.exercises.ExerciseNotDone``, a ``NotImplementedError``). Markdown cells tagged
``solution`` become a prompt. Outputs, execution counts and stored widget state are cleared.

"Run All" on a student copy runs to the end: the checker cell after a stub prints "not implemented
yet" and does not stop the notebook, and a later cell that uses a student's function is wrapped in
``with needs_exercise(...)``, which prints "exercise `name` is not done yet" instead of a traceback.

An existing copy that differs from what would be written (a student's work) is never overwritten
unless ``--force`` is given; nothing is written into the notebooks folder itself, however it is
reached (symbolic links, bind mounts: folders are compared by identity, not by path).
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .._atomic import atomic_write

SOLUTION_TAG = "solution"
STUB_TAG = "exercise"  # the tag a stubbed cell carries in the student copy
MARKDOWN_STUB = "*Your answer here.*"
STUB_IMPORT = "from lecture_vae.exercises import ExerciseNotDone"
GUARD_IMPORT = "from lecture_vae.exercises import needs_exercise"
NO_DEF_STUB = "# Exercise: write your solution here."

PathLike = str | os.PathLike[str]
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _docstring_node(node: ast.AST) -> ast.Expr | None:
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        return body[0] if isinstance(body[0].value.value, str) else None
    return None


def _stub_def(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, lines: list[str]) -> list[str]:
    """The header (decorators to the colon) and docstring of ``node``; its body becomes a ``raise``."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    one_line = node.body[0].lineno == node.lineno  # `def f(x): return x`: rebuild the header alone
    if one_line:
        signature = ast.unparse(node).splitlines()[len(node.decorator_list)]
        header = lines[first - 1 : node.lineno - 1] + [" " * node.col_offset + signature]
    else:
        header = lines[first - 1 : node.body[0].lineno - 1]
        while header and (not header[-1].strip() or header[-1].strip().startswith("#")):
            header.pop()  # comments between the signature and the body belong to the body
    indent = " " * (node.col_offset + 4 if one_line else node.body[0].col_offset)
    doc = None if one_line else _docstring_node(node)
    out = header + (lines[doc.lineno - 1 : doc.end_lineno] if doc is not None and doc.end_lineno else [])
    methods = [n for n in node.body if isinstance(n, _DEFS)] if isinstance(node, ast.ClassDef) else []
    for child in methods:
        out += _stub_def(child, lines)
    if not methods:
        out.append(f'{indent}raise ExerciseNotDone("{node.name}")')
    return out


def defined_names(source: str) -> list[str]:
    """The top-level names a solution cell defines (functions, classes, assignments), in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, _DEFS):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return list(dict.fromkeys(names))


def stub_source(source: str) -> str:
    """The student version of a solution cell's code (see the module docstring).

    Defining the stubs raises nothing; calling one raises ``ExerciseNotDone``. A cell without a
    ``def`` keeps its imports and a comment naming what it should define.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:  # e.g. IPython magics: nothing can be kept safely
        return NO_DEF_STUB
    lines = source.splitlines()
    kept: list[str] = [STUB_IMPORT] if any(isinstance(node, _DEFS) for node in tree.body) else []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            kept += lines[node.lineno - 1 : node.end_lineno]
        elif isinstance(node, _DEFS):
            kept += ([""] if kept else []) + _stub_def(node, lines)
    if not any(isinstance(node, _DEFS) for node in tree.body):
        names = defined_names(source)
        hint = f" (it defines {', '.join(names)})" if names else ""
        return "\n".join([*kept, NO_DEF_STUB[:-1] + hint + "."])
    return "\n".join(kept)


def _calls_a_checker(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name.startswith("check_"):
                return True
    return False


def _insert(line: str, byte_offset: int, text: str) -> str:
    """``text`` inserted at an ``ast`` column offset (which counts UTF-8 bytes)."""
    raw = line.encode("utf-8")
    return (raw[:byte_offset] + text.encode("utf-8") + raw[byte_offset:]).decode("utf-8")


def _displays_a_value(node: ast.stmt) -> bool:
    """An expression statement whose value IPython would show (not ``print(...)``, ``plt.show()``, ...)."""
    if not isinstance(node, ast.Expr):
        return False
    f = node.value.func if isinstance(node.value, ast.Call) else None
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
    return name not in ("print", "display", "show")


def guard_source(source: str, names: Sequence[str]) -> str:
    """``source`` inside ``with needs_exercise(*names):``, so that an unfinished exercise it uses prints
    "not done yet" instead of raising; its last expression is still displayed. ``source`` unchanged
    when it does not parse (IPython magics) or does not use any of ``names``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    needed = [n for n in names if n in used]
    if not needed or not tree.body:
        return source
    lines = source.splitlines()
    inside_string: set[int] = set()  # continuation lines of multi-line strings keep their text
    for node in ast.walk(tree):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and node.end_lineno and node.end_lineno > node.lineno:
            if isinstance(node, ast.JoinedStr) or isinstance(node.value, (str, bytes)):
                inside_string.update(range(node.lineno + 1, node.end_lineno + 1))
    last = tree.body[-1]
    if _displays_a_value(last) and last.end_lineno and last.end_col_offset is not None:
        tail = lines[last.end_lineno - 1].encode("utf-8")[last.end_col_offset :].decode("utf-8").strip()
        if not tail.startswith(";"):  # a trailing ";" hides the value in IPython too
            lines[last.end_lineno - 1] = _insert(lines[last.end_lineno - 1], last.end_col_offset, ")")
            lines[last.lineno - 1] = _insert(lines[last.lineno - 1], last.col_offset, "needs_exercise.show(")
    body = [line if i in inside_string or not line.strip() else "    " + line for i, line in enumerate(lines, 1)]
    args = ", ".join(f'"{n}"' for n in needed)
    guarded = "\n".join(
        [GUARD_IMPORT, "", f"with needs_exercise({args}):  # runs once the exercise above is done", *body]
    )
    try:
        ast.parse(guarded)
    except SyntaxError:
        return source
    return guarded


def is_solution(cell: NotebookNode) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def student_notebook(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` with solution cells stubbed, the cells after them that use a stubbed name
    guarded (``guard_source``; checker cells stay as they are), and every output cleared."""
    out = copy.deepcopy(nb)
    out.metadata.pop("widgets", None)
    stubbed: list[str] = []
    for cell in out.cells:
        if is_solution(cell):
            if cell.cell_type == "code":
                stubbed += [n for n in defined_names(cell.source) if n not in stubbed]
            cell.source = stub_source(cell.source) if cell.cell_type == "code" else MARKDOWN_STUB
            tags = [t for t in cell.metadata["tags"] if t != SOLUTION_TAG]
            cell.metadata["tags"] = [*tags, STUB_TAG]
        elif cell.cell_type == "code" and stubbed:
            try:
                checker = _calls_a_checker(ast.parse(cell.source))
            except SyntaxError:
                checker = True  # not Python: leave it alone
            if not checker:
                cell.source = guard_source(cell.source, stubbed)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    return out


class StudentWorkExists(ValueError):
    """Existing student copies differ from what would be written: a student's work, kept unless forced."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)
        listing = "\n".join(f"  {p}" for p in self.paths)
        super().__init__(
            f"{len(self.paths)} student cop{'y' if len(self.paths) == 1 else 'ies'} already exist and differ "
            f"from a fresh copy (edited by a student, or from older notebooks):\n{listing}\n"
            "Nothing was written. Choose another out_dir, or pass --force (force=True) to overwrite them "
            "and lose those changes."
        )


def _write_atomically(text: str, path: Path) -> None:
    """Write to a temporary file next to ``path``, then rename: a reader never sees half a notebook."""
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def _existing_ancestors(path: Path) -> list[Path]:
    """``path`` and its parents that exist, nearest first."""
    return [p for p in (path, *path.parents) if p.exists()]


def _inside(folder: Path, target: Path) -> bool:
    """Whether ``target`` is ``folder`` or lies inside it, by file identity (``os.path.samefile``: the same
    device and inode), so that symbolic links, bind mounts and other spellings of a path are caught."""
    return any(os.path.samefile(p, folder) for p in _existing_ancestors(target) if p.is_dir())


def write_student_copies(out_dir: PathLike, notebooks: PathLike = "notebooks", *, force: bool = False) -> list[Path]:
    """Write a student copy of every ``*.ipynb`` in ``notebooks`` into ``out_dir``; return the paths written.

    Refuses (``ValueError``) to write into ``notebooks`` itself or a folder inside it, however it is
    reached, which would overwrite or mix with the solutions. An existing copy identical to the new one
    is left alone; one that differs (a student's edits) is overwritten only with ``force=True``, else
    ``StudentWorkExists`` lists them all and nothing is written.
    """
    src, dst = Path(notebooks).resolve(), Path(out_dir).resolve()
    if not src.is_dir():
        raise ValueError(f"notebooks must be a folder of .ipynb files, got {str(notebooks)!r} (not a folder)")
    if dst.exists() and not dst.is_dir():
        raise ValueError(f"out_dir must be a folder, got {str(out_dir)!r} (an existing file)")
    if _inside(src, dst):
        raise ValueError(
            f"out_dir must be outside the notebooks folder {str(src)!r}, got {str(out_dir)!r} (the same folder "
            "or inside it, by file identity): student copies would overwrite the solutions"
        )
    paths = sorted(src.glob("*.ipynb"))
    if not paths:
        raise ValueError(f"no notebooks (*.ipynb) found in {str(src)!r}")
    planned: list[tuple[Path, Path, str, int]] = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        text = nbformat.writes(student_notebook(nb))
        text += "" if text.endswith("\n") else "\n"  # as nbformat.write ends a file
        planned.append((path, dst / path.name, text, sum(is_solution(c) for c in nb.cells)))
    differ = []
    for source, target, text, _ in planned:
        if not (target.exists() or target.is_symlink()):
            continue
        if target.exists() and any(os.path.samefile(target, p) for p in paths):
            raise ValueError(f"{target} is the notebook {source} itself (a link): refusing to overwrite a solution")
        if not target.is_file() or target.read_bytes() != text.encode("utf-8"):
            differ.append(target)
    if differ and not force:
        raise StudentWorkExists(differ)
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for _, target, text, n in planned:
        if target.is_file() and not target.is_symlink() and target.read_bytes() == text.encode("utf-8"):
            print(f"{target}: unchanged ({n} exercise cell(s))")
            continue
        if target.is_symlink() or target.is_dir():
            if target.is_dir() and not target.is_symlink():
                raise ValueError(f"{target} is a folder: remove it or choose another out_dir")
            target.unlink()  # --force: replace the link itself, never what it points to
        _write_atomically(text, target)
        written.append(target)
        print(f"{target}: {n} exercise cell(s) stubbed")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lecture_vae.classroom.student", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", help="folder for the student copies (created if missing)")
    parser.add_argument("--notebooks", default="notebooks", help="folder of the notebooks with solutions")
    parser.add_argument(
        "--force", action="store_true", help="overwrite existing copies that differ (a student's edits are lost)"
    )
    args = parser.parse_args(argv)
    try:
        write_student_copies(args.out_dir, args.notebooks, force=args.force)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
