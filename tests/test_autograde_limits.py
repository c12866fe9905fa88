"""A limit costs one cell, even when the kernel will not stop: one sandboxed notebook, short limits.

A cell that catches ``KeyboardInterrupt`` and goes on looping is interrupted
at its time limit and does not answer: the kernel is restarted, the cells
before it run again without it, and the test cells after it are graded as
usual (the names the earlier cells defined are back, the looping cell's are
not). The zoo (``tests/test_autograde_zoo.py``) has the plain time-out, the
memory limit and the output cap in a whole class.
"""
from __future__ import annotations

import nbformat
import pytest
from nbgrader import utils

from unet_course.grading.autograde.execute import execute
from unet_course.grading.autograde.limits import Limits
from unet_course.grading.autograde.sandbox import sandbox_problem

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

STUBBORN = """import time
stubborn = True
while True:
    try:
        time.sleep(100)
    except KeyboardInterrupt:
        pass"""


def _test(source, grade_id):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": grade_id, "locked": True, "points": 1, "solution": False,
        "task": False, "schema_version": 3}})


def test_a_kernel_that_ignores_the_interrupt_is_restarted_without_that_cell(tmp_path):
    if sandbox_problem():
        pytest.skip(sandbox_problem())
    folders = [tmp_path / name for name in ("work", "home", "sockets")]
    for folder in folders:
        folder.mkdir(mode=0o700)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 41"), _test("assert x == 41", "before"),
        nbformat.v4.new_code_cell(STUBBORN), _test("assert x == 41 and 'stubborn' not in dir()", "after"),
        nbformat.v4.new_code_cell("x += 1"), _test("assert x == 42", "last")])
    outcome = execute(nb, folders, Limits(cell_timeout=3, notebook_timeout=120), "none")
    assert [utils.determine_grade(nb.cells[i])[0] for i in (1, 3, 5)] == [1, 1, 1], nb.cells
    assert outcome.limit == "cell" and outcome.deaths == 0
    assert outcome.notes == ["Cell 3 was interrupted at the cell time limit (3 s); grading went on with the next cell."]
