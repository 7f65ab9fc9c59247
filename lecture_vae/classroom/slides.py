"""The 75-minute lecture as live slides (jupyterlab-rise), and the self-study deep dives.

    python -m lecture_vae.classroom.slides apply [NB.ipynb ...]   # set slide metadata (default: every notebook)
    python -m lecture_vae.classroom.slides check [NB.ipynb ...]   # verify it; exit 1 with a list of problems
    python -m lecture_vae.classroom.slides plan                   # print the minute-by-minute plan

``PLAN`` says, per notebook, which sections (``##`` headings) carry S1..S8 in class (``core``, with
their minutes) and which are deep dives for self-study. A heading that says "Deep dive" is a deep
dive whatever the plan says; "Exercises" and "References" are always self-study. A heading the plan
does not name is reported by ``apply`` and ``check`` and treated as core, so it stays visible.

``apply`` sets ``metadata.slideshow.slide_type`` on every cell:

- the title and every core ``##`` section start a ``slide``; a ``###`` heading starts a ``subslide``;
- a long section is split: a cell that would push the current (sub)slide past ``SLIDE_BUDGET``
  lines (source lines, plus ``FIGURE_LINES`` per stored figure) starts a ``subslide``;
- every cell of a deep dive is ``skip``, and its heading cell gets ``"jp-MarkdownHeadingCollapsed":
  true``, so JupyterLab opens the notebook with the deep dive folded.

``apply`` is idempotent: running it twice leaves the files byte-identical (written only when changed).
Open a notebook in JupyterLab and press Alt+R ("RISE: preview"), or use "Open as Reveal Slideshow";
``notebooks/rise.css`` sets the slides' type size. ipywidgets do not render on RISE slides: the
explorers show a PNG of their state there, so drive them in the notebook view.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .notebooks import default_notebooks, write_if_changed

SLIDE_BUDGET = 22  # lines a 1366x768 slide shows at RISE's default scale
FIGURE_LINES = 14  # a stored figure takes about this many lines of the slide
SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
DEEP_MARKER = "deep dive"
ALWAYS_SELF_STUDY = ("exercises", "exercise", "references")
COLLAPSED = "jp-MarkdownHeadingCollapsed"


@dataclass(frozen=True)
class Section:
    """A ``##`` section of a notebook: its heading's start (number and case ignored) and its role."""

    heading: str
    minutes: int = 0  # class time; 0 for a deep dive
    live: str = ""  # what to run or show live in class
    deep: bool = False
    self_study_minutes: int = 0  # time for a student working alone (deep dives, exercises)

    def matches(self, title: str) -> bool:
        return _norm(title).startswith(_norm(self.heading))


def core(heading: str, minutes: int, live: str = "") -> Section:
    return Section(heading, minutes, live)


def deep(heading: str, minutes: int) -> Section:
    return Section(heading, deep=True, self_study_minutes=minutes)


@dataclass(frozen=True)
class NotebookPlan:
    steps: str  # the lecture steps it carries
    title_minutes: int  # the title slide and the setup cell
    sections: tuple[Section, ...]
    exercises_minutes: int = 0  # self-study time for its exercises
    live: str = ""  # what runs on the title slide (setup)
    notes: tuple[str, ...] = field(default=())

    @property
    def minutes(self) -> int:
        return self.title_minutes + sum(s.minutes for s in self.sections)


