"""A term in one test: the instructor's guide (docs/instructors.md), followed on one machine with nbgrader's exchange.

Two assignments (``a1_data_imbalance``, ``a2_losses_metrics``, the quickest to
grade) go through a real exchange (a world-writable folder, named in the
course's config and in the students' "system-wide" one) to three students,
each with their own home and Jupyter config:

- alice submits both, correct, before the due date;
- bob submits after it, with mistakes (and blanks in a2) and no extension:
  his score loses 10 % (one started day late), and his feedback says so;
- carol submits after it too, but ``unet-course extend`` gave her a day: no penalty.

Then ``nbgrader collect``, ``unet-course autograde --workers 2``, a manual grade
(an override, as in the formgrader), ``nbgrader generate_feedback`` and
``release_feedback``, the students' ``fetch_feedback``, ``unet-course export``
for Canvas, Moodle and Blackboard, and ``unet-course report``. The browser part
opens bob's JupyterLab (Formgrader and Create Assignment hidden with the
guide's commands, the Validate summary extension on), presses Validate on his a2 and reads
the summary, then opens his fetched feedback page with the network cut off
and checks that MathJax drew the formulas. Screenshots go to
``test-output/browser/`` (``validate_dialog.png``; ``feedback_page.png``, its top: the lateness
line and the points table; ``feedback_formulas.png``, its first formulas).
"""
from __future__ import annotations

import csv
import datetime
import json
import os
import re
import secrets
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook
from test_browser import (CHROMIUM_FLAGS, LAB_SETTINGS, OUTPUT, _chromium, _free_port, _shut_down,
                          _sync_playwright, _wait_until_ready)
from test_nbgrader_e2e import ROOT, SCRIPTS, _env, solution_source

pytestmark = [pytest.mark.slow, pytest.mark.browser]

COURSE = "unet-course"
ASSIGNMENTS = ("a1_data_imbalance", "a2_losses_metrics")
STUDENTS = ("alice", "bob", "carol")
#: bob's a2: three answers left blank, one wrong (the per-image Dice of the e2e test).
BOB_BLANK = ("dice_metric", "iou_score", "precision_score")
BOB_WRONG = ("dice_loss", "    overlap = ops.sum(y_true * y_pred)\n",
             "    overlap = ops.sum(y_true * y_pred, axis=(1, 2, 3))\n")
#: bob's a1: one wrong item, then given back by hand (the manual grade).
BOB_A1 = ("binarize_label", "(label >= 0.5)", "(label > 0.5)")


