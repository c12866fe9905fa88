"""Any notebook structure grades: read a submission and rebuild it on the gradebook's cells.

What a student's notebook holds is never trusted to say what is graded;
the gradebook's cells are (:func:`.gradebook.master_cells`). Whatever a
student did to the notebook's structure, :func:`read_notebook` and
:func:`restore` leave one copy of each test cell the gradebook knows, where
it can run, with the gradebook's source and points, and one line of
feedback per repair:

- a file that is not notebook JSON is not a notebook (every test scores 0);
  cell ids that are missing, duplicated or invalid are given new ones;
- nbgrader metadata that is not a dict, has no ``grade_id`` (a cell marked
  graded without one) or names a cell the gradebook does not know: the cell
  runs as an ordinary cell;
- a ``grade_id`` that appears more than once (a copied test cell, a split
  cell): the last copy is graded (the setup cell: the first), the others
  run as ordinary cells;
- a test cell placed before a cell it follows in the gradebook (reordered
  cells) is moved back after it; a deleted one is put back where nbgrader
  puts it; a retyped one is changed back; an edited one runs as released.
"""
from __future__ import annotations

import json
import re
import secrets

import nbformat
from nbgrader.preprocessors import ClearHiddenTests

from unet_course.grading.autograde.execute import error_output
from unet_course.grading.autograde.limits import cell_numbers

__all__ = ["read_notebook", "restore", "unreadable", "master_cell"]

_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def _repair_ids(notebook):
    """Give new ids to cells whose id is missing, duplicated or invalid; return how many."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or notebook.get("nbformat") != 4:
        return 0
    if notebook.get("nbformat_minor", 0) < 5 and not any(isinstance(c, dict) and "id" in c for c in cells):
        return 0   # before nbformat 4.5 cells have no ids
    notebook["nbformat_minor"] = max(5, notebook.get("nbformat_minor", 0))
    seen, repaired = set(), 0
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        cell_id = cell.get("id")
        if not (isinstance(cell_id, str) and _CELL_ID.fullmatch(cell_id)) or cell_id in seen:
            cell_id, repaired = secrets.token_hex(4), repaired + 1
            while cell_id in seen:
                cell_id = secrets.token_hex(4)
            cell["id"] = cell_id
        seen.add(cell_id)
    return repaired


def read_notebook(data, name):
    """``(notebook, None)``; ``(notebook, note)`` when its cell ids had to be repaired;
    ``(None, why)`` when ``data`` is not a notebook."""
    try:
        text = data.decode("utf-8")
        raw = json.loads(text)
        repaired = _repair_ids(raw)
        nb = nbformat.reads(json.dumps(raw) if repaired else text, as_version=4)
        nbformat.validate(nb)
    except UnicodeDecodeError:
        return None, f"{name} is not a notebook: it is not text (UTF-8)"
    except Exception as error:  # noqa: BLE001 (json and nbformat raise several kinds)
        first = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        return None, f"{name} is not a notebook: it is not valid notebook JSON ({first})"
    if repaired:
        return nb, (f"{repaired} cell id{'s were' if repaired > 1 else ' was'} missing, duplicated or "
                    f"invalid; new ones were given.")
    return nb, None


def master_cell(cell):
    """A notebook cell made from the gradebook's record of it."""
    meta = {"nbgrader": {"grade": cell["grade"], "grade_id": cell["name"], "locked": cell["locked"],
                         "solution": cell["solution"], "task": cell["task"], "schema_version": 3,
                         "checksum": cell["checksum"]}}
    if cell["grade"]:
        meta["nbgrader"]["points"] = cell["points"]
    if cell["cell_type"] == "code":
        return nbformat.v4.new_code_cell(cell["source"], metadata=meta)
    return nbformat.v4.new_markdown_cell(cell["source"], metadata=meta)


def _released(source):
    """A locked cell's source as released (nbgrader's ``ClearHiddenTests`` applied)."""
    cell = master_cell(source)
    ClearHiddenTests()._remove_hidden_test_region(cell)
    return cell.source


def _set_type(cell, cell_type):
    if cell_type == "code":
        cell.cell_type, cell.outputs, cell.execution_count = "code", [], None
    else:
        cell.cell_type = cell_type
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _grade_id(cell):
    """The cell's ``grade_id`` when its nbgrader metadata is well formed, else ``None``."""
    meta = cell.metadata.get("nbgrader")
    grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
    return grade_id if isinstance(grade_id, str) else None


