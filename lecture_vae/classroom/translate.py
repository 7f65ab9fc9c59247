"""The Korean edition (``notebooks/ko/``) kept in step with the English notebooks.

    python -m lecture_vae.classroom.translate status [NN ...]   # what is stale; exit 1 if anything is
    python -m lecture_vae.classroom.translate sync [NN ...]     # copy code cells and outputs, follow the structure
    python -m lecture_vae.classroom.translate stamp NN CELL_ID  # mark a revised translation as up to date

A Korean notebook has the English notebook's cells in the same order. Code cells (source, outputs,
execution counts, metadata) are byte-identical copies, so nbval over the English notebooks covers
the Korean ones. Each Korean markdown cell records in its metadata which English cell it translates
and a hash of that cell's source::

    "translation": {"source": "<English cell id>", "sha256": "<hash of the English source>"}

``status`` reports, per notebook and cell, an English cell added (no translation yet), removed (a
translation of nothing), changed since it was translated (hash differs), or a code cell / output that
differs. ``sync`` rewrites a Korean notebook from its English one: code cells copied, each markdown
cell's translation kept by its source id (a changed English cell keeps its old translation, still
reported stale until revised and stamped), new English markdown cells inserted untranslated (their
English text, no ``translation`` record).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .notebooks import NOTEBOOKS, write_if_changed

KO = NOTEBOOKS / "ko"
KEY = "translation"


def source_hash(source: str) -> str:
    """The SHA-256 of a cell's source text (hex): what a translation records of the English cell."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Stale:
    """One thing that is out of step: ``notebook`` and ``cell`` name it, ``what`` says how."""

    notebook: str
    cell: str
    what: str

    def __str__(self) -> str:
        return f"{self.notebook} cell {self.cell}: {self.what}"


def status(en: NotebookNode, ko: NotebookNode, name: str) -> list[Stale]:
    """Everything in ``ko`` that is out of step with ``en`` (an empty list: in step)."""
    problems: list[Stale] = []
    en_cells = {c.id: c for c in en.cells}
    translated: set[str] = set()
    ko_code = [c for c in ko.cells if c.cell_type != "markdown"]
    en_code = [c for c in en.cells if c.cell_type != "markdown"]
    for c in ko.cells:
        if c.cell_type != "markdown":
            continue
        record = c.metadata.get(KEY)
        if not record:
            if c.id in en_cells and en_cells[c.id].cell_type == "markdown":
                problems.append(Stale(name, c.id, "not translated yet (English text)"))
                translated.add(c.id)
            else:
                problems.append(Stale(name, c.id, "a markdown cell with no translation record"))
            continue
        src = record.get("source")
        if src not in en_cells or en_cells[src].cell_type != "markdown":
            problems.append(Stale(name, c.id, f"translates English cell {src}, which no longer exists (removed)"))
            continue
        translated.add(src)
        if record.get("sha256") != source_hash(en_cells[src].source):
            first = en_cells[src].source.strip().splitlines()[0][:60] if en_cells[src].source.strip() else ""
            problems.append(Stale(name, c.id, f"English cell {src} changed since it was translated ({first!r})"))
    for c in en.cells:
        if c.cell_type == "markdown" and c.id not in translated:
            problems.append(Stale(name, c.id, "English markdown cell added; no translation"))
    if len(ko_code) != len(en_code):
        problems.append(Stale(name, "-", f"{len(ko_code)} code cells, the English notebook has {len(en_code)}"))
    for k, e in zip(ko_code, en_code, strict=False):
        if k != e:
            problems.append(Stale(name, k.id, f"code cell differs from English cell {e.id} (source or outputs)"))
    order_en = [c.id if c.cell_type != "markdown" else ("md", c.id) for c in en.cells]
    order_ko = [
        c.id if c.cell_type != "markdown" else ("md", c.metadata.get(KEY, {}).get("source", c.id)) for c in ko.cells
    ]
    if not problems and order_en != order_ko:
        problems.append(Stale(name, "-", "cells are in another order than in the English notebook"))
    return problems


def sync(en: NotebookNode, ko: NotebookNode | None) -> NotebookNode:
    """The Korean notebook rebuilt on ``en``'s structure, keeping every translation it had."""
    kept = {}
    if ko is not None:
        for c in ko.cells:
            if c.cell_type == "markdown":
                kept[c.metadata.get(KEY, {}).get("source", c.id)] = c
    out = copy.deepcopy(en)
    cells = []
    for c in en.cells:
        if c.cell_type == "markdown" and c.id in kept:
            k = copy.deepcopy(kept[c.id])
            record = k.metadata.get(KEY)
            k.metadata = copy.deepcopy(c.metadata)  # tags, slides, collapsed headings follow the English cell
            if record:
                k.metadata[KEY] = record
            k.id = c.id
            cells.append(k)
        else:
            cells.append(copy.deepcopy(c))
    out.cells = cells
    out.metadata["language"] = "ko"
    return out


def stamp(en: NotebookNode, ko: NotebookNode, cell_id: str) -> None:
    """Record that the Korean cell translating English cell ``cell_id`` is up to date with it."""
    en_cell = next((c for c in en.cells if c.id == cell_id and c.cell_type == "markdown"), None)
    if en_cell is None:
        raise ValueError(f"cell_id must name a markdown cell of the English notebook, got {cell_id!r}")
    for c in ko.cells:
        if c.cell_type == "markdown" and c.metadata.get(KEY, {}).get("source", c.id) == cell_id:
            c.metadata[KEY] = {"source": cell_id, "sha256": source_hash(en_cell.source)}
            return
    raise ValueError(f"no Korean cell translates English cell {cell_id!r}; run sync first")


def pairs(names: Sequence[str] = ()) -> list[tuple[Path, Path]]:
    """(English, Korean) paths of the numbered notebooks, or of those whose name starts with one of ``names``."""
    english = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if names:
        english = [p for p in english if any(p.name.startswith(n) for n in names)]
        if not english:
            raise ValueError(f"notebooks must name numbered notebooks (e.g. 05 or 05_elbo), got {list(names)}")
    return [(p, KO / p.name) for p in english]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lecture_vae.classroom.translate", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("status", "sync"):
        p = sub.add_parser(name)
        p.add_argument("notebooks", nargs="*", help="numbered notebooks (e.g. 05); default: all")
    p = sub.add_parser("stamp")
    p.add_argument("notebook")
    p.add_argument("cell_id")
    args = parser.parse_args(argv)
    try:
        if args.command == "stamp":
            [(en_path, ko_path)] = pairs([args.notebook])
            en, ko = nbformat.read(en_path, as_version=4), nbformat.read(ko_path, as_version=4)
            stamp(en, ko, args.cell_id)
            write_if_changed(ko, ko_path)
            return 0
        found = []
        for en_path, ko_path in pairs(args.notebooks):
            en = nbformat.read(en_path, as_version=4)
            ko = nbformat.read(ko_path, as_version=4) if ko_path.is_file() else None
            if args.command == "sync":
                KO.mkdir(exist_ok=True)
                changed = write_if_changed(sync(en, ko), ko_path)
                print(f"{ko_path}: {'updated' if changed else 'in step'}")
            elif ko is None:
                found.append(Stale(ko_path.name, "-", "no Korean notebook (run sync, then translate)"))
            else:
                found += status(en, ko, ko_path.name)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.command == "status":
        for s in found:
            print(s)
        print(f"{len(found)} stale" if found else "every Korean notebook is in step")
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
