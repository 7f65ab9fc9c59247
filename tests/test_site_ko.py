"""The website's Korean edition (`make site` builds it into ko/): every Korean chapter a page, in order,
with exactly its notebook's pictures; a language switch on every page of both editions that opens an
existing page (the same chapter where there is one); and, in headless Chromium with every request outside
the site blocked, a Korean chapter whose formulas typeset, figures load and Hangul renders with a real
font (not the boxes a missing font draws).

Screenshots (1366x768) go to test-artifacts/site/ko_*.png. The build is conftest.py's `site_html`.
"""

from __future__ import annotations

import hashlib
import html
import posixpath
import re
from pathlib import Path

import pytest
from test_site import _notebook, _png_hashes, offline_page

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_KO = sorted((ROOT / "notebooks" / "ko").glob("[0-9][0-9]_*.ipynb"))
SWITCH = re.compile(r'<a class="btn btn-sm lang-switch" href="([^"]+)" hreflang="(en|ko)"')
HANGUL = re.compile(r"[\uac00-\ud7a3]")
NOT_PAGES = {"_static", "_sources", "_images", "_downloads"}


def _title(nb: dict) -> str:
    for cell in nb["cells"]:
        m = re.search(r"^#\s+(.+)$", "".join(cell["source"]), re.M) if cell["cell_type"] == "markdown" else None
        if m:
            return m.group(1).strip()
    raise AssertionError("a notebook without a '# Title'")