PLAN: dict[str, NotebookPlan] = {
    "00_overview": NotebookPlan(
        "all",
        1,
        (
            core("Roadmap", 2),
            core("The generative story", 1, "the VAE picture"),
            deep("Notation", 5),
            deep("How to run", 3),
            deep("Glossary", 5),
        ),
    ),
    "01_generative_models": NotebookPlan(
        "S1",
        1,
        (
            core("The objective and its best possible value", 2),
            core("A model that can memorize", 3, "run the kernel-density cells: train vs held-out log-likelihood"),
            core("The latent-variable idea", 2),
            core("Summary", 0),
        ),
        exercises_minutes=20,
    ),
    "02_intractable_marginal": NotebookPlan(
        "S2, S3",
        1,
        (
            core("A linear decoder: the integral is Gaussian", 2),
            core("Monte Carlo from the prior", 2, "run the naive estimator once"),
            core("A nonlinear decoder: no closed form", 2),
            core("How many prior samples", 1, "the sample-count figure"),
            deep("Quadrature", 10),
            core("Summary", 0),
        ),
        exercises_minutes=25,
    ),
    "03_bayes_rule": NotebookPlan(
        "S4",
        1,
        (
            core("The identity, and the posterior of the linear model", 3, "check Bayes' rule at several z"),
            core("The catch: the posterior needs", 1),
            core("The posterior of a nonlinear decoder is not Gaussian", 2, "the posterior figure"),
            deep("Why not compute the posterior on a grid", 8),
            core("Summary", 0),
        ),
        exercises_minutes=20,
    ),
    "04_encoder_decoder": NotebookPlan(
        "S5",
        1,
        (
            core("Why an encoder", 1),
            core("The picture", 2, "the VAE diagram"),
            core("The encoder", 2, "encode a batch: shapes of mu and Sigma"),
            core("The decoder", 2),
            deep("Before training, a VAE reconstructs noise", 5),
            core("Summary", 0),
        ),
        exercises_minutes=25,
    ),
    "05_elbo": NotebookPlan(
        "S6, S7",
        1,
        (
            core("The bound from Jensen's inequality", 3),
            core("The same bound from an identity", 2),
            core("Checking the identity in closed form", 2, "log p(x) = ELBO + KL, to printed precision"),
            deep("A nonlinear decoder: the posterior on a grid", 10),
            core("What the two terms mean", 2, "the two-term figure"),
            deep("Analytic KL versus its Monte Carlo estimate", 8),
            core("Summary", 0),
        ),
        exercises_minutes=25,
    ),
    "06_reparameterization": NotebookPlan(
        "S8",
        1,
        (
            core("Sampling blocks the gradient", 2, "the gradient of a sample is None"),
            core("Two unbiased estimators of the gradient", 3, "the variance comparison"),
            core("The diagonal case", 1),
            deep("Full covariance", 10),
            core("The two computation graphs", 2, "the two graphs side by side"),
            core("Summary", 0),
        ),
        exercises_minutes=25,
    ),
    "07_training": NotebookPlan(
        "S5-S8 together",
        0,
        (
            core("The data", 1),
            deep("Build it yourself: the model", 15),
            core("The loss", 1, "the per-image sum over pixels and latent dimensions"),
            deep("The training loop", 10),
            core("Your VAE on the digits, then", 2, "fit() on the 8x8 digits (seconds)"),
            core("Reading the training curves", 1),
            deep("Reconstructions", 3),
            core("Samples from the prior", 1),
            core("The latent space", 1, "the latent scatter"),
            deep("The decoded manifold", 5),
            core("Autoencoder vs VAE", 1, "the autoencoder-vs-VAE figure: holes in the latent map"),
            core("Summary", 0),
        ),
        exercises_minutes=30,
    ),
    "08_evaluation": NotebookPlan(
        "beyond S8",
        0,
        (
            core("The importance-weighted bound", 2, "ELBO <= IWAE-k <= log p(x) as k grows"),
            deep("The sandwich where", 10),
            deep("Diagonal or full covariance", 10),
            core("Posterior collapse under", 2, "the beta-sweep figure"),
            deep("What a collapsed dimension looks like", 8),
            deep("Two remedies", 10),
            core("Pitfalls, each a measured failure", 1, "the pitfall table"),
            core("Summary", 0),
        ),
        exercises_minutes=30,
    ),
    "09_mnist": NotebookPlan(
        "S5-S8 at scale",
        0,
        (
            deep("The recipe", 5),
            deep("What the figure measures", 8),
            deep("The curve of the run", 5),
            deep("Check the record yourself", 10),
            core("Samples, reconstructions and the latent space", 2, "the shipped MNIST model's figures"),
            deep("Among published figures", 8),
            core("Summary", 0),
        ),
        exercises_minutes=30,
    ),
    "10_interactive": NotebookPlan(
        "S4-S8, live",
        0,
        (
            core("Bayes' rule and the ELBO gap", 3, "notebook view: the gap explorer, press 'q <- best Gaussian'"),
            core("The reparameterization trick with two factors", 2, "notebook view: move rho"),
            core("A trained latent space", 1, "notebook view: drag z1"),
            core("Summary", 0),
        ),
        exercises_minutes=20,
    ),
}
LECTURE_MINUTES = 75


# --- reading a notebook's structure ----------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _norm(text: str) -> str:
    """Heading text without markdown, maths markers, leading numbering and case: '## 2. The $x$' -> 'the x'."""
    text = re.sub(r"[`*_$\\]", "", text).strip().lower()
    text = re.sub(r"^\d+(\.\d+)*\.?\s+", "", text)
    return re.sub(r"\s+", " ", text)


def headings(cell: NotebookNode) -> list[tuple[int, str, bool]]:
    """``(level, text, at_start)`` for every heading of a markdown cell (outside ``$$`` and code fences)."""
    if cell.cell_type != "markdown":
        return []
    out, seen_text, fenced = [], False, False
    for line in cell.source.splitlines():
        if line.strip() == "$$" or line.strip().startswith("```"):
            fenced = not fenced
        m = None if fenced else _HEADING.match(line)
        if m:
            out.append((len(m.group(1)), m.group(2), not seen_text))
        seen_text = seen_text or bool(line.strip())
    return out


