"""The bad-submission zoo: one ``unet-course autograde --workers 2`` run over a mixed class.

A temporary nbgrader course (outside the repository) holds assignment 1 (the
fastest: numpy only), three correct students, the crafted wrong answers of
the nbgrader end-to-end test, and every broken or hostile submission below,
each correct except for what it does wrong. One run grades them all in the
real sandbox (bubblewrap), on a real local Dask cluster (loopback). Then
``nbgrader generate_feedback`` and ``nbgrader export`` run as usual, and:

- every student has exactly the expected score (export's ``grades.csv``);
- each zoo submission's feedback page says what happened, in one line (a
  limit hit or a repaired structure: exactly one grading note);
- the tamperers, and only they, are flagged in the gradebook;
- the gradebook passes SQLite's integrity check and its stored test cells
  are unchanged; no solution, gradebook or other student's work leaked into
  any output; the loopback server saw no connection;
- no graded notebook keeps more than the output cap;
- a second run grades nothing; with one graded notebook removed, it grades
  only that one (an interrupted run resumes).
"""
from __future__ import annotations

import csv
import json
import socket
import sqlite3
import subprocess
import sys
import threading

import nbformat
import pytest

from unet_course import grading
from unet_course.grading.autograde.limits import NOTEBOOK_OUTPUT_CELLS

from _autograde_course import make_course
from _notebook_cells import cell_index as _cells, insert_after as _insert_after
from _zoo_limits import limit_cases
from _zoo_verdict import zoo as verdict_zoo
from test_nbgrader_e2e import ROOT, SCRIPTS, WRONG, _env, expected_scores, nbgrader, submissions

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

A1 = "a1_data_imbalance"
POINTS = grading.ITEMS[A1]
TOTAL = grading.total_points(A1)
CHANGED = "the grading environment was changed by this notebook"
CELL_TIMEOUT = 25
OUTPUT_KB = 256