def _run(args, cwd, env=None, timeout=600):
    done = subprocess.run(args, cwd=cwd, env=env or _env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _student_env(home):
    env = _env()
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"))
    return env


def _answers(source_nb, released_nb, blank=(), wrong=None):
    """The released notebook with the solutions filled in, except ``blank`` items, one ``wrong``."""
    solutions = {cell.metadata["nbgrader"]["grade_id"]: solution_source(cell) for cell in source_nb.cells
                 if cell.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.from_dict(released_nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions and grade_id not in blank:
            cell.source = solutions[grade_id]
            if wrong and grade_id == wrong[0]:
                assert wrong[1] in cell.source
                cell.source = cell.source.replace(wrong[1], wrong[2])
    return nb


def _fill(home, assignment, source, who):
    path = home / assignment / f"{assignment}.ipynb"
    released = nbformat.read(str(path), as_version=4)
    if who == "bob":
        nb = _answers(source, released, *((BOB_BLANK, BOB_WRONG) if assignment == ASSIGNMENTS[1] else
                                           ((), BOB_A1)))
    else:
        nb = _answers(source, released)
    nbformat.write(nb, str(path))


def _nbgrader_api(course):
    """nbgrader's own API of the course (what the formgrader's buttons and the commands run)."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return NbGraderAPI(coursedir=CourseDirectory(config=config, root=str(course)), config=config)


def _student(step, home, who, assignment):
    """A student's ``nbgrader fetch_assignment``/``submit``/``fetch_feedback``, with their own config.

    The same exchange classes the commands (and the Assignments tab) run, in this
    process: the student's config is their "system-wide" ``nbgrader_config.py``,
    the folder they work in is their home, and ``student_id`` names them as
    ``--student`` does (on one machine every student is the same account).
    """
    from nbgrader.exchange import default as exchange     # nbgrader's own exchange (a shared folder)
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(home / ".jupyter")).load_config()
    config.Exchange.assignment_dir = str(home)
    config.Exchange.cache = str(home / ".cache" / "nbgrader")
    coursedir = CourseDirectory(config=config, root=str(home))
    coursedir.assignment_id, coursedir.student_id = assignment, who
    cls = {"fetch": exchange.ExchangeFetchAssignment, "submit": exchange.ExchangeSubmit,
           "feedback": exchange.ExchangeFetchFeedback}[step]
    cls(coursedir=coursedir, authenticator=Authenticator(config=config), config=config).start()


def _ok(result):
    assert result["success"], result.get("error") or result.get("log")
    return result


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    path = os.environ["PATH"]
    os.environ["PATH"] = _env()["PATH"]                    # nbgrader runs `alembic` from the environment
    try:
        yield _term(tmp_path_factory.mktemp("term"))
    finally:
        os.environ["PATH"] = path


def _term(tmp):
    course, exchange = tmp / "instructor" / "course", tmp / "exchange"
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o777)                                  # world-writable, as nbgrader needs
    course.mkdir(parents=True)
    (course / "solutions").mkdir()
    config = (ROOT / "nbgrader_config.py").read_text() + f"\nc.Exchange.root = {str(exchange)!r}\n"
    (course / "nbgrader_config.py").write_text(config)
    homes = {name: tmp / "home" / name for name in STUDENTS}
    for home in homes.values():                           # the students' "system-wide" config
        (home / ".jupyter").mkdir(parents=True)
        (home / ".jupyter" / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\nc.CourseDirectory.course_id = {COURSE!r}\n")
    unet = str(SCRIPTS / "unet-course")
    sources = {}
    for name in ASSIGNMENTS:
        shutil.copytree(ROOT / "solutions" / name, course / "solutions" / name)
        sources[name] = nbformat.read(str(course / "solutions" / name / f"{name}.ipynb"), as_version=4)
    api = _nbgrader_api(course)
    for name in ASSIGNMENTS:
        _ok(api.generate_assignment(name))
        _ok(api.release_assignment(name))

    def submit(who):
        for name in ASSIGNMENTS:
            _student("fetch", homes[who], who, name)
            _fill(homes[who], name, sources[name], who)
            _student("submit", homes[who], who, name)

    submit("alice")
    due = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    _run([str(SCRIPTS / "nbgrader"), "db", "assignment", "add", ASSIGNMENTS[0], f"--duedate={due}"], course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:      # the same, through the API
        gb.update_or_create_assignment(ASSIGNMENTS[1], duedate=gb.find_assignment(ASSIGNMENTS[0]).duedate)
    submit("bob")
    submit("carol")
    graded = {}
    for name in ASSIGNMENTS:
        _ok(api.collect(name))
        _run([unet, "extend", name, "carol", "--days", "1"], course)
        graded[name] = _run([unet, "autograde", name, "--workers", "2", "--quiet"], course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:   # the formgrader's override
        grade = gb.find_grade("test_binarize_label", ASSIGNMENTS[0], ASSIGNMENTS[0], "bob")
        assert grade.auto_score == 0
        grade.manual_score = grade.max_score
        gb.db.commit()
    for name in ASSIGNMENTS:
        _ok(api.generate_feedback(name))
        _ok(api.release_feedback(name))
        for who in STUDENTS:
            _student("feedback", homes[who], who, name)
    for platform in ("canvas", "moodle", "blackboard"):
        _run([unet, "export", "--format", platform], course)
    _run([unet, "report"], course)
    return {"course": course, "homes": homes, "graded": graded}


def _feedback(home, assignment):
    pages = sorted((home / assignment / "feedback").glob(f"*/{assignment}.html"))
    assert pages, f"no feedback fetched into {home / assignment / 'feedback'}"
    return pages[-1]


def test_the_term_grades_penalises_extends_and_exports(term):
    course = term["course"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        final = {}
        for name in ASSIGNMENTS:
            for who in STUDENTS:
                sub = gb.find_submission(name, who)
                final[who, name] = (sub.score, sub.late_submission_penalty, sub.max_score)
    for name in ASSIGNMENTS:
        total = final["alice", name][2]
        assert final["alice", name][:2] == (total, 0) and final["carol", name][:2] == (total, 0)
    a1, a2 = (final["bob", name] for name in ASSIGNMENTS)
    assert 0 < a2[0] < 20 and a2[1] == pytest.approx(0.1 * a2[0])            # one started day: 10 %
    # a1: graded 8 of 10 (binarize_label wrong), 10 % off that; then the manual grade gave the 2 back
    assert a1[0] == 10 and a1[1] == pytest.approx(0.8)

    bob = _feedback(term["homes"]["bob"], ASSIGNMENTS[0]).read_text()
    assert "late, so the late penalty took 0.8 of the 10 points off your score" in bob, "no lateness line"
    carol = _feedback(term["homes"]["carol"], ASSIGNMENTS[1]).read_text()
    assert "with your extension of 1 day" in carol and "on time" in carol

    expected = {who: f"{final[who, ASSIGNMENTS[1]][0] - final[who, ASSIGNMENTS[1]][1]:.2f}".rstrip("0").rstrip(".")
                for who in STUDENTS}
    with open(course / "grades-canvas.csv", newline="") as file:
        canvas = list(csv.reader(file))
    assert canvas[0][5:] == list(ASSIGNMENTS) and canvas[1][5:] == ["10", "20"]
    assert {row[3]: row[6] for row in canvas[2:]} == expected
    with open(course / "grades-moodle.csv", newline="") as file:
        assert {row["Username"]: row[ASSIGNMENTS[1]] for row in csv.DictReader(file)} == expected
    with open(course / "grades-blackboard.csv", newline="") as file:
        assert {row["Username"]: row[ASSIGNMENTS[1]] for row in csv.DictReader(file)} == expected
    report = (course / "reports" / "class" / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 4 and "dice_metric" in report


def test_a_rerun_with_nothing_to_grade_starts_no_cluster(term):
    """The second run says so before any Dask cluster starts (and never prints a dashboard port)."""
    out = _run([str(SCRIPTS / "unet-course"), "autograde", ASSIGNMENTS[0], "--workers", "2"], term["course"])
    assert "3 submissions, 0 to grade" in out and "dashboard" not in out.lower() and "8787" not in out
    assert all("8787" not in log and "already in use" not in log for log in term["graded"].values())


@pytest.fixture
def bobs_lab(term, tmp_path):
    """bob's JupyterLab, set up as the instructor's guide says for students (its own hiding commands)."""
    home = term["homes"]["bob"]
    env = _student_env(home)
    env.update(JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    for name, values in LAB_SETTINGS.items():
        target = tmp_path / "settings" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    guide = (ROOT / "docs" / "instructors.md").read_text()
    hiding = re.findall(r"^\s*(jupyter labextension disable --level=sys_prefix @jupyter/nbgrader:[a-z-]+)$", guide, re.M)
    assert len(hiding) == 2, hiding                                  # Formgrader and Create Assignment
    for command in hiding:   # the guide's commands, at bob's level: the test must not change the shared environment
        _run([str(SCRIPTS / "jupyter"), *command.replace("--level=sys_prefix", "--level=user").split()[1:]], home, env)
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "lab.log"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={home}", "--ServerApp.jpserver_extensions=unet_course.grading.validate=True",
               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    with log.open("w") as log_file:
        process = subprocess.Popen(command, cwd=home, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(process, url, token, log)
        yield {"url": url, "token": token, "home": home, "log": log}
    finally:
        _shut_down(process, url, token)


def test_validate_summary_and_offline_feedback_in_the_browser(bobs_lab):
    chromium, sync_playwright = _chromium(), _sync_playwright()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    home, url, token = bobs_lab["home"], bobs_lab["url"], bobs_lab["token"]
    feedback = _feedback(home, ASSIGNMENTS[1]).relative_to(home)
    outside = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route(re.compile(r"^(?!http://127\.0\.0\.1).*"),                 # no internet
                   lambda route: (outside.append(route.request.url), route.abort()))
        try:
            page.goto(f"{url}/lab/tree/{ASSIGNMENTS[1]}/{ASSIGNMENTS[1]}.ipynb?token={token}")
            page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=60_000)
            page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
            menu = page.locator(".lm-Menu").last.inner_text()
            page.keyboard.press("Escape")
            assert "Assignment List" in menu and "Formgrader" not in menu and "Create Assignment" not in menu, menu
            page.locator(".jp-Toolbar").get_by_text("Validate", exact=True).first.click()
            dialog = page.locator("#validation-message")
            dialog.wait_for(timeout=240_000)
            summary = dialog.locator("pre").first.inner_text()
            page.screenshot(path=str(OUTPUT / "validate_dialog.png"))
            clipped = dialog.evaluate("d => [...d.querySelectorAll('pre')].filter(p => p.scrollWidth > p.clientWidth + 1).length")

            page.goto(f"{url}/files/{feedback.as_posix()}?token={token}")
            page.wait_for_function("() => document.querySelectorAll('mjx-container svg').length > 5", timeout=60_000)
            raw = page.evaluate("() => (document.body.innerText.match(/\\$[^$\\n]{2,40}\\$/g) || []).length")
            gaps = page.evaluate("""() => [...document.querySelectorAll('.rendered_html table tr')].flatMap(r => {
                const text = [...r.children].map(cell => { const range = document.createRange();
                    range.selectNodeContents(cell); return range.getBoundingClientRect(); });
                return text.slice(1).map((b, i) => b.left - text[i].right); })""")   # between texts
            padding = page.evaluate("() => getComputedStyle(document.querySelector('.rendered_html td')).paddingLeft")
            lateness = page.locator(".unet-note").first.inner_text()
            page.evaluate("() => window.scrollTo(0, 0)")
            page.screenshot(path=str(OUTPUT / "feedback_page.png"))        # lateness line, points table
            page.locator("mjx-container").first.scroll_into_view_if_needed()
            page.screenshot(path=str(OUTPUT / "feedback_formulas.png"))
        except BaseException:
            page.screenshot(path=str(OUTPUT / "term_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    lines = summary.splitlines()
    assert lines[0] == "Summary: 4 of 9 checks fail.", summary
    assert max(len(line) for line in lines) <= 80, summary
    failing = [line for line in lines if line.startswith("✗")]
    assert {line.split()[1] for line in failing} == {f"test_{n}" for n in (*BOB_BLANK, BOB_WRONG[0])}, summary
    assert sum(line.startswith("✓") for line in lines) == 5 and clipped == 0, (summary, clipped)
    assert raw == 0 and padding != "0px" and gaps and min(gaps) >= 8, (raw, padding, gaps)
    assert "late, so the late penalty took" in lateness, lateness
    assert not outside, f"the feedback page or the lab reached outside: {outside[:5]}"