def first_heading(cell: NotebookNode) -> tuple[int, str] | None:
    """``(level, text)`` of the heading a markdown cell starts with (after blank lines), else None."""
    hs = headings(cell)
    return (hs[0][0], hs[0][1]) if hs and hs[0][2] else None


def _figures(cell: NotebookNode) -> int:
    return sum(1 for o in cell.get("outputs", []) if "image/png" in o.get("data", {}))


def _height(cell: NotebookNode) -> int:
    """Rough lines a cell takes on a slide: its source, its text output (capped) and its figures."""
    lines = len(cell.source.splitlines())
    text = sum(len("".join(o.get("text", "")).splitlines()) for o in cell.get("outputs", []))
    return lines + min(text, 10) + FIGURE_LINES * _figures(cell)


@dataclass
class Role:
    section: str  # the ## heading text ("" for the title part)
    deep: bool
    planned: bool


def _role(plan: NotebookPlan | None, title: str) -> Role:
    norm = _norm(title)
    if DEEP_MARKER in norm:
        return Role(title, True, True)
    if norm.split(" ")[0].rstrip(":") in ALWAYS_SELF_STUDY:
        return Role(title, True, True)
    for s in plan.sections if plan else ():
        if s.matches(title):
            return Role(title, s.deep, True)
    return Role(title, False, False)


def plan_for(path: Path) -> NotebookPlan | None:
    return PLAN.get(path.stem)


def roles(nb: NotebookNode, plan: NotebookPlan | None) -> list[Role]:
    """The section role of every cell: the title part is core; ``#``/``##`` headings switch sections.

    A cell belongs to the section in force where it starts; a heading in the middle of a cell
    switches the section from the next cell on (``mid_cell_headings`` lists those).
    """
    current = Role("", False, True)
    out = []
    for cell in nb.cells:
        start = current
        for level, text, at_start in headings(cell):
            if level <= 2:
                current = Role("", False, True) if level == 1 else _role(plan, text)
                if at_start:
                    start = current
        out.append(start)
    return out


def mid_cell_headings(nb: NotebookNode) -> list[str]:
    """Section headings that do not start their cell (such a section cannot start a slide or fold)."""
    return [
        f"cell {i}: heading {text!r} is not at the start of its cell: split the cell there"
        for i, cell in enumerate(nb.cells)
        for level, text, at_start in headings(cell)
        if level <= 2 and not at_start
    ]


# --- apply and check --------------------------------------------------------------------------------


def slide_types(nb: NotebookNode, plan: NotebookPlan | None) -> list[str]:
    """The slide type of every cell under ``plan`` (see the module docstring)."""
    types: list[str] = []
    used = 0
    for cell, role in zip(nb.cells, roles(nb, plan), strict=True):
        h = first_heading(cell)
        height = _height(cell)
        if role.deep:
            types.append("skip")
            continue
        if h is not None and h[0] <= 2 or not types:
            kind = "slide"
        elif h is not None:
            kind = "subslide"
        elif used + height > SLIDE_BUDGET and used > 0:
            kind = "subslide"
        else:
            kind = "-"
        used = height if kind in ("slide", "subslide") else used + height
        types.append(kind)
    return types


def split_at_headings(nb: NotebookNode) -> int:
    """Split markdown cells before every ``#``/``##`` heading that does not start its cell; return how many.

    A section then starts with its own cell, so it can start a slide and JupyterLab can fold it. The
    new cells copy the metadata and get the id ``<id>-<k>``; an already split notebook is unchanged.
    """
    out, added = [], 0
    for cell in nb.cells:
        if cell.cell_type != "markdown" or not any(level <= 2 and not start for level, _, start in headings(cell)):
            out.append(cell)
            continue
        pieces: list[list[str]] = [[]]
        fenced = False
        for line in cell.source.splitlines(keepends=True):
            if line.strip() == "$$" or line.strip().startswith("```"):
                fenced = not fenced
            m = None if fenced else _HEADING.match(line.rstrip("\n"))
            if m and len(m.group(1)) <= 2 and any(t.strip() for t in pieces[-1]):
                pieces.append([])
            pieces[-1].append(line)
        for k, lines in enumerate(pieces):
            piece = nbformat.from_dict(dict(cell)) if k == 0 else nbformat.v4.new_markdown_cell()
            piece.source = "".join(lines).strip("\n")
            if k:
                piece.metadata = nbformat.from_dict(dict(cell.metadata))
                piece.id = f"{cell.get('id', 'cell')}-{k}"[:64]
                added += 1
            out.append(piece)
    nb.cells = out
    return added


