"""Sphinx configuration of the course website (``make site``).

The chapters are the stored notebooks, rendered with their outputs (the outputs nbval checks; nothing
is re-executed). Before the build, ``_prepare`` copies them into ``notebooks/`` here (collapsing
solution cells and adding a line of links to each) and writes the pages taken from ``LECTURE.md`` and
the README into ``generated/``; both folders are build products, not sources to edit.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import lecture_vae  # noqa: E402
from lecture_vae import _project  # noqa: E402

project = "lecture_vae"
author = "the lecture_vae authors"
copyright = "the lecture_vae authors; code MIT, text and figures CC BY 4.0"
version = release = lecture_vae.__version__

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "generated/ways.md"]  # ways.md: part of index.md

# Chapters: the stored outputs, never re-executed.
nb_execution_mode = "off"
# An explorer's output carries a widget view and a picture: the site shows the picture (a widget without
# a kernel is a dead slider), and a stored progress bar shows its text.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_dmath_double_inline = True
myst_heading_anchors = 3

# Maths offline: a local MathJax 3 (``make site`` copies it from the npm package into _static/mathjax).
mathjax_path = "mathjax/tex-mml-chtml.js"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}

html_theme = "sphinx_book_theme"
html_title = "Variational autoencoders, step by step"
html_static_path = ["_static"]
html_sourcelink_suffix = ""
html_last_updated_fmt = None
html_context = {"default_mode": "light"}
html_theme_options = {
    "repository_url": _project.REPOSITORY_URL,
    "repository_branch": _project.BRANCH,
    "path_to_docs": "",  # chapter pages are notebooks/NN_*.ipynb, as in the repository
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com", "binderhub_url": "https://mybinder.org"},
    "show_toc_level": 2,
}

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
SOLUTION_TAGS = ("hide-input",)


def _title(nb: dict) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            m = re.search(r"^#\s+(.+)$", "".join(cell["source"]), re.M)
            if m:
                return m.group(1).strip()
    raise ValueError("every notebook must start with a '# Title' markdown heading")


def _site_notebook(nb: dict, name: str) -> dict:
    """The site's copy of a notebook: solutions and hidden sources collapsed, a line of links added."""
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        hidden = cell["metadata"].get("jupyter", {}).get("source_hidden", False)
        if cell["cell_type"] == "code" and ("solution" in tags or "setup" in tags or hidden):
            tags.extend(t for t in SOLUTION_TAGS if t not in tags)
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = _LINK.sub(_notebook_link, source)
    links = (
        f"{{download}}`Download the notebook <../../notebooks/{name}>` · "
        f"[Open in Colab]({_project.colab_url(name)}) · "
        f"[Launch on Binder]({_project.binder_url(name)})"
    )
    cell = {"cell_type": "markdown", "id": "site-links", "metadata": {"tags": ["site-links"]}, "source": links}
    first = 1 if nb["cells"] and nb["cells"][0]["cell_type"] == "markdown" else 0
    nb["cells"].insert(first, cell)
    return nb


_LINK = re.compile(r"(!?\[[^\]]*\])\(([^)\s]+)\)")


def _notebook_link(m: re.Match) -> str:
    """A notebook's link out of ``notebooks/`` (``../LECTURE.md``): the site's lecture page, or the repository."""
    label, target = m.groups()
    if not target.startswith("../"):
        return m.group(0)
    path = target[3:].split("#")[0]
    if path == "LECTURE.md":
        return f"{label}(../generated/lecture.md)"
    return f"{label}({_project.source_url(path)})"


def _rewrite_links(text: str, source: str) -> str:
    """Links of a repository markdown file, made right for a page in generated/: chapters stay on the site,
    other repository paths go to the repository, anchors and absolute URLs stay."""

    def fix(m: re.Match) -> str:
        label, target = m.groups()
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#", target):
            return m.group(0)
        path = (Path(source).parent / target.split("#")[0]).as_posix().lstrip("./")
        nb = re.fullmatch(r"notebooks/(\d\d_[\w-]+)\.ipynb", path)
        if nb:
            return f"{label}(../notebooks/{nb.group(1)}.ipynb)"
        return f"{label}({_project.source_url(path)})"

    return _LINK.sub(fix, text)


