"""The course's site, opened in headless Chromium: pages, links, launch buttons, languages, axe-core.

The site is the one ``make site`` built when ``UNET_COURSE_SITE`` names its
folder (every lesson executed, so every figure is there and needs its alt
text); otherwise the test builds it once per session with Sphinx, the lessons
not executed (a few tens of seconds), with a JupyterHub configured so its
launch button is there too. Then:

- every internal link, image, script and stylesheet of every page exists
  (read from the HTML, all pages);
- every lesson page (with ``UNET_COURSE_SITE``; two per language in the quick
  build) and every guide (``docs/*.md``) load in Chromium without a failed request
  or a broken image, every image has a text alternative, and axe-core
  (from the ``axe-playwright-python`` wheel) finds no serious or critical
  violation;
- each lesson's launch buttons (Colab, Binder, JupyterHub) open that lesson's
  notebook, and each lesson page links to its other-language edition;
- formulas are typeset by the MathJax served with the site.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "test-output" / "site"
HUB = "https://hub.example.edu"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
#: axe-core impacts that fail the test.
FAILING_IMPACTS = {"serious", "critical"}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """``(folder, built_here)``: the site of ``make site``, or one built now without executing the lessons."""
    given = os.environ.get("UNET_COURSE_SITE")
    if given:
        folder = Path(given)
        if not folder.is_absolute():
            folder = REPO / folder
        assert (folder / "docs" / "index.html").is_file(), f"UNET_COURSE_SITE={given}: no docs/index.html there"
        return folder, False
    folder = tmp_path_factory.mktemp("site") / "html"
    env = {**os.environ, "UNET_COURSE_SITE_EXECUTE": "off", "UNET_COURSE_JUPYTERHUB": HUB}
    done = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", "-c", "docs",
                           "-d", str(folder.parent / "doctrees"), ".", str(folder)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"sphinx-build failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return folder, True


class _Refs(HTMLParser):
    """Every local reference of a page: links, images, scripts, stylesheets."""

    def __init__(self):
        super().__init__()
        self.refs, self.lang_links = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("href", "src"):
            value = attrs.get(key)
            if value and tag in ("a", "img", "script", "link", "source"):
                self.refs.append((tag, value))


def _built_here(folder):
    return not os.environ.get("UNET_COURSE_SITE")


def pages(folder):
    return sorted(p for p in folder.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)


def lesson_pages(folder, language="course"):
    return sorted((folder / language).glob("[0-9][0-9]_*.html"))


def test_every_local_link_and_image_exists(site):
    folder, _ = site
    broken = []
    for page in pages(folder):
        parser = _Refs()
        parser.feed(page.read_text(encoding="utf-8"))
        for tag, ref in parser.refs:
            url = urlparse(ref)
            if url.scheme or ref.startswith(("#", "mailto:", "//")):
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            if not target.exists():
                broken.append(f"{page.relative_to(folder)}: <{tag}> {ref}")
    assert not broken, f"{len(broken)} broken references, e.g.:\n" + "\n".join(broken[:20])


def test_every_lesson_is_a_page_in_both_languages_with_a_switch(site):
    folder, _ = site
    english = [p.stem for p in lesson_pages(folder)]
    assert english == [p.stem for p in sorted((REPO / "course").glob("[0-9][0-9]_*.ipynb"))]
    chinese = [p.stem for p in lesson_pages(folder, "course_zh")]
    assert chinese, "no Chinese lesson page"
    assert set(chinese) <= set(english)
    for name in chinese:
        en = (folder / "course" / f"{name}.html").read_text(encoding="utf-8")
        zh = (folder / "course_zh" / f"{name}.html").read_text(encoding="utf-8")
        assert f'href="../course_zh/{name}.html"' in en, f"{name}: the English page has no link to 中文"
        assert f'href="../course/{name}.html"' in zh, f"{name}: the Chinese page has no link to English"
        assert 'lang="zh-Hans"' in zh


def test_launch_buttons_open_each_lessons_notebook(site):
    folder, built_here = site
    for language in ("course", "course_zh"):
        for page in lesson_pages(folder, language):
            html = page.read_text(encoding="utf-8")
            notebook = f"{language}/{page.stem}.ipynb"
            colab = re.findall(r'href="(https://colab\.research\.google\.com/github/[^"]+)"', html)
            binder = re.findall(r'href="(https://mybinder\.org/v2/gh/[^"]+)"', html)
            assert colab and all(url.endswith("/" + notebook) for url in colab), (page.name, colab)
            assert binder and all(notebook in unquote(url) for url in binder), (page.name, binder)
            if built_here:
                hub = re.findall(rf'href="({re.escape(HUB)}/hub/user-redirect/git-pull\?[^"]+)"', html)
                assert hub and all(notebook in unquote(url) for url in hub), (page.name, hub)


#: The site's own pages (docs/*.md and the data card), each the one owner of what it says; the README links to them.
GUIDES = [f"docs/{p.stem}" for p in sorted((REPO / "docs").glob("*.md"))] + ["data/README"]


def test_every_guide_is_a_page_of_the_site(site):
    folder, _ = site
    missing = [name for name in GUIDES if not (folder / f"{name}.html").is_file()]
    assert not missing and len(GUIDES) >= 10, missing


def _chromium():
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.fail("Chromium is missing: install Debian's 'chromium' package (`make browser-deps` as root)")
    return path


def _axe_source():
    try:
        import axe_playwright_python
    except ImportError:
        pytest.fail("axe-core is missing: install the development extras (`pip install -e '.[dev]'`)")
    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def served(site):
    """The site served over HTTP on 127.0.0.1 (as Pages serves it: fonts and scripts need http, not file:)."""
    folder, _ = site
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def test_pages_load_in_chromium_with_alt_text_and_no_serious_axe_violation(served):
    from playwright.sync_api import sync_playwright

    folder, base = served
    lessons = [*lesson_pages(folder), *lesson_pages(folder, "course_zh")]
    if _built_here(folder):  # make test: two lessons per language (the links of all are checked above)
        lessons = [*lesson_pages(folder)[:2], *lesson_pages(folder, "course_zh")[:2]]
    chosen = [folder / f"{page}.html" for page in GUIDES] + lessons
    axe = _axe_source()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    problems = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            failed = []
            page.on("requestfailed", lambda request: failed.append(request.url)
                    if request.url.startswith(("http:", "https:")) and "ABORTED" not in (request.failure or "")
                    else None)  # not MathJax's about:blank probe, nor a load cut short by leaving the page
            for path in chosen:
                name = str(path.relative_to(folder))
                failed.clear()
                page.goto(f"{base}/{name}", wait_until="load")
                if failed:
                    problems.append(f"{name}: failed to load {failed[:3]}")
                images = page.evaluate("""() => [...document.querySelectorAll('main img, article img')].map(
                    i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0,
                           alt: (i.getAttribute('alt') || '').trim()}))""")
                problems += [f"{name}: broken image {i['src']}" for i in images if not i["ok"]]
                problems += [f"{name}: image without alt text {i['src']}" for i in images if not i["alt"]]
                page.add_script_tag(content=axe)
                result = page.evaluate("""async () => await axe.run(document, {
                    resultTypes: ['violations'], runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})""")
                for violation in result["violations"]:
                    if violation["impact"] in FAILING_IMPACTS:
                        targets = [n["target"] for n in violation["nodes"][:3]]
                        problems.append(f"{name}: axe {violation['impact']} {violation['id']}: "
                                        f"{violation['help']} at {targets}")
            # Formulas: MathJax 3 (served from the site) has typeset every formula of lesson 2.
            failed.clear()
            page.goto(f"{base}/course/02_class_imbalance.html", wait_until="load")
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.document && "
                                   "document.querySelector('mjx-container svg')", timeout=30_000)
            page.evaluate("() => MathJax.startup.promise")           # every formula of the page typeset
            left = page.evaluate("() => [...document.querySelectorAll('.math')].filter("
                                 "m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60))")
            if left:
                problems.append(f"MathJax left {len(left)} formulas untypeset, e.g. {left[:3]}")
            page.locator("mjx-container").first.scroll_into_view_if_needed()
            page.screenshot(path=str(OUTPUT / "lesson02.png"))
            if failed:
                problems.append(f"MathJax: failed to load {failed[:3]}")
        finally:
            browser.close()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