def _keep_known(nb, known):
    """Strip nbgrader metadata the gradebook cannot stand behind, and duplicates; return notes."""
    notes, copies = [], {}
    claims = {"had no grade_id": [], "had a grade_id not in the gradebook": []}
    for index, cell in enumerate(nb.cells):
        if "nbgrader" not in cell.metadata:
            continue
        grade_id = _grade_id(cell)
        if grade_id in known:
            copies.setdefault(grade_id, []).append(index)
            continue
        meta = cell.metadata.pop("nbgrader")
        if isinstance(meta, dict) and meta.get("grade"):
            what = "had no grade_id" if grade_id is None else "had a grade_id not in the gradebook"
            claims[what].append(index + 1)
    for what, numbers in claims.items():
        if numbers:
            one = len(numbers) == 1
            notes.append(f"{cell_numbers(numbers)} as submitted {'was' if one else 'were'} marked as graded "
                         f"but {what}: " + ("it ran as an ordinary cell and earns nothing." if one else
                                            "they ran as ordinary cells and earn nothing."))
    for grade_id, indices in copies.items():
        if len(indices) == 1:
            continue
        source = known[grade_id]
        keep = indices[0] if source["locked"] and not source["grade"] else indices[-1]
        for index in indices:
            if index != keep:
                del nb.cells[index].metadata["nbgrader"]
        notes.append(f"The cell {grade_id} appeared {len(indices)} times: the "
                     f"{'first' if keep == indices[0] else 'last'} copy was "
                     f"{'graded' if source['grade'] else 'kept'}, the others ran as ordinary cells.")
    return notes


def _put_tests_after(nb, master):
    """Move each test cell placed before a code cell it follows in the gradebook to right after it."""
    notes = []
    for position, source in enumerate(master):
        where = {_grade_id(c): i for i, c in enumerate(nb.cells) if _grade_id(c)}
        index = where.get(source["name"])
        before = [where[c["name"]] for c in master[:position] if c["cell_type"] == "code" and c["name"] in where]
        if not source["grade"] or index is None or not before or index > max(before):
            continue
        target = max(before)
        follows = _grade_id(nb.cells[target])
        nb.cells.insert(target, nb.cells.pop(index))   # after the pop, ``target`` is just after it
        notes.append(f"The test cell {source['name']} had been moved before {follows}, which comes "
                     f"first in the assignment; it was moved back after it.")
    return notes


def restore(nb, master):
    """Make every cell the gradebook knows as released; put missing test cells back.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The submitted notebook (changed in place).
    master : list of dict
        The gradebook's cells of this notebook, in order.

    Returns
    -------
    list of str
        One note per change made, for the feedback.
    """
    known = {cell["name"]: cell for cell in master}
    notes = _keep_known(nb, known)
    for cell in nb.cells:
        grade_id = _grade_id(cell)
        if grade_id is None:
            continue
        source = known[grade_id]
        if cell.cell_type != source["cell_type"]:
            notes.append(f"Cell {grade_id} had been changed from {source['cell_type']} to "
                         f"{cell.cell_type}; it was changed back.")
            _set_type(cell, source["cell_type"])
        cell.metadata["nbgrader"] = master_cell(source).metadata["nbgrader"]
        if source["locked"] and cell.source != source["source"]:
            if source["grade"] and cell.source.strip() != _released(source).strip():
                notes.append(f"The test cell {grade_id} had been edited; the released one was run.")
            cell.source = source["source"]
    notes += _put_tests_after(nb, master)
    present = {_grade_id(cell) for cell in nb.cells} - {None}
    order = [cell["name"] for cell in master]
    for position, cell in enumerate(master):
        if cell["name"] in present or not (cell["grade"] or cell["locked"]):
            continue
        after = next((name for name in reversed(order[:position]) if name in present), None)
        index = 0 if after is None else 1 + next(i for i, c in enumerate(nb.cells) if _grade_id(c) == after)
        nb.cells.insert(index, master_cell(cell))
        present.add(cell["name"])
        if cell["grade"]:
            notes.append(f"The test cell {cell['name']} was missing; the released one was put back.")
    return notes


def unreadable(master, why):
    """The released cells with every test failed, for a file that is not a notebook."""
    nb = nbformat.v4.new_notebook(cells=[master_cell(cell) for cell in master])
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata["nbgrader"]["grade"]:
            cell.outputs = [error_output("NotANotebook", f"not run: {why}")]
    return nb
