"""Lesson 3 in a real browser: JupyterLab + headless Chromium, driven by Playwright.

The test starts JupyterLab on 127.0.0.1 (a free port, a random token, a
temporary root folder holding a copy of lesson 3, the smoke profile), opens
the lesson in Debian's Chromium, runs every cell from the Run menu, waits for
the loss explorer, presses arrow keys on its "p inside" slider and checks that
the loss values written in the page change the way the formulas say. A
screenshot of the page and one of the widget are saved under
``test-output/browser/`` (CI keeps them as artifacts).

Widgets in the browser test: the explorer draws its
figure with matplotlib into an ``ipywidgets.Image`` and writes the losses into
an ``ipywidgets.HTML`` carrying the CSS class ``unet-loss-values``, so the
page needs nothing beyond JupyterLab 4 and ipywidgets 8, and the test reads
plain text from the DOM.

Nothing is skipped: when Chromium or Playwright is missing the test fails and
says how to install it.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LESSON = REPO / "course" / "03_bce_vs_dice.ipynb"
OUTPUT = REPO / "test-output" / "browser"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# Lab settings for a quiet, deterministic page: every cell attached to the DOM
# (no virtual scrolling), no news or update checks.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False,
    },
}
START_TIMEOUT_S = 60      # JupyterLab answering on its port
RUN_TIMEOUT_S = 150       # every cell of the lesson executed (smoke profile)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _chromium():
    """Path of Debian's Chromium, or fail saying how to install it."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.fail(
            "Chromium is missing: the browser test drives Debian's 'chromium' package. Install it "
            "with `sudo apt-get install chromium` (or `make browser-deps` as root); Playwright's "
            "own browser download is not used."
        )
    return path


def _sync_playwright():
    """Playwright's sync API, or fail saying how to install it."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "Playwright's Python package is missing: install the development extras with "
            "`pip install -e '.[dev]'` (or `pip install playwright`); no browser download is "
            "needed, the test uses Debian's chromium."
        )
    return sync_playwright


def _free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _api(url, token, path, method="GET"):
    """Call the Jupyter server's REST API; return the decoded JSON (or None)."""
    request = urllib.request.Request(f"{url}{path}", method=method,
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
    return json.loads(body) if body else None


def _wait_until_ready(process, url, token, log):
    """Poll ``/api/status`` until the server answers; fail with its log if it dies."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            _api(url, token, "/api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def _shut_down(process, url, token):
    """Ask the server to shut down (it stops its kernels), then make sure it is gone."""
    if process.poll() is None:
        try:
            _api(url, token, "/api/shutdown", method="POST")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server over a temporary folder holding lesson 3; shut down afterwards."""
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(LESSON, root / LESSON.name)
    settings = tmp_path / "user-settings"
    for name, values in LAB_SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "UNET_COURSE_PROFILE": "smoke",
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    log = tmp_path / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log.open("w") as log_file:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(process, url, token, log)
        yield {"url": url, "token": token, "log": log}
    finally:
        _shut_down(process, url, token)


ALL_CELLS_RAN = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""
ANY_CELL_STARTED = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""
ANY_CELL_PENDING = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .some(p => p.textContent.includes('*'))"""


def _losses(text):
    """``{"BCE": float, "Dice loss": float, "BCE + Dice": float}`` from the explorer's text."""
    found = dict(re.findall(r"(BCE \+ Dice|Dice loss|BCE)\s*=\s*([0-9.]+)", text))
    assert set(found) == {"BCE", "Dice loss", "BCE + Dice"}, f"no loss values in {text!r}"
    return {name: float(value) for name, value in found.items()}


def _run_all_cells(page):
    """Run > Run All Cells from the menu bar, once the kernel is idle; retry if nothing starts.

    A click that lands while JupyterLab is still connecting the notebook to its
    kernel is ignored, so the test waits for "Idle" in the status bar and checks
    that some cell got queued.
    """
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle")).first.wait_for(timeout=60_000)
    for _ in range(3):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            page.wait_for_function(ANY_CELL_STARTED, timeout=15_000)
            return
        except Exception:                                             # Playwright's TimeoutError
            page.keyboard.press("Escape")
    pytest.fail("Run > Run All Cells did not start the lesson in JupyterLab (three tries)")


def _wait_for_all_cells(page):
    """Wait until every code cell shows an execution count; fail with the errors shown."""
    try:
        page.wait_for_function(f"() => !({ANY_CELL_PENDING})()", timeout=RUN_TIMEOUT_S * 1000)
    except Exception as error:                                        # Playwright's TimeoutError
        pytest.fail(f"the lesson did not finish within {RUN_TIMEOUT_S} s in JupyterLab: {error}")
    if not page.evaluate(ALL_CELLS_RAN):
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        shown = "\n".join(errors.all_inner_texts())[-3000:]
        pytest.fail(f"some cells of lesson 3 did not run (an error stopped Run All):\n{shown}")


def test_lesson3_loss_explorer_in_jupyterlab(jupyterlab):
    chromium, sync_playwright = _chromium(), _sync_playwright()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old_shot in OUTPUT.glob("lesson03_*.png"):
        old_shot.unlink()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{jupyterlab['url']}/lab/tree/{LESSON.name}?token={jupyterlab['token']}")
            page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=60_000)
            _run_all_cells(page)
            loss_text = page.locator(".unet-loss-values")
            loss_text.wait_for(timeout=RUN_TIMEOUT_S * 1000)
            _wait_for_all_cells(page)
            assert page.get_by_text("Error displaying widget").count() == 0

            explorer = page.locator(".widget-vbox").filter(has=loss_text).first
            explorer.scroll_into_view_if_needed()
            before = loss_text.inner_text()
            slider = page.locator(".widget-hslider").filter(has_text="p inside").locator(".noUi-handle")
            slider.focus()
            for _ in range(15):                       # p inside: 0.80 -> 0.95
                slider.press("ArrowRight")
            page.wait_for_function(
                "before => document.querySelector('.unet-loss-values').innerText !== before",
                arg=before, timeout=30_000,
            )
            time.sleep(1.0)                           # let the last key presses land
            after = loss_text.inner_text()
            page.screenshot(path=str(OUTPUT / "lesson03_page.png"))
            explorer.screenshot(path=str(OUTPUT / "lesson03_loss_explorer.png"))
        except BaseException:
            page.screenshot(path=str(OUTPUT / "lesson03_failure.png"), full_page=True)
            raise
        finally:
            browser.close()

    old, new = _losses(before), _losses(after)
    # a more confident prediction inside the building lowers every loss
    assert new["BCE"] < old["BCE"], (before, after)
    assert new["Dice loss"] < old["Dice loss"], (before, after)
    assert new["BCE + Dice"] == pytest.approx(new["BCE"] + new["Dice loss"], abs=2e-3)
    assert (OUTPUT / "lesson03_loss_explorer.png").stat().st_size > 10_000