def _listener():
    """A loopback TCP server that records any connection (none may arrive)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    seen, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            seen.append(conn.recv(100))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server.getsockname()[1], seen, stop


def _edit(nb, grade_id, change):
    out = nbformat.from_dict(nb)
    change(out, _cells(out, grade_id))
    return out


def zoo(solution, course, port):
    """``{student: (notebook or bytes, expected score, words its feedback must show)}``."""
    gradebook = course / "gradebook.db"
    leak = (f"import glob\nfor p in ['../../../solutions/{A1}/{A1}.ipynb', '{course}/solutions/{A1}/{A1}.ipynb',"
            f" '{course}/submitted/solution-1/{A1}/{A1}.ipynb', '{gradebook}', '/root/.bashrc']:\n"
            f"    try:\n        print('LEAK', open(p).read()[:80])\n    except OSError as e:\n"
            f"        print('blocked', type(e).__name__)\nprint(glob.glob('{course}/*'))")
    sql = (f"import sqlite3\nfor p in ['{gradebook}', '../../../gradebook.db']:\n    try:\n"
           f"        db = sqlite3.connect(p)\n        db.execute({{q!r}})\n        db.commit()\n"
           f"        print('WROTE', p)\n    except Exception as e:\n        print('blocked', e)")
    first = lambda nb, i: nb.cells.pop(i)  # noqa: E731

    def upto(grade_id):
        """Points of the test cells up to and including ``grade_id``, in notebook order."""
        meta = [c.metadata.get("nbgrader", {}) for c in solution.cells]
        end = next(i for i, m in enumerate(meta) if m.get("grade_id") == grade_id)
        return sum(m.get("points", 0) for m in meta[:end + 1] if m.get("grade"))

    last = [c.metadata["nbgrader"]["grade_id"] for c in solution.cells
            if c.metadata.get("nbgrader", {}).get("grade")][-1]
    return {**verdict_zoo(solution, nbformat.read(str(course / "assignments" / A1 / f"{A1}.ipynb"), as_version=4), POINTS, TOTAL),
        "syntax-error": (_edit(solution, "positive_class_weight", lambda nb, i: setattr(
            nb.cells[i], "source", "def positive_class_weight(masks):\n    return (")),
            TOTAL - POINTS["positive_class_weight"], "SyntaxError"),
        # A limit costs the one cell that hit it (issue 20, item 9): these cells are not graded
        # themselves, so the time-outs and the memory bomb (once scored up to the cell) lose nothing.
        "infinite-loop": (_insert_after(solution, "test_building_fraction", "while True:\n    pass"),
                          TOTAL, "interrupted at the cell time limit"),
        "sleeps-forever": (_insert_after(solution, "test_building_fraction",
                                         "import time\ntime.sleep(10**6)"), TOTAL, "interrupted at the cell time limit"),
        "memory-bomb": (_insert_after(solution, "test_all_background_accuracy",
                                      "x = []\nwhile True:\n    x.append(bytearray(10**8))"),
                        TOTAL, "ran out of memory"),
        "os-exit": (_insert_after(solution, "test_building_fraction", "import os\nos._exit(1)"),
                    TOTAL, "The kernel stopped in cell"),
        "deleted-test-cell": (_edit(solution, "test_positive_class_weight", first), TOTAL,
                              "was missing; the released one was put back"),
        "edited-test-cell": (_edit(solution, "test_binarize_label", lambda nb, i: setattr(
            nb.cells[i], "source", "print('all good')")), TOTAL, "had been edited"),
        "changed-cell-type": (_edit(solution, "test_building_fraction", lambda nb, i: nb.cells.__setitem__(
            i, nbformat.v4.new_markdown_cell(nb.cells[i].source, metadata=nb.cells[i].metadata))),
            TOTAL, "it was changed back"),
        "inserted-cells": (_insert_after(_insert_after(solution, "setup", "helper = 41 + 1"), "setup",
                                         "print('my notes')"), TOTAL, None),
        "renamed-function": (_edit(solution, "positive_class_weight", lambda nb, i: setattr(
            nb.cells[i], "source", nb.cells[i].source.replace("def positive_class_weight", "def class_weight"))),
            TOTAL - POINTS["positive_class_weight"], "NameError"),
        # The five tamperers below change the kernel's grading objects (the checks, the exception
        # handler, AssertionError, numpy, gc's walk). The checks now run in the grader on the
        # kernel's data, so none of that reaches a verdict: each earns what its (correct) functions
        # answer, the full marks, and is still flagged for the instructor (issue 20's policy). Before,
        # the test cells after the change scored 0 because the verdict was computed in the kernel.
        "checks-replaced": (_insert_after(solution, "test_binarize_label",
                                          "from unet_course import grading\nfor n in dir(grading):\n"
                                          "    if n.startswith('check_'):\n"
                                          "        setattr(grading, n, lambda *a, **k: None)"),
                            TOTAL, CHANGED),
        "custom-exception-handler": (_insert_after(solution, "setup",
                                                   "get_ipython().set_custom_exc((BaseException,), "
                                                   "lambda *a, **k: None)"), TOTAL, CHANGED),
        "patched-assert": (_insert_after(solution, "setup", "import builtins\n"
                                         "builtins.AssertionError = type('AssertionError', (Exception,), {})"),
                           TOTAL, CHANGED),
        "patched-numpy": (_insert_after(solution, "setup", "np.array_equal = lambda *a, **k: True"), TOTAL, CHANGED),
        # Still 0, for a new reason: a transformer that drops every expression statement drops the
        # grader's requests too, so the kernel never answers, and no answer earns nothing.
        "ast-transformer": (_insert_after(solution, "setup", "import ast\nclass Drop(ast.NodeTransformer):\n"
                                          "    def visit_Expr(self, node):\n        return None\n"
                                          "get_ipython().ast_transformers.append(Drop())"), 0, CHANGED),
        "gc-walk": (_insert_after(solution, "setup", "import gc\nlen(gc.get_objects())"), TOTAL, CHANGED),
        "reads-solutions": (_insert_after(solution, "setup", leak), TOTAL, None),
        "writes-gradebook": (_insert_after(solution, "setup", sql.format(
            q="UPDATE grade SET manual_score = 0")), TOTAL, None),
        "rewrites-test-cell": (_insert_after(solution, "setup", sql.format(
            q="UPDATE source_cell SET source = 'pass'")), TOTAL, None),
        "writes-package": (_insert_after(solution, "setup", "import unet_course.grading.common as c\n"
                                         "try:\n    open(c.__file__, 'a').write('#')\n"
                                         "except OSError as e:\n    print('blocked', e)"), TOTAL, None),
        "network": (_insert_after(solution, "setup", f"import socket\ntry:\n"
                                  f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).send(b'hi')\n"
                                  f"except OSError as e:\n    print('blocked', e)"), TOTAL, None),
        # The output cap now cuts and goes on, with its own line (item 9): the score was and stays full.
        "prints-100mb-lines": (_insert_after(solution, last,
                                             "for i in range(10**6):\n    print('x' * 99)"),
                               TOTAL, "more than the output limit"),
        "prints-100mb-one-line": (_insert_after(solution, last,
                                                "print('x' * 10**8)"), TOTAL, "more than the output limit"),
        "not-json": (b"\x89PNG\r\n\x1a\n\x00\x00garbage", 0, "is not a notebook"),
        "truncated-json": (b'{"cells": [', 0, "is not a notebook"),
    } | limit_cases(solution)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course, graded in one run; then feedback and export."""
    course = tmp_path_factory.mktemp("zoo") / "course"
    plain = submissions(A1, *make_course(course, A1))
    port, seen, stop = _listener()
    expected, words = dict(expected_scores(A1)), {}
    subs = dict(plain)
    for n in (1, 2):
        subs[f"solution-{n}"] = plain["solution"]
        expected[f"solution-{n}"] = TOTAL
    for student, (nb, score, phrase) in zoo(plain["solution"], course, port).items():
        subs[student], expected[student], words[student] = nb, score, phrase
    for student, nb in subs.items():
        target = course / "submitted" / student / A1 / f"{A1}.ipynb"
        target.parent.mkdir(parents=True)
        if isinstance(nb, bytes):
            target.write_bytes(nb)
        else:
            nbformat.write(nb, str(target))
    with sqlite3.connect(course / "gradebook.db") as db:
        cells_before = db.execute("SELECT name, source FROM source_cell ORDER BY name").fetchall()
    run = autograde(course, "--workers", "2", "--cell-timeout", str(CELL_TIMEOUT),
                    "--notebook-timeout", "300", "--memory", "3072", "--output-kb", str(OUTPUT_KB))
    stop.set()
    nbgrader(course, "generate_feedback", A1, "--force")
    nbgrader(course, "export")
    with open(course / "grades.csv", newline="") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    return {"course": course, "run": run, "rows": rows, "expected": expected, "words": words,
            "seen": seen, "cells_before": cells_before, "solution": plain["solution"]}