def _pages(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.html") if not NOT_PAGES & set(p.relative_to(root).parts)]


def test_korean_edition_is_korean_with_every_chapter_in_order(site_html: Path):
    ko = site_html / "ko"
    assert [p.name for p in NOTEBOOKS_KO] == [p.name for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    index = (ko / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ko"' in index and HANGUL.search(re.search(r"<title>(.*?)</title>", index, re.S).group(1))
    linked = re.findall(r'href="notebooks/(\d\d_[\w-]+)\.html"', index)
    assert list(dict.fromkeys(linked)) == [p.stem for p in NOTEBOOKS_KO]
    for path in NOTEBOOKS_KO:
        title = _title(_notebook(path))
        assert HANGUL.search(title), f"{path.name}: its title is not Korean"
        page = (ko / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
        h1 = html.unescape(re.sub(r"<[^>]+>", "", re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)))
        assert h1.startswith(title.split("$")[0].strip())
    for name in ("generated/lecture", "generated/plans", "generated/chapters", "api"):
        assert HANGUL.search(re.search(r"<h1>(.*?)</h1>", (ko / f"{name}.html").read_text(encoding="utf-8")).group(1))


@pytest.mark.parametrize("path", NOTEBOOKS_KO, ids=[p.stem for p in NOTEBOOKS_KO])
def test_korean_chapter_shows_its_notebooks_outputs(site_html: Path, path: Path):
    nb = _notebook(path)
    ko = site_html / "ko"
    page = (ko / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
    shown = re.findall(r'<img [^>]*src="\.\./_images/([0-9a-f]{64})\.png"', page)
    assert sorted(shown) == sorted(_png_hashes(nb)), "the page's figures differ from the notebook's outputs"
    for name in shown:
        assert hashlib.sha256((ko / "_images" / f"{name}.png").read_bytes()).hexdigest() == name
    solutions = sum(1 for c in nb["cells"] if c["cell_type"] == "code" and "solution" in c["metadata"].get("tags", []))
    assert len(re.findall(r'class="cell tag_solution[^"]*tag_hide-input', page)) == solutions
    # the download is the Korean notebook, byte for byte; Colab and Binder open the Korean notebook too
    links = re.findall(r'<a class="reference download internal" download="" href="\.\./(_downloads/\w+/[^"]+)"', page)
    assert len(links) == 1 and (ko / links[0]).read_bytes() == path.read_bytes()
    launch = set(re.findall(r'href="(https://(?:colab\.research\.google\.com|mybinder\.org)/[^"]+)"', page))
    assert launch and all("notebooks/ko/" in u or "notebooks%2Fko%2F" in u for u in launch)  # 00 links every chapter
    assert any(f"notebooks/ko/{path.name}" in u for u in launch) and any(f"%2Fko%2F{path.name}" in u for u in launch)


def test_language_switch_on_every_page_opens_the_same_page_in_the_other_edition(site_html: Path):
    chapters = {f"notebooks/{p.stem}.html" for p in NOTEBOOKS_KO}
    checked = 0
    for edition, other in ((site_html, site_html / "ko"), (site_html / "ko", site_html)):
        for page in _pages(edition):
            if edition == site_html and "ko" in page.relative_to(site_html).parts[:1]:
                continue
            switches = SWITCH.findall(page.read_text(encoding="utf-8"))
            name = page.relative_to(edition).as_posix()
            assert len(switches) == 1, f"{page}: {len(switches)} language switches"
            href, lang = switches[0]
            assert lang == ("ko" if edition == site_html else "en")
            target = Path(posixpath.normpath(posixpath.join(page.parent.as_posix(), href)))
            assert target.is_file(), f"{page}: the switch {href} opens nothing"
            expected = other / name if (other / name).is_file() else other / "index.html"
            assert target == expected, f"{page}: the switch opens {target}, not {expected}"
            checked += name in chapters
    assert checked == 2 * len(chapters)


# Hangul against U+FFFF on a canvas with the element's own font: the widths are equal exactly when the
# font has no Hangul glyphs (document.fonts.check() says true even then).
GLYPHS = """() => {
  const els = [...document.querySelectorAll('article h1, article p')];
  const el = els.find(e => /[\\uac00-\\ud7a3]{2}/.test(e.textContent));
  const word = el.textContent.match(/[\\uac00-\\ud7a3]{2}/)[0];
  const s = getComputedStyle(el);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
  return {word, font: ctx.font, hangul: ctx.measureText(word).width, missing: ctx.measureText('\\uffff\\uffff').width};
}"""


@pytest.mark.browser
def test_korean_pages_render_offline_in_chromium(served: str, site_html: Path):
    artifacts = ROOT / "test-artifacts" / "site"
    artifacts.mkdir(parents=True, exist_ok=True)
    with offline_page(served, 1366, 768) as (page, errors, _failed, blocked):
        for name in ("index", "notebooks/05_elbo"):
            page.goto(f"{served}/ko/{name}.html", wait_until="load")
            page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=30_000)
            page.wait_for_function("!document.querySelector('.math:not(:has(mjx-container))')", timeout=30_000)
            page.wait_for_function("[...document.images].every(i => i.complete)", timeout=30_000)
            page.evaluate("document.fonts.ready.then(() => true)")
            broken = page.evaluate("[...document.images].filter(i => i.naturalWidth === 0).map(i => i.src)")
            assert broken == [], f"ko/{name}: images that did not load: {broken}"
            glyphs = page.evaluate(GLYPHS)
            assert glyphs["hangul"] != glyphs["missing"], f"ko/{name}: Hangul draws as missing glyphs: {glyphs}"
            switch = page.locator("a.lang-switch")
            assert switch.count() == 1 and switch.is_visible() and switch.inner_text().strip() == "English"
            page.screenshot(path=str(artifacts / f"ko_{name.replace('/', '_')}.png"))
        if page.locator("mjx-container").count() == 0:
            pytest.fail("the Korean chapter shows no typeset formula")
        images = page.evaluate("[...document.images].filter(i => i.closest('.cell_output')).length")
        assert images == len(_png_hashes(_notebook(ROOT / "notebooks" / "ko" / "05_elbo.ipynb")))
        page.locator("a.lang-switch").click()
        page.wait_for_load_state("load")
        assert page.url == f"{served}/notebooks/05_elbo.html"
        assert errors == [], f"console errors: {errors}"
        assert blocked == [], f"the site asked for outside resources: {sorted(set(blocked))}"
