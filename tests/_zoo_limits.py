"""Zoo cases for limits and notebook structure (issue 20, items 7-9), merged into the zoo's class.

Each is the correct solution with one thing wrong; a limit or a repair
costs at most the one item it touches, with one line of feedback:

- **output** of every kind counts: a 10 MB ``print`` right after the setup
  cell, 10 MB of JSON mime bundles, a display updated 300 times with
  100 KB, and ten cells that each stay under the cell cap but together pass
  the notebook's; every item still graded;
- **time**: an endless loop inside one graded function costs that item;
- **structure**: a test cell copied above its answer, a cell marked graded
  without a ``grade_id`` (worth 100 points, if it were believed), cell ids
  missing or invalid, a test cell moved above its answer.
"""
from __future__ import annotations

import json

import nbformat

OUTPUT = "more than the output limit"


def limit_cases(solution):
    """``{student: (notebook or bytes, expected score, words its feedback must show)}``."""
    from test_autograde_zoo import POINTS, TOTAL, _cells, _edit, _insert_after

    def move_before(nb, grade_id, before):
        out = nbformat.from_dict(nb)
        cell = out.cells.pop(_cells(out, grade_id))
        out.cells.insert(_cells(out, before), cell)
        return out

    def copied_above(nb, grade_id, before):
        out = nbformat.from_dict(nb)
        copy = nbformat.from_dict(out.cells[_cells(out, grade_id)])
        copy.id = "pasted-copy"
        out.cells.insert(_cells(out, before), copy)
        return out

    def without_ids(nb):
        raw = json.loads(nbformat.writes(nb))
        for cell in raw["cells"]:
            cell.pop("id", None)
        raw["cells"][0]["id"] = "an id with spaces?"
        return json.dumps(raw).encode()

    free_points = nbformat.v4.new_code_cell("print('free points')", metadata={"nbgrader": {
        "grade": True, "points": 100, "locked": False, "solution": False, "schema_version": 3}})
    with_free_points = nbformat.from_dict(solution)
    with_free_points.cells.insert(_cells(with_free_points, "setup") + 1, free_points)
    # The last item, which no later cell calls (a loop in building_fraction would cost cell 21's time
    # too); the loop waits rather than spins, so that the CPU stays free for the other worker.
    loop = _edit(solution, "spatial_block_split", lambda nb, i: setattr(
        nb.cells[i], "source", nb.cells[i].source.replace(
            "    origins = np.asarray(origins, dtype=np.float64)\n",
            "    while True:\n        __import__('time').sleep(0.1)\n")))
    flood_cells = solution
    for _ in range(10):
        flood_cells = _insert_after(flood_cells, "setup", "print('z' * 250_000)")
    return {
        "big-print-after-setup": (_insert_after(solution, "setup", "print('x' * 10**7)"), TOTAL, OUTPUT),
        "json-flood": (_insert_after(solution, "setup", "from IPython.display import display\n"
                                     "for i in range(100):\n"
                                     "    display({'application/json': {'k': ['v' * 1000] * 100}}, raw=True)"),
                       TOTAL, OUTPUT),
        "display-update-flood": (_insert_after(solution, "setup", "from IPython.display import display\n"
                                               "handle = display('a', display_id=True)\n"
                                               "for i in range(300):\n"
                                               "    handle.update({'text/plain': 'u' * 100_000}, raw=True)"),
                                 TOTAL, OUTPUT),
        "floods-many-cells": (flood_cells, TOTAL, "The notebook's outputs reached"),
        "loop-in-one-item": (loop, TOTAL - POINTS["spatial_block_split"], "interrupted at the cell time limit"),
        "copied-test-cell": (copied_above(solution, "test_building_fraction", "building_fraction"), TOTAL,
                             "appeared 2 times: the last copy was graded"),
        "graded-without-grade-id": (with_free_points, TOTAL, "marked as graded but had no grade_id"),
        "missing-cell-ids": (without_ids(solution), TOTAL, "new ones were given"),
        "reordered-cells": (move_before(solution, "test_positive_class_weight", "positive_class_weight"),
                            TOTAL, "it was moved back after it"),
    }
