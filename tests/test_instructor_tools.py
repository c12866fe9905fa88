"""After grading: exports for Canvas, Moodle and Blackboard, late work by rule, the class report.

One course directory (``nbgrader generate_assignment a1_data_imbalance``, the
real gradebook) holds a class of 24 made cheaply: each student's grades are
written into the gradebook through nbgrader's API and the graded notebook into
``autograded/`` (the release, with the failing checks' messages as error
outputs), the way ``unet-course autograde`` leaves them, without running 24
kernels. The end-to-end test (``tests/test_instructor_term.py``) grades for real.
"""
from __future__ import annotations

import contextlib
import csv
import datetime
import html
import io
import random
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from _autograde_course import make_course
from nbgrader.api import Gradebook
from nbgrader.preprocessors import AssignLatePenalties
from traitlets.config.loader import PyFileConfigLoader

from unet_course.cli import main
from unet_course.grading.export import course_directory, gradebook_rows
from unet_course.grading.late import LatePenalty, late_penalty, lateness_note
from unet_course.grading.report import summarize

ASSIGNMENT = "a1_data_imbalance"
POINTS = {"test_binarize_label": 2, "test_building_fraction": 1, "test_all_background_accuracy": 1,
          "test_positive_class_weight": 2, "test_spatial_block_split": 4}
HINT = "Hint: tiles that touch across the split's border leak neighbouring pixels; leave a gap"
DUE = datetime.datetime(2027, 1, 15, 23, 59)
CLASS = 24


def _error_output(hint):
    text = f"\x1b[0;31mCheck failed:\x1b[0m spatial_block_split(...) on a 4 x 4 grid of tiles\n  expected: ...\n{hint}"
    return nbformat.v4.new_output("error", ename="CheckFailed", evalue="", traceback=text.splitlines())


def _write_class(course, released):
    """24 students: grades in the gradebook, graded notebooks in autograded/; returns the scores."""
    rng = random.Random(17)
    expected = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=DUE)
        for number in range(CLASS):
            student = f"s{number:02d}"
            gb.update_or_create_student(student, first_name=f"First{number}", last_name=f"Last{number}",
                                        email=f"{student}@example.edu")
            stamp = DUE + datetime.timedelta(hours=30) if number == 3 else DUE - datetime.timedelta(hours=1)
            gb.update_or_create_submission(ASSIGNMENT, student, timestamp=stamp)
            earned = {name: (points if rng.random() < 0.7 else 0) for name, points in POINTS.items()}
            if number < 10:
                earned["test_spatial_block_split"] = 0           # the item most students miss
            nb = nbformat.from_dict(released)
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id in earned and earned[grade_id] == 0:
                    hint = HINT if grade_id == "test_spatial_block_split" and number % 5 else "Hint: other"
                    cell.outputs = [_error_output(hint)]
            if number == 5:
                nb.cells.insert(0, nbformat.v4.new_markdown_cell(
                    "**Grading notes**\n\n- Stopped by the cell time limit (240 s) in cell 7: graded on "
                    "what ran before; test cells after that point score 0."))
            folder = course / "autograded" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(nb, str(folder / f"{ASSIGNMENT}.ipynb"))
            notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            notebook.flagged = number == 7
            for grade in notebook.grades:
                grade.auto_score = earned[grade.name]
            gb.db.commit()
            expected[student] = float(sum(earned.values()))
    return expected


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("instructor") / "course"
    _, released = make_course(course, ASSIGNMENT)
    scores = _write_class(course, released)
    return course, scores