def _readme_plans() -> str:
    """The README's sections for lecturers and for self-study (level-2 headings naming them)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sections = re.split(r"(?m)^(?=## )", readme)
    chosen = [s for s in sections if re.match(r"## .*(lectur|self-stud|teach)", s, re.I)]
    return "".join(chosen)


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _prepare() -> list[tuple[str, str]]:
    """Copy the chapters and write the generated pages; return the chapters as (name, title)."""
    chapters = []
    out = DOCS / "notebooks"
    out.mkdir(exist_ok=True)
    wanted = set()
    for path in sorted((ROOT / "notebooks").glob(NOTEBOOK_GLOB)):
        nb = json.loads(path.read_text(encoding="utf-8"))
        chapters.append((path.stem, _title(nb)))
        wanted.add(path.name)
        text = json.dumps(_site_notebook(nb, path.name), indent=1, ensure_ascii=False) + "\n"
        _write_if_changed(out / path.name, text)
    for stale in out.glob("*.ipynb"):
        if stale.name not in wanted:
            stale.unlink()

    lecture = ROOT / "LECTURE.md"
    if lecture.is_file():
        text = _rewrite_links(lecture.read_text(encoding="utf-8"), "LECTURE.md")
    else:
        url = _project.source_url("LECTURE.md")
        text = f"# The lecture\n\nThe lecture's steps S1..S8 are summarized in [LECTURE.md]({url}).\n"
    _write_if_changed(DOCS / "generated" / "lecture.md", text)

    plans = _rewrite_links(_readme_plans(), "README.md")
    body = plans.replace("\n## ", "\n## ") if plans else f"See the [README]({_project.REPOSITORY_URL}#readme).\n"
    _write_if_changed(DOCS / "generated" / "plans.md", "# Study plans\n\n" + body)

    rows = [
        f"| {i} | [{title}](../notebooks/{name}.ipynb) | {{download}}`{name}.ipynb <../../notebooks/{name}.ipynb>` "
        f"| [Colab]({_project.colab_url(name + '.ipynb')}) |"
        for i, (name, title) in enumerate(chapters)
    ]
    table = "| # | chapter | notebook | run it |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    _write_if_changed(DOCS / "generated" / "chapters.md", "# Chapters and downloads\n\n" + table)
    ways = (
        "Three ways in:\n\n"
        "1. **Read** the chapters here, with their figures and outputs as stored (left, in order).\n"
        "2. **Run** a chapter in the cloud: each chapter page has *Open in Colab* and *Launch on Binder* links,\n"
        "   and the notebook's first code cell installs the package when it is missing.\n"
        f"3. **Install** it on your own machine: clone [the repository]({_project.REPOSITORY_URL}) and run\n"
        f"   `make lab` (see the [README]({_project.REPOSITORY_URL}#readme)).\n"
    )
    _write_if_changed(DOCS / "generated" / "ways.md", ways)
    return chapters


def _rst_problems(text: str) -> list[str]:
    """docutils' warnings and errors for a docstring parsed on its own (Sphinx roles and directives allowed)."""
    import io

    from docutils.core import publish_doctree

    stream = io.StringIO()
    try:
        publish_doctree(text, settings_overrides={"warning_stream": stream, "report_level": 2, "halt_level": 5})
    except Exception:  # a Sphinx role needs Sphinx's environment: reStructuredText meant for Sphinx
        return []
    sphinx_only = ("Unknown interpreted text role", "Unknown directive type", "No role entry", "No directive entry")
    return [
        line
        for line in stream.getvalue().splitlines()
        if "(WARNING" in line or "(ERROR" in line
        if not any(s in line for s in sphinx_only)
    ]


def _plain_when_not_rst(app, what, name, obj, options, lines) -> None:
    """Show a docstring that is not valid reStructuredText (a Markdown table, ``|x|``) as preformatted text."""
    if lines and _rst_problems("\n".join(lines)):
        lines[:] = ["::", ""] + ["    " + line for line in lines] + [""]


def setup(app) -> None:
    app.set_html_assets_policy("always")  # MathJax on every page: chapter titles in the sidebar hold maths
    app.connect("autodoc-process-docstring", _plain_when_not_rst, priority=900)


CHAPTERS = _prepare()
