"""Sphinx configuration of the course website (``make site``).

The chapters are the stored notebooks, rendered with their outputs (the outputs nbval checks; nothing
is re-executed). Before the build, ``_prepare`` copies them into ``notebooks/`` here (collapsing
solution cells and adding a line of links to each) and writes the pages taken from ``LECTURE.md`` and
the README into ``generated/``; both folders are build products, not sources to edit.

The Korean edition is built from the same configuration with the tag ``ko`` and the sources in ``ko/``
(``sphinx-build -c docs -t ko docs/ko docs/_build/html/ko``): its chapters are ``notebooks/ko/``, its
pages ``ko/*.md`` and its copies go to ``ko/notebooks/`` and ``ko/generated/``. Every page of either
edition links to the same page of the other one where it exists (``_templates/lang-switch.html``).
"""

from __future__ import annotations

import json
import posixpath
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import lecture_vae  # noqa: E402
from lecture_vae import _project  # noqa: E402

KO = tags.has("ko")  # noqa: F821 (Sphinx puts ``tags`` into this namespace)
SRC = DOCS / "ko" if KO else DOCS  # the edition's source folder (the other edition's pages: ``_pages``)
language = "ko" if KO else "en"  # the theme's own strings (search, contents, ...)

project = "lecture_vae"
author = "the lecture_vae authors"
copyright = "the lecture_vae authors; code MIT, text and figures CC BY 4.0"
version = release = lecture_vae.__version__

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "generated/ways.md"]  # ways.md: part of index.md
if not KO:
    exclude_patterns.append("ko")  # the Korean edition's sources: a build of their own

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
html_title = "변분 오토인코더, 한 단계씩" if KO else "Variational autoencoders, step by step"
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["lang-switch.css"]
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
    "article_header_end": ["lang-switch.html", "article-header-buttons.html"],
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


# The two editions' words (the chapters' text comes from their notebooks).
TEXT = {
    "en": {
        "links": (
            "{{download}}`Download the notebook <{path}>` · [Open in Colab]({colab}) · [Launch on Binder]({binder})"
        ),
        "lecture_note": "",
        "plans_title": "# Study plans\n\n",
        "plans_note": "",
        "chapters": "# Chapters and downloads\n\n| # | chapter | notebook | run it |\n|---|---|---|---|\n",
        "ways": (
            "Three ways in:\n\n"
            "1. **Read** the chapters here, with their figures and outputs as stored (left, in order).\n"
            "2. **Run** a chapter in the cloud: each chapter page has *Open in Colab* and *Launch on Binder* links,\n"
            "   and the notebook's first code cell installs the package when it is missing.\n"
            "3. **Install** it on your own machine: clone [the repository]({repo}) and run\n"
            "   `make lab` (see the [README]({repo}#readme)).\n"
        ),
    },
    "ko": {
        "links": "{{download}}`노트북 내려받기 <{path}>` · [Colab에서 열기]({colab}) · [Binder에서 실행하기]({binder})",
        "lecture_note": (
            "# 강의 요약: S1부터 S8까지\n\n"
            "```{note}\n강의 요약은 영어로만 있습니다. 아래는 저장소의 `LECTURE.md` 원문이고, 장으로 가는 링크는 "
            "한국어판 장을 엽니다.\n```\n\n"
        ),
        "plans_title": "# 학습 계획\n\n",
        "plans_note": (
            "```{note}\n아래는 README.md에 있는 학습 계획을 영어 원문 그대로 실은 것입니다. 노트북 이름과 "
            "단계(S1–S8)는 한국어판 장에도 똑같이 해당합니다.\n```\n\n"
        ),
        "chapters": "# 장 목록과 내려받기\n\n| # | 장 | 노트북 | 실행 |\n|---|---|---|---|\n",
        "ways": (
            "들어가는 세 가지 방법이 있습니다.\n\n"
            "1. **읽기.** 이 사이트에서 모든 장을 저장된 그림·출력과 함께 순서대로 읽습니다(왼쪽 목록).\n"
            "2. **클라우드에서 실행하기.** 각 장의 *Colab에서 열기*, *Binder에서 실행하기* 링크를 누릅니다.\n"
            "   노트북의 첫 번째 code cell이 패키지가 없으면 설치합니다.\n"
            "3. **내 컴퓨터에 설치하기.** [저장소]({repo})를 clone한 뒤 `make lab`을 실행합니다\n"
            "   ([README.ko.md]({readme_ko}) 참고).\n"
        ),
    },
}[language]
NOTEBOOKS = ROOT / "notebooks" / "ko" if KO else ROOT / "notebooks"  # the edition's chapters
NOTEBOOKS_REPO = NOTEBOOKS.relative_to(ROOT).as_posix()  # "notebooks" or "notebooks/ko"


def _colab(name: str) -> str:
    return _project.colab_url(name).replace("/notebooks/", f"/{NOTEBOOKS_REPO}/")


def _binder(name: str) -> str:
    return _project.binder_url(name).replace("notebooks%2F", NOTEBOOKS_REPO.replace("/", "%2F") + "%2F")


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
    download = posixpath.relpath(f"{NOTEBOOKS_REPO}/{name}", (SRC / "notebooks").relative_to(ROOT).as_posix())
    links = TEXT["links"].format(path=download, colab=_colab(name), binder=_binder(name))
    cell = {"cell_type": "markdown", "id": "site-links", "metadata": {"tags": ["site-links"]}, "source": links}
    first = 1 if nb["cells"] and nb["cells"][0]["cell_type"] == "markdown" else 0
    nb["cells"].insert(first, cell)
    return nb