def _run(course, *args):
    """``unet-course ARGS --course-dir COURSE`` in this process (the command line's own ``main``)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = main([*args, "--course-dir", str(course)])
    assert status == 0, out.getvalue()
    return out.getvalue()


# --- deadlines -------------------------------------------------------------------


def test_late_penalty_is_a_share_per_started_day_capped():
    day = 24 * 3600
    assert late_penalty(20, 0, 10, 100) == 0
    assert late_penalty(20, 1, 10, 100) == pytest.approx(2)           # one second late: one started day
    assert late_penalty(20, day, 10, 100) == pytest.approx(2)
    assert late_penalty(20, day + 1, 10, 100) == pytest.approx(4)
    assert late_penalty(20, 30 * day, 10, 50) == pytest.approx(10)     # capped at max_percent
    assert late_penalty(0, 5 * day, 10, 100) == 0


@pytest.mark.slow
def test_the_course_config_applies_the_plugin_through_nbgrader_and_honours_extensions(course):
    course, scores = course
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    resources = {"nbgrader": {"db_url": f"sqlite:///{course / 'gradebook.db'}", "assignment": ASSIGNMENT,
                              "notebook": ASSIGNMENT, "student": "s03"}}
    nb = nbformat.read(str(course / "autograded" / "s03" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), 4)
    with Gradebook(resources["nbgrader"]["db_url"]) as gb:
        AssignLatePenalties(config=config).preprocess(nb, resources)        # 30 h late: 2 started days
        late = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "s03")
        gb.db.refresh(late)
        assert late.late_submission_penalty == pytest.approx(scores["s03"] * 0.2)
        submission = gb.find_submission(ASSIGNMENT, "s03")
        note = lateness_note(submission, late.late_submission_penalty, late.max_score)
        assert "1 day 6 hours late" in note and f"took {scores['s03'] * 0.2:g} of the 10 points" in note, note
    assert "now due 2027-01-17 23:59 UTC" in _run(course, "extend", ASSIGNMENT, "s03", "--days", "2")
    with Gradebook(resources["nbgrader"]["db_url"]) as gb:
        AssignLatePenalties(config=config).preprocess(nb, resources)        # now within its extension
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "s03")
        gb.db.refresh(notebook)
        assert not notebook.late_submission_penalty
        submission = gb.find_submission(ASSIGNMENT, "s03")
        note = lateness_note(submission, 0, notebook.max_score)
        assert "with your extension of 2 days" in note and "on time" in note, note
    assert isinstance(AssignLatePenalties(config=config).plugin_class(), LatePenalty)


# --- exports ------------------------------------------------------------------------


def _read(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


@pytest.mark.slow
def test_exports_follow_each_platforms_documented_columns(course):
    course, scores = course
    config, dirs = course_directory(course)
    with Gradebook(dirs.db_url) as gb:
        _, _, grades = gradebook_rows(gb)
        final = {student: round(score, 2) for (student, _), score in grades.items()}
    for platform in ("canvas", "moodle", "blackboard"):
        _run(course, "export", "--format", platform)
    canvas = _read(course / "grades-canvas.csv")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert canvas[1] == ["Points Possible", "", "", "", "", "10"]
    rows = {row[3]: row for row in canvas[2:]}
    assert len(rows) == CLASS and rows["s01"][0] == "Last1, First1"
    assert {s: float(r[5]) for s, r in rows.items()} == pytest.approx(final)

    moodle = _read(course / "grades-moodle.csv")
    assert moodle[0] == ["First name", "Last name", "Username", "Email address", ASSIGNMENT]
    assert {r[2]: float(r[4]) for r in moodle[1:]} == pytest.approx(final)
    assert moodle[1][3] == "s00@example.edu"

    raw = (course / "grades-blackboard.csv").read_text()
    assert raw.splitlines()[0] == f'"Last Name","First Name","Username","{ASSIGNMENT}"'
    assert all(line.startswith('"') and line.endswith('"') for line in raw.splitlines())  # every value quoted
    blackboard = _read(course / "grades-blackboard.csv")
    assert {r[2]: float(r[3]) for r in blackboard[1:]} == pytest.approx(final)
    assert "|" not in blackboard[0][3]               # no Column ID: Blackboard makes a new column
    # nbgrader's own interface: `nbgrader export --exporter ...` writes the same file
    subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export", "--exporter",
                    "unet_course.grading.export.CanvasExport", "--to", "via-nbgrader.csv"],
                   cwd=course, capture_output=True, check=True, timeout=120)
    assert _read(course / "via-nbgrader.csv") == canvas


@pytest.mark.slow
def test_exports_include_manual_grades_and_leave_missing_work_blank(course):
    course, _ = course
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.update_or_create_student("absent")
        grade = gb.find_grade("test_binarize_label", ASSIGNMENT, ASSIGNMENT, "s00")
        before = grade.auto_score
        grade.manual_score = 2                              # the formgrader's override
        gb.db.commit()
        expected = gb.find_submission(ASSIGNMENT, "s00").score
    try:
        _run(course, "export", "--format", "moodle", "--to", str(course / "manual.csv"))
        rows = {r[2]: r[4] for r in _read(course / "manual.csv")[1:]}
        assert float(rows["s00"]) == pytest.approx(expected) and rows["absent"] == ""
    finally:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            grade = gb.find_grade("test_binarize_label", ASSIGNMENT, ASSIGNMENT, "s00")
            grade.manual_score, grade.auto_score = None, before
            gb.remove_student("absent")
            gb.db.commit()


# --- the class report -----------------------------------------------------------------


@pytest.mark.slow
def test_class_report_on_a_class_of_24(course):
    course, scores = course
    _, dirs = course_directory(course)
    with Gradebook(dirs.db_url) as gb:
        summary = summarize(gb, dirs, ASSIGNMENT)
    assert len(summary.scores) == CLASS
    with Gradebook(dirs.db_url) as gb:
        failed = [n for n in range(CLASS) if gb.find_grade(
            "test_spatial_block_split", ASSIGNMENT, ASSIGNMENT, f"s{n:02d}").score == 0]
    split = summary.items["test_spatial_block_split"]
    assert split.graded == CLASS and split.earned == CLASS - len(failed) and split.share < 0.6
    assert split.failures.most_common(1)[0] == (HINT, sum(1 for n in failed if n % 5))
    assert ("s05", summary.notes[0][1]) == summary.notes[0] and "cell time limit" in summary.notes[0][1]
    assert summary.flagged == ["s07"] and summary.similar is None

    similarity = course / "reports" / "similarity" / ASSIGNMENT / "similarity.csv"
    similarity.parent.mkdir(parents=True)
    similarity.write_text("function,student_a,student_b,score,flagged\n"
                          "spatial_block_split,s01,s02,0.97,true\nbinarize_label,s04,reference,0.99,True\n"
                          "binarize_label,s05,s06,0.41,false\n")
    out = _run(course, "report")
    page = (course / "reports" / "class" / "report.html").read_text()
    assert "wrote" in out and page.count("src='data:image/png;base64,") == 2
    for text in (html.escape(HINT), "s07", "flagged in the gradebook", "cell time limit", "reference", "s01"):
        assert text in page, text
    assert "s06" not in page.split("<h3>Similarity</h3>")[1]         # unflagged pairs left out



# --- feedback pages and the instructor's guide's facts ----------------------------------------------


def test_feedback_template_carries_mathjax_and_padded_tables_without_a_cdn():
    """The course's feedback exporter (as nbgrader_config.py sets it up) on assignment 2's release."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.converters import GenerateFeedback

    from unet_course.grading.feedback import STYLE, FeedbackStyle, OfflineMathJax

    root = Path(__file__).resolve().parents[1]
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    converter = GenerateFeedback(config=config)
    exporter = HTMLExporter(parent=converter, config=converter.config)
    assert exporter.template_name == "unet_feedback"
    nb = nbformat.read(str(root / "assignments" / "a2_losses_metrics" / "a2_losses_metrics.ipynb"), 4)
    for cell in nb.cells:                                    # what GetGrades gives each graded cell
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata.nbgrader["score"] = 0
    resources = {"nbgrader": {"notebook": "a2", "score": 0, "max_score": 20, "late_penalty": 0}}
    for step in (FeedbackStyle, OfflineMathJax):              # after the exporter's own style sheets
        exporter.register_preprocessor(step, enabled=True)
    page, _ = exporter.from_notebook_node(nb, resources=resources)
    assert "cdnjs" not in page and "mathjax@" not in page.lower()
    assert not re.search(r"<script[^>]+src=[\"']https?://", page), "a script from the internet"
    assert "MathJax" in page and len(page) > 2_000_000 and STYLE.strip() in page
    nb1 = nbformat.read(str(root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), 4)
    _, resources1 = OfflineMathJax().preprocess(nb1, {})
    assert resources1["unet_mathjax"] == ""                  # no formulas in assignment 1: no script


