"""The classroom in a real browser (JupyterLab + headless Chromium): opening a notebook never marks
it modified, the settings override of `make lab` keeps the news pop-up away, Hangul renders with a
real font, and a notebook runs as live RISE slides (a code cell run on a slide shows its output).

One JupyterLab serves a copy of notebooks/ for the whole module; screenshots go to
test-artifacts/browser/classroom/. Skipped only when Chromium is missing, and never in CI.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from test_browser import CHROMIUM_ARGS, chromium, serve_lab  # noqa: F401  (chromium is a fixture)

from lecture_vae.classroom import slides

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SLIDES_NOTEBOOK = "05_elbo.ipynb"
LIVE_CELL = 'print(f"live on a slide: log 2 = {math.log(2):.4f}")'  # needs the setup cell's `import math`
# RISE cannot render ipywidgets: an explorer shows the PNG of its state there instead of a dead slider
EXPLORER_CELL = "from lecture_vae.classroom import widgets\n\nwidgets.ReparamExplorer()"
# every cell kept in the DOM, so a test can find any of them (the news setting comes from the override)
USER_SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"}}
HANGUL = r"/[\uac00-\ud7a3]+/"


class Lab:
    def __init__(self, url: str, token: str, root: Path) -> None:
        self.url, self.token, self.root = url, token, root

    def page_url(self, path: str, app: str = "lab/tree") -> str:
        return f"{self.url}/{app}/{path}?token={self.token}"

    def api(self, path: str, method: str = "GET") -> object:
        req = urllib.request.Request(f"{self.url}/{path}", method=method)
        req.add_header("Authorization", f"token {self.token}")
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def stop_kernels(self) -> None:
        for session in self.api("api/sessions"):  # type: ignore[union-attr]
            self.api(f"api/sessions/{session['id']}", method="DELETE")


def _imports_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.cell_type == "code" and "setup" not in c.metadata.get("tags", []))


def _slide_positions(nb: nbformat.NotebookNode) -> dict[str, str]:
    """reveal.js's ``h-v`` position of every cell shown on the slides, from its slide type."""
    h, v, out = -1, 0, {}
    for c in nb.cells:
        kind = c.metadata.slideshow.slide_type
        if kind == "skip":
            continue
        if kind == "slide" or h < 0:
            h, v = h + 1, 0
        elif kind == "subslide":
            v += 1
        out[c.id] = f"{h}-{v}"
    return out