def autograde(course, *args):
    """``unet-course autograde A1 ARGS`` in ``course``; the finished process."""
    return subprocess.run([sys.executable, "-m", "unet_course", "autograde", A1, *args],
                          cwd=course, env={**_env(), "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=900)


def test_every_score_is_exact(graded):
    """Correct students full marks, each broken or hostile one exactly what it earned."""
    assert graded["run"].returncode == 0, graded["run"].stdout + graded["run"].stderr[-3000:]
    got = {student: float(row["score"]) for student, row in graded["rows"].items()}
    assert got == {s: float(v) for s, v in graded["expected"].items()}, graded["run"].stdout


def test_feedback_says_what_happened(graded):
    """Each zoo submission's feedback page shows its one line."""
    for student, phrase in graded["words"].items():
        page = graded["course"] / "feedback" / student / A1 / f"{A1}.html"
        assert page.is_file(), f"no feedback for {student}"
        if phrase:
            assert phrase in page.read_text(), f"{student}: {phrase!r} not in its feedback"


def test_a_limit_or_a_repair_is_one_line(graded):
    """The limit and structure cases (and the limit cases of before): exactly one grading note each."""
    from unet_course.grading.autograde.worker import NOTES_TITLE

    limited = ("infinite-loop", "sleeps-forever", "memory-bomb", "prints-100mb-lines", "prints-100mb-one-line")
    for student in [*limited, *limit_cases(graded["solution"])]:
        nb = nbformat.read(str(graded["course"] / "autograded" / student / A1 / f"{A1}.ipynb"), as_version=4)
        assert nb.cells[0].source.startswith(NOTES_TITLE), student
        lines = [line for line in nb.cells[0].source.splitlines() if line.startswith("- ")]
        assert len(lines) == 1 and graded["words"][student] in lines[0], f"{student}: {lines}"


def test_tamperers_are_flagged(graded):
    """The gradebook flags exactly the submissions that changed the grading environment."""
    with sqlite3.connect(graded["course"] / "gradebook.db") as db:
        rows = db.execute("SELECT student.id, submitted_notebook.flagged FROM submitted_notebook "
                          "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
                          "JOIN student ON submitted_assignment.student_id = student.id").fetchall()
    flagged = {student for student, flag in rows if flag}
    assert flagged == {s for s, phrase in graded["words"].items() if phrase == CHANGED}


def test_gradebook_and_files_are_intact(graded):
    """SQLite's integrity check passes, test cells unchanged; nothing leaked, no connection."""
    course = graded["course"]
    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT name, source FROM source_cell ORDER BY name").fetchall() == graded["cells_before"]
    for student in ("reads-solutions", "writes-gradebook", "rewrites-test-cell", "writes-package", "network"):
        nb = nbformat.read(str(course / "autograded" / student / A1 / f"{A1}.ipynb"), as_version=4)
        text = json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])
        assert "LEAK" not in text and "WROTE" not in text and "blocked" in text, f"{student}: {text[:2000]}"
    assert graded["seen"] == []
    assert not (ROOT / "unet_course" / "grading" / "common.py").read_text().endswith("#")