def test_the_guide_states_nbgraders_real_exchange_and_identity_rules():
    import inspect

    import nbgrader
    from jupyter_core.paths import SYSTEM_CONFIG_PATH
    from nbgrader import utils
    from nbgrader.exchange.default.exchange import Exchange

    readme = (Path(__file__).resolve().parents[1] / "docs" / "instructors.md").read_text()   # the guide
    default = Exchange.root.default_value
    assert f"default `c.Exchange.root` is `{default}`" in " ".join(readme.split()), default
    assert "default `/srv" not in readme and "by default `/srv" not in readme
    assert "chmod 777" in readme and "/etc/jupyter/nbgrader_config.py" in readme
    assert "/etc/jupyter" in SYSTEM_CONFIG_PATH                  # a system-wide config folder indeed
    source = inspect.getsource(utils.get_username)
    assert "jovyan" in source and "JUPYTERHUB_USER" in source and "`jovyan`" in readme
    assert "--student alice" in readme
    front_door = (Path(__file__).resolve().parents[1] / "README.md").read_text()   # opening the lessons as root
    assert "--allow-root" in front_door
    lab = Path(nbgrader.__file__).parent / "labextension" / "static"
    ids = set(re.findall(r'"@jupyter/(nbgrader:[a-z-]+)"', " ".join(p.read_text() for p in lab.glob("*.js"))))
    for plugin in re.findall(r"labextension disable --level=sys_prefix @jupyter/(nbgrader:[a-z-]+)", readme):
        assert plugin in ids, f"the guide disables {plugin}, which nbgrader {nbgrader.__version__} lacks"
    assert {"nbgrader:formgrader", "nbgrader:create-assignment"} <= set(
        re.findall(r"labextension disable --level=sys_prefix @jupyter/(nbgrader:[a-z-]+)", readme))
