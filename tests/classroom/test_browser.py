"""The interactive notebook in a real browser: JupyterLab in a subprocess, headless Chromium through
Playwright, Run All Cells, then a z slider moved with the keyboard must change the decoded image.

Screenshots go to test-artifacts/browser/. Skipped only when Chromium is missing, and never in CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

NOTEBOOK = "10_interactive.ipynb"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Lab settings for a quiet, deterministic page: no news toast, every cell kept in the DOM.
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the browser test (install chromium and playwright)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
    if path is None:
        _missing("Chromium not found at /usr/bin/chromium or on PATH")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("the playwright package is not installed")
    return str(path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_lab(tmp: Path, root: Path, settings: dict, extra_args: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """A JupyterLab on 127.0.0.1 serving ``root``, with ``settings`` as its user settings (state kept under
    ``tmp``); yields its base URL and token, and stops it afterwards."""
    for name, value in settings.items():
        (tmp / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "settings" / name).write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
    )
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}"]
    cmd += [f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--allow-root"]
    cmd += ["--LabApp.expose_app_in_browser=True", *extra_args]
    log = (tmp / "lab.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log_text = (tmp / "lab.log").read_text()[-3000:]
                    raise RuntimeError(f"JupyterLab did not start; log:\n{log_text}") from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Iterator[str]:
    """A JupyterLab serving a temporary copy of the notebook; yields the URL that opens it."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "notebooks"
    root.mkdir()
    shutil.copy(repo_root / "notebooks" / NOTEBOOK, root)
    with serve_lab(tmp, root, SETTINGS) as (url, token):
        yield f"{url}/lab/tree/{NOTEBOOK}?token={token}"


_MEASURE = """() => {
  const e = document.querySelector('.lv-bayes-explorer');
  const row = e.querySelector('.widget-hbox'), img = row.querySelector('img');
  const controls = row.querySelector('.widget-vbox');
  const label = e.querySelector('.lv-x1 .widget-label');
  return {row: row.getBoundingClientRect().width, controls: controls.getBoundingClientRect().width,
          img: img.getBoundingClientRect().width, natural: img.naturalWidth,
          label: parseFloat(getComputedStyle(label).fontSize)};
}"""


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_latent_explorer_redraws_when_a_slider_moves(chromium: str, lab: str, repo_root: Path):
    from playwright.sync_api import sync_playwright

    artifacts = repo_root / "test-artifacts" / "browser"
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        try:
            page.goto(lab)
            page.wait_for_selector("text=| Idle", timeout=60_000)  # the kernel is up
            page.click("li.lm-MenuBar-item:has-text('Run')")
            page.click(".lm-Menu-item:has-text('Run All Cells')")
            view = page.locator(".lv-latent-explorer .lv-latent-view")
            page.wait_for_function(
                "() => { const i = document.querySelector('.lv-latent-view img');"
                " return i !== null && i.complete && i.naturalWidth > 0; }",
                timeout=75_000,
            )
            view.scroll_into_view_if_needed()
            before, after = artifacts / "latent_before.png", artifacts / "latent_after.png"
            view.screenshot(path=str(before))
            src = page.locator(".lv-latent-view img").get_attribute("src")

            page.locator(".lv-z1 .noUi-handle").focus()
            for _ in range(15):  # 15 steps of 0.1: z1 from 0.0 to 1.5
                page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "s => document.querySelector('.lv-latent-view img').src !== s", arg=src, timeout=20_000
            )
            page.wait_for_function(
                "() => document.querySelector('.lv-z1 .widget-readout').textContent.trim() === '1.50'", timeout=20_000
            )
            page.wait_for_timeout(1500)  # let the last redraw arrive
            view.screenshot(path=str(after))
            for name in ("interp-view", "bayes-explorer", "reparam-explorer"):
                widget = page.locator(f".lv-{name}")
                widget.scroll_into_view_if_needed()
                widget.screenshot(path=str(artifacts / f"{name}.png"))
            sizes = {}
            for width, height in ((1366, 768), (1920, 1080)):  # laptop, projector
                page.set_viewport_size({"width": width, "height": height})
                page.wait_for_timeout(800)
                explorer = page.locator(".lv-bayes-explorer")
                explorer.scroll_into_view_if_needed()
                explorer.screenshot(path=str(artifacts / f"bayes-explorer_{width}.png"))
                sizes[width] = page.evaluate(_MEASURE)
            page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-presentation-mode')")
            page.wait_for_timeout(800)
            explorer.scroll_into_view_if_needed()
            explorer.screenshot(path=str(artifacts / "bayes-explorer_1920_presentation.png"))
            sizes["presentation"] = page.evaluate(_MEASURE)
        finally:
            page.screenshot(path=str(artifacts / "page.png"))
            browser.close()

    # the figure takes the row's width beside the controls, and grows with the window
    for key in (1366, 1920):
        m = sizes[key]
        assert m["img"] >= 0.95 * (m["row"] - m["controls"]), f"figure not filling the cell at {key}px: {m}"
        assert m["natural"] >= m["img"], f"the PNG is upscaled at {key}px (blurry): {m}"
    assert sizes[1920]["img"] > 1.3 * sizes[1366]["img"]
    # widget text follows the notebook's content size, and Presentation Mode's larger one
    assert sizes[1920]["label"] >= 14 and sizes["presentation"]["label"] > sizes[1920]["label"] + 2, sizes

    a, b = _pixels(before), _pixels(after)
    assert a.std() > 10, "the first screenshot is blank: the widget did not render"
    assert a.shape == b.shape
    changed = np.abs(a - b).max(-1) > 30
    assert changed.mean() > 0.005, f"only {changed.mean():.2%} of the pixels changed after moving z1"
