"""The course website (`make site`): built with warnings as errors from the stored notebooks, every
chapter in order with exactly its notebook's pictures, and, in headless Chromium with every request
outside the site blocked, figures that load, formulas that MathJax typesets and no console error.

Screenshots go to test-artifacts/site/. The local MathJax comes from npm (`make mathjax`); without npm
or Chromium the test is skipped here, and fails in CI.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must build and check the website")
    pytest.skip(reason)


def _notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _png_hashes(nb: dict) -> list[str]:
    """sha256 of every PNG a notebook's outputs show (myst-nb names the site's copies by it)."""
    return [
        hashlib.sha256(base64.b64decode(out["data"]["image/png"])).hexdigest()
        for cell in nb["cells"]
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]


@pytest.fixture(scope="module")
def site(site_html: Path) -> Path:
    """The website, built from scratch with `-W` (any warning fails the build); conftest.py builds it."""
    return site_html


def test_every_chapter_is_a_page_in_order(site: Path):
    index = (site / "index.html").read_text(encoding="utf-8")
    linked = re.findall(r'href="notebooks/(\d\d_[\w-]+)\.html"', index)
    assert list(dict.fromkeys(linked)) == [p.stem for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        title = next(
            re.search(r"^#\s+(.+)$", "".join(c["source"]), re.M).group(1)
            for c in _notebook(path)["cells"]
            if c["cell_type"] == "markdown" and re.search(r"^#\s", "".join(c["source"]), re.M)
        )
        page = (site / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
        h1 = html.unescape(re.sub(r"<[^>]+>", "", re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)))
        plain = str.maketrans("\u2018\u2019\u201c\u201d", "''\"\"")
        assert path.stem[:2] in title and h1.translate(plain).startswith(title.split("$")[0].strip())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_shows_its_notebooks_outputs(site: Path, path: Path):
    nb = _notebook(path)
    page = (site / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
    shown = re.findall(r'<img [^>]*src="\.\./_images/([0-9a-f]{64})\.png"', page)
    assert sorted(shown) == sorted(_png_hashes(nb)), "the page's figures differ from the notebook's outputs"
    for name in shown:
        data = (site / "_images" / f"{name}.png").read_bytes()
        assert hashlib.sha256(data).hexdigest() == name
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            lines = "".join(out.get("text", "")).strip().splitlines()
            if out.get("output_type") == "stream" and lines and "\r" not in lines[0]:
                assert lines[0].strip() in text, f"stream output {lines[0]!r} is missing from the page"
    # collapsed solutions: every solution code cell sits in a hidden-input block
    solutions = sum(1 for c in nb["cells"] if c["cell_type"] == "code" and "solution" in c["metadata"].get("tags", []))
    assert len(re.findall(r'class="cell tag_solution[^"]*tag_hide-input', page)) == solutions
    # a download link to the notebook itself, byte for byte
    links = re.findall(r'<a class="reference download internal" download="" href="\.\./(_downloads/\w+/[^"]+)"', page)
    assert [Path(link).name for link in links] == [path.name]
    assert (site / links[0]).read_bytes() == path.read_bytes()


def test_api_reference_and_lecture_pages(site: Path):
    api = (site / "api.html").read_text(encoding="utf-8")
    for name in ("lecture_vae.bounds.elbo", "lecture_vae.model.VAE", "lecture_vae.training.trainer.fit"):
        assert f'id="{name}"' in api
    assert (site / "generated" / "lecture.html").is_file() and (site / "generated" / "plans.html").is_file()


@contextlib.contextmanager
def offline_page(served: str, width: int, height: int) -> Iterator[tuple[object, list[str], list[str], list[str]]]:
    """A headless Chromium page that may fetch from ``served`` only; yields the page and the lists its
    console errors, failed requests and blocked outside requests are collected in."""
    chromium = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
    if chromium is None:
        _missing("Chromium not found at /usr/bin/chromium or on PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors, failed, blocked = [], [], []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: failed.append(r.url))

            def route(r):
                if r.request.url.startswith(served + "/"):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            yield page, errors, failed, blocked
        finally:
            browser.close()


@pytest.mark.browser
def test_pages_render_offline_in_chromium(served: str, site: Path):
    artifacts = ROOT / "test-artifacts" / "site"
    artifacts.mkdir(parents=True, exist_ok=True)
    pages = ["index", "generated/lecture", *(f"notebooks/{p.stem}" for p in NOTEBOOKS)]
    with offline_page(served, 1280, 900) as (page, errors, failed, blocked):
        for name in pages:
            page.goto(f"{served}/{name}.html", wait_until="load")
            source = (site / f"{name}.html").read_text(encoding="utf-8")
            has_maths = "math notranslate" in source
            if has_maths:
                page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=30_000)
                page.wait_for_function("!document.querySelector('.math:not(:has(mjx-container))')", timeout=30_000)
            page.wait_for_function("[...document.images].every(i => i.complete)", timeout=30_000)
            broken = page.evaluate("[...document.images].filter(i => i.naturalWidth === 0).map(i => i.src)")
            assert broken == [], f"{name}: images that did not load: {broken}"
            raw = page.evaluate(
                "[...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container')).length"
            )
            assert raw == 0, f"{name}: {raw} formulas not typeset"
            if name.startswith("notebooks/") and has_maths:
                assert page.locator("mjx-container").count() > 0
            page.screenshot(path=str(artifacts / f"{name.replace('/', '_')}.png"))
        assert errors == [], f"console errors: {errors}"
        assert failed == [] or set(failed) <= set(blocked), f"requests to the site failed: {failed}"
        assert blocked == [], f"the site asked for outside resources: {sorted(set(blocked))}"