def _slides_copy(src: Path, dst: Path) -> None:
    """``src`` with the slide plan applied, its first code cell (the setup) and a short live cell unrun."""
    nb = nbformat.read(src, as_version=4)
    slides.apply(nb, slides.plan_for(src))
    setup = next(  # the imports cell (the Colab install cell before it is tagged "setup")
        i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "setup" not in c.metadata.get("tags", [])
    )
    live = nbformat.v4.new_code_cell(LIVE_CELL, id="live-cell")
    live.metadata["slideshow"] = {"slide_type": "subslide"}
    explorer = nbformat.v4.new_code_cell(EXPLORER_CELL, id="explorer-cell")
    explorer.metadata["slideshow"] = {"slide_type": "subslide"}
    nb.cells[setup + 1 : setup + 1] = [live, explorer]
    nb.cells[setup].outputs, nb.cells[setup].execution_count = [], None
    nbformat.write(nb, dst)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Iterator[Lab]:
    """JupyterLab on a copy of the repository's notebooks/ (and a slides copy of one), with the
    application settings override that `make lab` installs."""
    tmp = tmp_path_factory.mktemp("classroom")
    root = tmp / "repo"
    shutil.copytree(repo_root / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (root / "slides").mkdir()
    _slides_copy(repo_root / "notebooks" / SLIDES_NOTEBOOK, root / "slides" / SLIDES_NOTEBOOK)
    shutil.copy(repo_root / "notebooks" / "rise.css", root / "slides" / "rise.css")  # RISE reads it beside the notebook
    (tmp / "app-settings").mkdir()
    shutil.copy(repo_root / "jupyter-lab-overrides.json", tmp / "app-settings" / "overrides.json")
    extra = (f"--LabApp.app_settings_dir={tmp / 'app-settings'}",)
    with serve_lab(tmp, root, USER_SETTINGS, extra) as (url, token):
        yield Lab(url, token, root)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[object]:  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def artifacts(repo_root: Path) -> Path:
    out = repo_root / "test-artifacts" / "browser" / "classroom"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_make_lab_override_turns_off_the_news_pop_up(lab: Lab):
    """overrides.json replaces the schema's defaults (JupyterLab's own: fetchNews "none", which asks)."""
    settings = lab.api("lab/api/settings/@jupyterlab/apputils-extension:notification")
    defaults = {k: v.get("default") for k, v in settings["schema"]["properties"].items()}  # type: ignore[index]
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False


def test_opening_a_notebook_never_modifies_it(lab: Lab, browser, artifacts: Path):
    """Each notebook in turn, in one JupyterLab page: open it, let its kernel start (JupyterLab then
    compares the kernelspec), wait a few seconds; the tab must not be dirty and the file unchanged.
    Also the slides version (deep dives folded by "jp-MarkdownHeadingCollapsed"): folded on opening,
    and still unmodified."""
    paths = [f"notebooks/{p.name}" for p in NOTEBOOKS] + ["notebooks/ko/05_elbo.ipynb", f"slides/{SLIDES_NOTEBOOK}"]
    before = {p: _digest(lab.root / p) for p in paths}
    hidden: dict[str, int] = {}
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    dirty, toasts = [], []
    try:
        page.goto(lab.page_url("notebooks"))
        page.wait_for_function("() => window.jupyterapp?.commands.hasCommand('docmanager:open')", timeout=60_000)
        page.evaluate("() => window.jupyterapp.restored")
        for rel in paths:
            path = Path(rel)
            page.evaluate("p => window.jupyterapp.commands.execute('docmanager:open', {path: p})", rel)
            tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
            page.wait_for_function(
                "name => document.querySelector('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current')"
                "?.textContent.includes(name)",
                arg=path.name,
                timeout=30_000,
            )
            page.wait_for_selector("text=| Idle", timeout=60_000)  # its kernel is up: kernelspec compared
            page.wait_for_timeout(2500)  # a few seconds for any metadata update to land
            page.screenshot(path=str(artifacts / f"open_{path.parent.name}_{path.stem}_1366.png"))
            hidden[rel] = page.evaluate(
                "() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')]"
                ".filter(c => c.offsetParent === null).length"
            )
            if "jp-mod-dirty" in (tab.get_attribute("class") or ""):
                dirty.append(rel)
            if page.locator(".Toastify__toast").count():
                toasts.append(rel)
            page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
            page.wait_for_timeout(300)
            lab.stop_kernels()
    finally:
        page.close()
        lab.stop_kernels()
    assert not dirty, f"opening marked these notebooks modified: {dirty}"
    assert not toasts, f"a notification covered the view of: {toasts}"
    assert {p: _digest(lab.root / p) for p in paths} == before
    skipped = nbformat.read(lab.root / "slides" / SLIDES_NOTEBOOK, as_version=4).cells
    folded = [c for c in skipped if c.metadata.get("slideshow", {}).get("slide_type") == "skip"]
    folded_headings = [c for c in folded if c.metadata.get("jp-MarkdownHeadingCollapsed")]
    assert hidden[f"slides/{SLIDES_NOTEBOOK}"] == len(folded) - len(folded_headings), hidden


@pytest.mark.parametrize(
    ("notebook", "width", "height", "selector", "shot"),
    [
        ("notebooks/00_overview.ipynb", 1920, 1080, ".jp-RenderedMarkdown table", "glossary_1920.png"),
        ("notebooks/ko/05_elbo.ipynb", 1366, 768, ".jp-RenderedMarkdown p", "ko_05_elbo_1366.png"),
    ],
    ids=["glossary", "korean-edition"],
)
def test_korean_text_renders_with_a_real_font(
    lab: Lab, browser, artifacts: Path, notebook, width, height, selector, shot
):
    """The glossary of 00 and a notebook of the Korean edition: a missing glyph measures as wide as U+FFFF
    on a canvas; real Hangul does not (document.fonts.check says yes either way)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(lab.page_url(notebook, app="lab/tree"))
        page.wait_for_selector(selector, state="attached", timeout=60_000)  # a folded section is not visible
        page.wait_for_timeout(1000)
        cells = page.evaluate(
            """(hangul) => {
              const re = new RegExp(hangul.slice(1, -1), 'u');
              const canvas = document.createElement('canvas').getContext('2d');
              return [...document.querySelectorAll('.jp-RenderedMarkdown td, .jp-RenderedMarkdown p')]
                .filter(e => re.test(e.textContent) && e.children.length === 0)
                .map(e => { const cs = getComputedStyle(e); canvas.font = cs.fontSize + ' ' + cs.fontFamily;
                  const word = e.textContent.match(re)[0];
                  return {word, width: canvas.measureText(word).width,
                          missing: canvas.measureText('\\uFFFF'.repeat(word.length)).width}; });
            }""",
            HANGUL,
        )
        page.evaluate(
            """(hangul) => { const re = new RegExp(hangul.slice(1, -1), 'u');
              const shown = [...document.querySelectorAll('.jp-RenderedMarkdown td, .jp-RenderedMarkdown p')]
                .filter(e => re.test(e.textContent) && e.offsetParent !== null);
              if (shown.length) shown[0].scrollIntoView(); }""",
            HANGUL,
        )
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / shot))
    finally:
        page.close()
        lab.stop_kernels()
    assert len(cells) >= 10, f"expected Korean text in {notebook}, found {len(cells)} Hangul elements"
    tofu = [c["word"] for c in cells if abs(c["width"] - c["missing"]) < 0.01]
    assert not tofu, f"Hangul drawn as missing glyphs (install fonts-noto-cjk or fonts-nanum): {tofu[:5]}"


@pytest.mark.parametrize("viewport", [(1366, 768), (1920, 1080)], ids=["laptop", "projector"])
def test_a_notebook_runs_as_live_slides(lab: Lab, browser, artifacts: Path, viewport: tuple[int, int]):
    nb = nbformat.read(lab.root / "slides" / SLIDES_NOTEBOOK, as_version=4)
    shown = [c for c in nb.cells if c.metadata.slideshow.slide_type != "skip"]
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    name = f"{viewport[0]}"
    try:
        page.goto(lab.page_url(f"slides/{SLIDES_NOTEBOOK}", app="rise"))
        page.wait_for_selector(".reveal .slides section", timeout=60_000)
        page.wait_for_timeout(2000)
        n_slides = page.evaluate("() => document.querySelectorAll('.reveal .slides > section').length")
        assert n_slides == sum(c.metadata.slideshow.slide_type == "slide" for c in shown)
        page.screenshot(path=str(artifacts / f"slides_title_{name}.png"))
        for h in range(1, 3):  # advance a few slides: each shows its section heading
            page.evaluate(f"location.hash = '#/slide-{h}-0'")
            page.wait_for_timeout(800)
            assert page.locator(".reveal section.present h2").first.is_visible()
        page.screenshot(path=str(artifacts / f"slides_section_{name}.png"))
        # notebooks/rise.css: body text of at least 17 px on a laptop, larger on a projector
        text_px = page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector("
            "'.reveal section.present .jp-RenderedHTMLCommon p')).fontSize)"
        )
        assert text_px >= (17 if viewport[0] < 1600 else 22), f"slide text is {text_px}px at {viewport}"

        where = _slide_positions(nb)
        steps = (
            (where[_imports_cell(nb).id], _imports_cell(nb).source.splitlines()[0]),  # "import math"
            (where["explorer-cell"], "from lecture_vae.classroom"),
            (where["live-cell"], "print("),
        )
        for slide, source_start in steps:  # the imports cell, an explorer, then the live cell
            page.evaluate(f"location.hash = '#/slide-{slide}'")
            page.wait_for_function(  # the slide in view shows the expected cell
                "s => [...document.querySelectorAll('.reveal section.present .jp-CodeCell .cm-content')]"
                ".some(e => e.textContent.startsWith(s))",
                arg=source_start,
                timeout=10_000,
            )
            cell = page.locator(".reveal section.present .jp-CodeCell").filter(has_text=source_start).first
            cell.locator(".cm-content").click()
            page.keyboard.press("Control+Enter")  # run in place (Shift+Enter would also advance)
            page.wait_for_function(
                "s => [...document.querySelectorAll('.reveal section.present .jp-CodeCell')]"
                ".some(c => c.querySelector('.cm-content').textContent.startsWith(s)"
                " && /\\[\\d+\\]/.test(c.querySelector('.jp-InputPrompt').textContent))",
                arg=source_start,
                timeout=60_000,
            )
        live = page.locator(".reveal section.present .jp-CodeCell").filter(has_text="print(")
        output = live.locator(".jp-OutputArea-output").first
        output.wait_for(timeout=20_000)
        page.screenshot(path=str(artifacts / f"slides_live_{name}.png"))
        assert output.inner_text().strip() == "live on a slide: log 2 = 0.6931"
        assert output.is_visible()
        box, slide = output.bounding_box(), page.viewport_size
        assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= slide["height"]

        page.evaluate("location.hash = '#/slide-0-3'")
        picture = page.locator(".reveal section.present .jp-OutputArea-output img").first
        picture.wait_for(timeout=20_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / f"slides_explorer_{name}.png"))
        assert picture.evaluate("i => i.complete && i.naturalWidth") >= 1500  # the 2x PNG of the explorer
    finally:
        page.close()
        lab.stop_kernels()
