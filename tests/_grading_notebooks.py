"""Helpers of the grading tests: the solution notebooks' functions, as a student's kernel has them."""
from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"


def solution_notebook(assignment):
    """The source notebook of an assignment (``solutions/<assignment>/<assignment>.ipynb``)."""
    return nbformat.read(str(SOLUTIONS / assignment / f"{assignment}.ipynb"), as_version=4)


def solution_namespace(assignment, replace=None):
    """Run the setup cell and every solution cell of an assignment in a fresh namespace.

    Parameters
    ----------
    replace : tuple (grade_id, old, new), optional
        Replace ``old`` by ``new`` in one solution cell first (a crafted wrong answer).

    Returns
    -------
    dict
        The namespace, like the globals of a student's kernel.
    """
    namespace = {"__name__": "__main__"}
    for cell in solution_notebook(assignment).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not (meta.get("grade_id") == "setup" or meta.get("solution")):
            continue
        source = cell.source
        if replace and meta.get("grade_id") == replace[0]:
            assert replace[1] in source, f"{replace[1]!r} not in the solution of {replace[0]}"
            source = source.replace(replace[1], replace[2])
        exec(compile(source, f"<{assignment}:{meta['grade_id']}>", "exec"), namespace)
    return namespace


def define(source, namespace=None):
    """Execute ``source`` (a student's cell) in a new or given namespace and return it."""
    namespace = {"__name__": "__main__"} if namespace is None else namespace
    exec(compile(source, "<student cell>", "exec"), namespace)
    return namespace
