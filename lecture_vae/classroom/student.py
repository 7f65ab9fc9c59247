"""Student copies of the notebooks: solutions replaced by stubs, outputs cleared.

    python -m lecture_vae.classroom.student OUT_DIR [--notebooks notebooks/]

Every code cell tagged ``solution`` keeps only the ``def`` line(s) and docstring of each function
(and class) it defines, plus its import lines; the body becomes
``raise NotImplementedError("Exercise: ...")``. The checker cell after it then reports
"not implemented yet" instead of passing. Markdown cells tagged ``solution`` become a prompt.
Outputs, execution counts and stored widget state are cleared in every cell.
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
NO_DEF_STUB = '# Exercise: write your solution here.\nraise NotImplementedError("Exercise: complete this cell")'

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
        out.append(f'{indent}raise NotImplementedError("Exercise: write {node.name}")')
    return out


def stub_source(source: str) -> str:
    """The student version of a solution cell's code (see the module docstring)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # e.g. IPython magics: nothing can be kept safely
        return NO_DEF_STUB
    lines = source.splitlines()
    kept: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            kept += lines[node.lineno - 1 : node.end_lineno]
        elif isinstance(node, _DEFS):
            kept += ([""] if kept else []) + _stub_def(node, lines)
    if not any(isinstance(node, _DEFS) for node in tree.body):
        return "\n".join([*kept, NO_DEF_STUB])
    return "\n".join(kept)


def is_solution(cell: NotebookNode) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def student_notebook(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` with solution cells stubbed and every output cleared (``nb`` is unchanged)."""
    out = copy.deepcopy(nb)
    out.metadata.pop("widgets", None)
    for cell in out.cells:
        if is_solution(cell):
            cell.source = stub_source(cell.source) if cell.cell_type == "code" else MARKDOWN_STUB
            tags = [t for t in cell.metadata["tags"] if t != SOLUTION_TAG]
            cell.metadata["tags"] = [*tags, STUB_TAG]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    return out


def _write_atomically(nb: NotebookNode, path: Path) -> None:
    """Write to a temporary file next to ``path``, then rename: a reader never sees half a notebook."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)


def write_student_copies(
    out_dir: str | os.PathLike[str], notebooks: str | os.PathLike[str] = "notebooks"
) -> list[Path]:
    """Write a student copy of every ``*.ipynb`` in ``notebooks`` into ``out_dir``; return the paths written.

    Refuses (ValueError) to write into ``notebooks`` itself or a folder inside it, which would
    overwrite or mix with the solutions.
    """
    src, dst = Path(notebooks).resolve(), Path(out_dir).resolve()
    if not src.is_dir():
        raise ValueError(f"notebooks must be a folder of .ipynb files, got {str(notebooks)!r} (not a folder)")
    if dst == src or src in dst.parents:
        raise ValueError(
            f"out_dir must be outside the notebooks folder {str(src)!r}, got {str(out_dir)!r}: "
            "student copies would overwrite the solutions"
        )
    paths = sorted(src.glob("*.ipynb"))
    if not paths:
        raise ValueError(f"no notebooks (*.ipynb) found in {str(src)!r}")
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        target = dst / path.name
        _write_atomically(student_notebook(nb), target)
        written.append(target)
        n = sum(is_solution(c) for c in nb.cells)
        print(f"{target}: {n} exercise cell(s) stubbed")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lecture_vae.classroom.student", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", help="folder for the student copies (created if missing)")
    parser.add_argument("--notebooks", default="notebooks", help="folder of the notebooks with solutions")
    args = parser.parse_args(argv)
    try:
        write_student_copies(args.out_dir, args.notebooks)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
