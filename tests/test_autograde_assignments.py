"""Assignments 2 to 5 graded by ``unet-course autograde``: the checks in the grader, the kernel's data.

Assignment 1 goes through the zoo (``test_autograde_zoo.py``). For each
other assignment, one small class in a temporary nbgrader course: the
solution (full automatic marks), the blank release (0) and one of the
end-to-end test's wrong answers, chosen to cross the protocol where it is
least plain: a reference called in a sandbox that has none (assignments 2
and 5), ``build_unet`` on the package's blocks sent as data (3), a compiled
optimizer that comes back as its Keras config (4; the solution's training
run, whose history and weights come back as data, is the one training of
this file). Two assignments at a time.
"""
from __future__ import annotations

import csv
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

from unet_course import grading

from _autograde_course import make_course
from test_nbgrader_e2e import ROOT, _env, expected_scores, nbgrader, submissions

pytestmark = pytest.mark.slow

#: The wrong answer each class holds (see the module's docstring).
WRONG_ONE = {"a2_losses_metrics": "shortcut-iou", "a3_unet_blocks": "shallow-unet",
             "a4_train_evaluate": "constant-rate", "a5_footprints": "shortcut-match"}


def _grade(assignment, tmp):
    course = tmp / assignment / "course"
    subs = submissions(assignment, *make_course(course, assignment))
    students = ["solution", "blank", WRONG_ONE[assignment]]
    for student in students:
        target = course / "submitted" / student / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(subs[student], str(target))
    done = subprocess.run([sys.executable, "-m", "unet_course", "autograde", assignment, "--workers", "1",
                           "--quiet"], cwd=course, env={**_env(), "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=1200)
    nbgrader(course, "generate_feedback", assignment, "--force")
    nbgrader(course, "export")
    with open(course / "grades.csv", newline="") as file:
        rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)}
    return {"course": course, "run": done, "scores": rows, "students": students}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("assignments")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {a: pool.submit(_grade, a, tmp) for a in sorted(WRONG_ONE, reverse=True)}
        return {a: f.result() for a, f in futures.items()}


@pytest.mark.parametrize("assignment", sorted(WRONG_ONE))
def test_scores_are_exact_when_the_grader_decides(graded, assignment):
    result = graded[assignment]
    assert result["run"].returncode == 0, result["run"].stdout + result["run"].stderr[-3000:]
    manual = sum(grading.MANUAL.get(assignment, {}).values())
    expected = expected_scores(assignment)
    want = {s: float(expected[s] - (manual if s == "solution" else 0)) for s in result["students"]}
    assert result["scores"] == want, result["run"].stdout


@pytest.mark.parametrize("assignment", sorted(WRONG_ONE))
def test_feedback_shows_the_graders_messages(graded, assignment):
    result = graded[assignment]
    pages = {s: (result["course"] / "feedback" / s / assignment / f"{assignment}.html").read_text()
             for s in result["students"]}
    assert "is not written yet" in pages["blank"]
    assert "Check failed:" in pages[WRONG_ONE[assignment]]
    if WRONG_ONE[assignment].startswith("shortcut"):
        assert "is not available while grading" in pages[WRONG_ONE[assignment]]
    assert "Check failed:" not in pages["solution"] and "NoAnswer" not in pages["solution"]