def test_output_is_capped(graded):
    """Every kind of output counted: 100 MB printed or floods of rich output leave a graded notebook
    under 1 MB; ten cells just under the cell cap, under the notebook's cap."""
    def size(student):
        return (graded["course"] / "autograded" / student / A1 / f"{A1}.ipynb").stat().st_size

    for student in ("prints-100mb-lines", "prints-100mb-one-line", "big-print-after-setup", "json-flood",
                    "display-update-flood"):
        assert size(student) < 1 << 20, f"{student}: {size(student)} bytes"
    assert size("floods-many-cells") < (NOTEBOOK_OUTPUT_CELLS * OUTPUT_KB + 128) * 1024


def test_rerun_grades_only_what_is_missing(graded):
    """Run again: nothing to grade; remove one graded notebook: only that one is graded."""
    course = graded["course"]
    again = autograde(course, "--quiet")
    assert again.returncode == 0 and " 0 to grade" in again.stdout, again.stdout + again.stderr
    (course / "autograded" / "solution-2" / A1 / f"{A1}.ipynb").unlink()
    resumed = autograde(course, "--quiet", "--cell-timeout", str(CELL_TIMEOUT))
    assert resumed.returncode == 0 and " 1 to grade" in resumed.stdout, resumed.stdout + resumed.stderr
    assert "solution-2" in resumed.stdout and f"{float(TOTAL):6.1f}" in resumed.stdout


def test_refuses_without_sandbox(tmp_path, graded):
    """No bubblewrap on PATH: the command refuses and says why, unless --no-sandbox."""
    env = {**_env(), "PYTHONPATH": str(ROOT), "PATH": str(SCRIPTS)}
    done = subprocess.run([sys.executable, "-m", "unet_course", "autograde", A1, "--force"],
                          cwd=graded["course"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "refusing to grade without a sandbox" in done.stderr and "--no-sandbox" in done.stderr
    assert len(WRONG[A1]) == 3  # the e2e test's wrong answers are part of this class
