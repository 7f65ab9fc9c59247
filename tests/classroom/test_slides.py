"""The slide plan: 75 minutes of core sections, deep dives skipped and folded, apply is idempotent,
and the plan names every section heading of the stored notebooks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lecture_vae.classroom import slides

PLAN = slides.NotebookPlan(
    "S1",
    1,
    (slides.core("Intro", 3), slides.deep("Quadrature", 10), slides.core("Summary", 0)),
)


def _notebook() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell("# 99 · A test notebook"),
        new_code_cell("import math"),
        new_markdown_cell("## 1. Intro\n\nText."),
        new_code_cell("\n".join(f"x{i} = {i}" for i in range(30))),  # a long cell: starts a subslide
        new_markdown_cell("Reading it.\n\n## 2. Quadrature: exact, hopeless beyond\n\nMore."),  # heading mid-cell
        new_code_cell("y = 1"),
        new_markdown_cell("### A subsection\n\n$$\n## not a heading inside maths\n$$"),
        new_markdown_cell("## Deep dive: the proof"),
        new_code_cell("z = 2"),
        new_markdown_cell("## Summary\n\n- one"),
        new_markdown_cell("## Exercises"),
        new_code_cell("pass"),
        new_markdown_cell("## Something new"),
    ]
    return new_notebook(cells=cells)


def test_apply_splits_skips_and_folds_deep_dives_and_reports_unplanned_headings():
    nb = _notebook()
    warnings = slides.apply(nb, PLAN)
    assert warnings == ["heading not in the plan (shown as core): 'Something new'"]
    types = [c.metadata.slideshow.slide_type for c in nb.cells]
    sources = [c.source.splitlines()[0] for c in nb.cells]
    # split at the heading, which is marked as a deep dive (headings that say so already are left alone)
    assert sources[4:6] == ["Reading it.", "## 2. Quadrature: exact, hopeless beyond (deep dive)"]
    assert sources[8] == "## Deep dive: the proof" and sources[11] == "## Exercises"
    assert types == [
        "slide", "-",  # title + setup
        "slide", "subslide",  # Intro, a long code cell
        "subslide",  # "Reading it." belongs to Intro, after a full slide
        "skip", "skip", "skip",  # Quadrature (planned deep dive), its code and its subsection
        "skip", "skip",  # "Deep dive:" in the heading
        "slide",  # Summary
        "skip", "skip",  # Exercises
        "slide",  # unplanned: shown
    ]  # fmt: skip
    folded = [i for i, c in enumerate(nb.cells) if c.metadata.get("jp-MarkdownHeadingCollapsed")]
    assert folded == [5, 8, 11]
    assert nb.cells[6].metadata.slideshow.slide_type == "skip"
    nbformat.validate(nb)
    assert slides.check(nb, PLAN) == warnings


def test_apply_is_idempotent_and_check_finds_missing_or_wrong_metadata(tmp_path: Path):
    nb = _notebook()
    slides.apply(nb, PLAN)
    once = nbformat.writes(nb)
    slides.apply(nb, PLAN)
    assert nbformat.writes(nb) == once
    del nb.cells[1].metadata["slideshow"]
    nb.cells[8].metadata.slideshow.slide_type = "-"
    nb.cells[5].metadata.pop("jp-MarkdownHeadingCollapsed")
    problems = slides.check(nb, PLAN)
    assert "cell 1: no valid slideshow.slide_type (got None)" in problems
    assert any(p.startswith("cell 8: in deep dive") for p in problems)
    assert any(p.startswith("cell 5: deep-dive heading") for p in problems)


def test_the_core_path_is_a_75_minute_lecture_covering_s1_to_s8():
    assert sum(p.minutes for p in slides.PLAN.values()) == slides.LECTURE_MINUTES == 75
    table = slides.plan_table()
    assert table.splitlines()[-1] == "| 75 | end | | |"
    steps = " ".join(p.steps for p in slides.PLAN.values())
    assert all(f"S{k}" in steps for k in (1, 2, 3, 4, 5, 6, 8))  # S7 is inside "S6, S7"
    assert "S6, S7" in steps
    assert all(s.self_study_minutes > 0 for p in slides.PLAN.values() for s in p.sections if s.deep)


@pytest.mark.parametrize("path", sorted(Path(slides.__file__).parents[2].glob("notebooks/[0-9][0-9]_*.ipynb")))
def test_the_plan_names_every_section_of_the_stored_notebooks(path: Path):
    nb = nbformat.read(path, as_version=4)
    plan = slides.plan_for(path)
    assert plan is not None, f"no slide plan for {path.name}"
    slides.apply(nb, plan)  # on a copy in memory
    assert slides.check(nb, plan) == []
    assert sum(1 for c in nb.cells if c.metadata.slideshow.slide_type != "skip") >= 3


def test_command_line_apply_then_check(tmp_path: Path):
    path = tmp_path / "99_test.ipynb"
    nbformat.write(_notebook(), path)
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "lecture_vae.classroom.slides", *a], capture_output=True, text=True
    )
    assert run("check", str(path)).returncode == 1
    first = run("apply", str(path))
    assert first.returncode == 0 and "updated" in first.stdout and "no plan for this notebook" in first.stdout
    assert "unchanged" in run("apply", str(path)).stdout


def test_readme_shows_the_plan_and_the_self_study_table():
    """The lecturer's plan in the README is the plan the slides follow (regenerate with `slides plan`)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert slides.plan_table().strip() in readme
    assert slides.self_study_table().strip() in readme