def mark_deep_dive(cell: NotebookNode) -> bool:
    """Add " (deep dive)" to the ``##`` heading a deep-dive cell starts with, unless it says so (or is the
    exercises or references); return whether the heading changed."""
    lines = cell.source.splitlines(keepends=True)
    for i, line in enumerate(lines):
        m = _HEADING.match(line.rstrip("\n"))
        if not line.strip():
            continue
        if not m or len(m.group(1)) != 2:
            return False
        norm = _norm(m.group(2))
        if DEEP_MARKER in norm or norm.split(" ")[0].rstrip(":") in ALWAYS_SELF_STUDY:
            return False
        lines[i] = f"{m.group(1)} {m.group(2)} ({DEEP_MARKER})" + ("\n" if line.endswith("\n") else "")
        cell.source = "".join(lines)
        return True
    return False


def apply(nb: NotebookNode, plan: NotebookPlan | None) -> list[str]:
    """Split cells at section headings, set slide types, mark and fold deep-dive headings (in place);
    return warnings."""
    split_at_headings(nb)
    for cell, kind, role in zip(nb.cells, slide_types(nb, plan), roles(nb, plan), strict=True):
        cell.metadata.setdefault("slideshow", NotebookNode())["slide_type"] = kind
        h = first_heading(cell)
        if h is not None and h[0] <= 2 and role.deep:
            mark_deep_dive(cell)
            cell.metadata[COLLAPSED] = True
        else:
            cell.metadata.pop(COLLAPSED, None)
    return unplanned(nb, plan)


def unplanned(nb: NotebookNode, plan: NotebookPlan | None) -> list[str]:
    if plan is None:
        return ["no plan for this notebook: every section treated as core"]
    titles = [text for cell in nb.cells for level, text, _ in headings(cell) if level == 2]
    found = [t for t in titles if not _role(plan, t).planned]
    missing = [s.heading for s in plan.sections if not any(s.matches(t) for t in titles)]
    out = [f"heading not in the plan (shown as core): {h!r}" for h in dict.fromkeys(found)]
    return out + [f"planned section not found: {h!r}" for h in missing] + mid_cell_headings(nb)


def check(nb: NotebookNode, plan: NotebookPlan | None) -> list[str]:
    """Problems with a notebook's stored slide metadata (empty when it follows the plan)."""
    problems = unplanned(nb, plan)
    expected = slide_types(nb, plan)
    for i, (cell, want, role) in enumerate(zip(nb.cells, expected, roles(nb, plan), strict=True)):
        got = cell.metadata.get("slideshow", {}).get("slide_type")
        if got not in SLIDE_TYPES:
            problems.append(f"cell {i}: no valid slideshow.slide_type (got {got!r})")
        elif role.deep and got != "skip":
            problems.append(f"cell {i}: in deep dive {role.section!r} but slide_type {got!r} (expected 'skip')")
        elif got != want:
            problems.append(f"cell {i}: slide_type {got!r}, the plan gives {want!r} (run apply)")
        h = first_heading(cell)
        if h is not None and h[0] <= 2 and role.deep and cell.metadata.get(COLLAPSED) is not True:
            problems.append(f"cell {i}: deep-dive heading {h[1]!r} is not collapsed")
    return problems


def plan_table() -> str:
    """The minute-by-minute plan as a markdown table (start minute, notebook, section, live)."""
    rows = ["| min | notebook | section | live |", "|---:|---|---|---|"]
    t = 0
    for name, p in PLAN.items():
        if p.title_minutes:
            rows.append(f"| {t} | {name} ({p.steps}) | title, setup cell | Run All |")
            t += p.title_minutes
        for s in p.sections:
            if not s.deep and s.minutes:
                rows.append(f"| {t} | {name} | {s.heading} | {s.live} |")
                t += s.minutes
    rows.append(f"| {t} | end | | |")
    return "\n".join(rows)


def self_study_table() -> str:
    rows = ["| notebook | deep dives (min) | exercises (min) |", "|---|---|---:|"]
    for name, p in PLAN.items():
        dives = ", ".join(f"{s.heading} ({s.self_study_minutes})" for s in p.sections if s.deep) or "-"
        rows.append(f"| {name} | {dives} | {p.exercises_minutes} |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lecture_vae.classroom.slides", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("apply", "check", "plan"))
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: notebooks/NN_*.ipynb)")
    args = parser.parse_args(argv)
    if args.command == "plan":
        print(plan_table(), "", self_study_table(), sep="\n")
        return 0
    paths = args.notebooks or default_notebooks()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"notebooks must be existing .ipynb files; not found: {', '.join(missing)}")
    failed = False
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        plan = plan_for(path)
        if args.command == "apply":
            warnings = apply(nb, plan)
            changed = write_if_changed(nb, path)
            print(f"{path}: {'updated' if changed else 'unchanged'}")
        else:
            warnings = check(nb, plan)
            failed |= bool(warnings)
            print(f"{path}: {'ok' if not warnings else f'{len(warnings)} problem(s)'}")
        for w in warnings:
            print(f"  {w}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