_LINK = re.compile(r"(!?\[[^\]]*\])\(([^)\s]+)\)")


def _notebook_link(m: re.Match) -> str:
    """A notebook's link out of its folder (``../LECTURE.md``): the site's lecture page, or the repository."""
    label, target = m.groups()
    if not target.startswith("../"):
        return m.group(0)
    path = posixpath.normpath(posixpath.join(NOTEBOOKS_REPO, target.split("#")[0]))
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


def _lecture_page() -> str:
    lecture = ROOT / "LECTURE.md"
    if not lecture.is_file():
        url = _project.source_url("LECTURE.md")
        if KO:
            return f"# 강의 요약\n\n강의의 단계 S1–S8은 [LECTURE.md]({url})에 요약되어 있습니다.\n"
        return f"# The lecture\n\nThe lecture's steps S1..S8 are summarized in [LECTURE.md]({url}).\n"
    text = _rewrite_links(lecture.read_text(encoding="utf-8"), "LECTURE.md")
    if KO:  # the English text under a Korean title: its own title becomes the first line
        text = TEXT["lecture_note"] + re.sub(r"\A#\s+(.+)\n", r"**\1**\n", text)
    return text


def _prepare() -> list[tuple[str, str]]:
    """Copy the chapters and write the generated pages; return the chapters as (name, title)."""
    chapters = []
    out = SRC / "notebooks"
    out.mkdir(exist_ok=True)
    wanted = set()
    for path in sorted(NOTEBOOKS.glob(NOTEBOOK_GLOB)):
        nb = json.loads(path.read_text(encoding="utf-8"))
        chapters.append((path.stem, _title(nb)))
        wanted.add(path.name)
        text = json.dumps(_site_notebook(nb, path.name), indent=1, ensure_ascii=False) + "\n"
        _write_if_changed(out / path.name, text)
    for stale in out.glob("*.ipynb"):
        if stale.name not in wanted:
            stale.unlink()

    _write_if_changed(SRC / "generated" / "lecture.md", _lecture_page())

    plans = _rewrite_links(_readme_plans(), "README.md")
    body = plans.replace("\n## ", "\n## ") if plans else f"See the [README]({_project.REPOSITORY_URL}#readme).\n"
    _write_if_changed(SRC / "generated" / "plans.md", TEXT["plans_title"] + TEXT["plans_note"] + body)

    download = posixpath.relpath(NOTEBOOKS_REPO, (SRC / "generated").relative_to(ROOT).as_posix())
    rows = [
        f"| {i} | [{title}](../notebooks/{name}.ipynb) | {{download}}`{name}.ipynb <{download}/{name}.ipynb>` "
        f"| [Colab]({_colab(name + '.ipynb')}) |"
        for i, (name, title) in enumerate(chapters)
    ]
    _write_if_changed(SRC / "generated" / "chapters.md", TEXT["chapters"] + "\n".join(rows) + "\n")
    ways = TEXT["ways"].format(repo=_project.REPOSITORY_URL, readme_ko=_project.source_url("README.ko.md"))
    _write_if_changed(SRC / "generated" / "ways.md", ways)
    return chapters


def _pages(src: Path, notebooks: Path) -> set[str]:
    """The page names of an edition: its hand-written pages, the generated ones and its chapters."""
    written = {p.relative_to(src).with_suffix("").as_posix() for p in src.glob("*.md")}
    generated = {"generated/lecture", "generated/plans", "generated/chapters", "genindex", "search"}
    return written | generated | {f"notebooks/{p.stem}" for p in notebooks.glob(NOTEBOOK_GLOB)}


# The language switch: the other edition's root, seen from this edition's root, and its pages.
OTHER = {"root": "../" if KO else "ko/", "label": "English" if KO else "한국어", "lang": "en" if KO else "ko"}
OTHER_PAGES = _pages(DOCS, ROOT / "notebooks") if KO else _pages(DOCS / "ko", ROOT / "notebooks" / "ko")


def _lang_switch(app, pagename, templatename, context, doctree) -> None:
    """The link to this page in the other edition (its front page when it has no such page)."""
    target = pagename if pagename in OTHER_PAGES else "index"
    context["lang_switch"] = dict(OTHER, url=context["pathto"](OTHER["root"] + target + ".html", 1))


def _korean_launch_links(app, pagename, templatename, context, doctree) -> None:
    """The theme's Colab/Binder buttons name ``notebooks/<page>``: the Korean chapters are ``notebooks/ko/``."""

    def fix(buttons: list) -> None:
        for button in buttons:
            url = button.get("url", "")
            if url.startswith("https://") and pagename.startswith("notebooks/"):
                url = url.replace("/notebooks/", "/notebooks/ko/")
                button["url"] = url.replace("notebooks%2F", "notebooks%2Fko%2F")
            fix(button.get("buttons", []))

    fix(context.get("header_buttons", []))


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
    app.connect("html-page-context", _lang_switch)
    if KO:
        app.connect("html-page-context", _korean_launch_links, priority=600)  # after the theme's buttons (501)


CHAPTERS = _prepare()
