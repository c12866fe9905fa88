"""Helper of the autograde tests: a fresh nbgrader course directory with one generated assignment."""
from __future__ import annotations

import shutil

import nbformat

from test_nbgrader_e2e import ROOT, nbgrader


def make_course(course, assignment):
    """``generate_assignment`` in ``course``; return ``(source notebook, released notebook)``."""
    (course / "solutions").mkdir(parents=True)
    assert ROOT not in course.parents, "the course directory must be outside the repository"
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
    nbgrader(course, "generate_assignment", assignment, "--force")
    name = f"{assignment}.ipynb"
    return (nbformat.read(str(course / "solutions" / assignment / name), as_version=4),
            nbformat.read(str(course / "assignments" / assignment / name), as_version=4))
