"""No grading message or hint hands over a line of the solution (issue 11, item 4).

Every string literal of the grading package (hints, messages, the pieces of
f-strings) is compared with every line of every solution cell of
``solutions/*.ipynb``, after the same normalisation: an assignment's left-hand
side and a leading ``return`` are dropped (the expression is the answer),
spaces removed, single quotes read as double quotes. Lines shorter than
``SHORTEST`` characters after that (``return model``) say nothing a hint could give away.
"""
import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
GRADING = ROOT / "unet_course" / "grading"
SHORTEST = 12
_TARGET = re.compile(r"^[A-Za-z_][\w.\[\]'\"]*\s*(?:[-+*/]?=)(?!=)\s*")


def normalise(text):
    return re.sub(r"\s+", "", text).replace("'", '"')


def expression(line):
    """The part of a solution line that answers: without ``x =``, ``return`` or a comment."""
    line = line.split("#", 1)[0].strip()
    line = re.sub(r"^return\s+", "", line)
    return normalise(_TARGET.sub("", line, count=1))


_NAME = re.compile(r'("[^"]*")|(?<![\w.])(?!(?:and|or|not|if|else|for|in|is|None|True|False)\b)'
                   r'[A-Za-z_]\w*(?![\w(.])')
#: Length below which an expression with its variables blanked out is too generic to compare.
SHORTEST_SHAPE = 8


def shape(text):
    """``text`` normalised with every plain variable name blanked out: ``"tp":_&_,``.

    Catches a hint that gives a solution line with other variable names
    (``{'tp': y & p}`` for ``"tp": actual & predicted``). Calls, attributes and
    string literals stay.
    """
    return _NAME.sub(lambda m: m.group(1) or "_", normalise(text))


def solution_lines():
    """``(assignment, grade_id, line, expression)`` for each line between BEGIN and END SOLUTION."""
    found = []
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("solution"):
                continue
            inside = False
            for line in cell.source.splitlines():
                if "### BEGIN SOLUTION" in line or "### END SOLUTION" in line:
                    inside = "BEGIN" in line
                    continue
                if inside and len(expression(line)) >= SHORTEST:
                    found.append((path.parent.name, meta["grade_id"], line.strip(), expression(line)))
    return found


def grading_strings():
    """``(file, line number, normalised text)`` of every string literal in the grading package.

    Docstrings are left out: students read messages and hints, not the grading code.
    """
    strings = []
    for path in sorted(GRADING.glob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in docstrings):
                strings.append((path.name, node.lineno, normalise(node.value)))
    return strings


def calls_a_graded_function(expr):
    """``True`` for ``error_map_masks(y_true,y_pred)``: a message names such calls by design."""
    from unet_course import grading
    names = {name for items in grading.ITEMS.values() for name in items}
    match = re.fullmatch(r"(\w+)\([\w,=]*\)", expr)
    return bool(match) and match.group(1) in names


def test_there_are_solution_lines_and_hints_to_compare():
    lines, strings = solution_lines(), grading_strings()
    assert len(lines) > 60
    assert {assignment for assignment, *_ in lines} >= {"a1_data_imbalance", "a2_losses_metrics",
                                                         "a3_unet_blocks", "a4_train_evaluate"}
    assert any("Hint" in text or "hint" in text for *_, text in strings)


def test_the_scan_finds_a_solution_line_in_a_string():
    """The comparison itself: a hint that quotes a line (other spacing and quotes) is caught."""
    line = 'x = Concatenate()([up, connections])'
    assert expression(line) in normalise("then Concatenate()( [up,connections] ) and two pairs")
    assert expression('return {"tp": y & p}') == normalise("{'tp': y & p}")


def test_the_scan_sees_a_line_under_other_names():
    assert shape('"tp": actual & predicted,') in shape("return {'tp': y & p, 'fp': ~y & p}")
    assert shape("x = ops.sum(a * b)") not in shape("the sum of y times p over every pixel")


def test_no_hint_or_message_contains_a_solution_line():
    strings = grading_strings()
    leaks = [f"{name}:{lineno} holds {assignment}/{grade_id}'s line `{line}`"
             for assignment, grade_id, line, expr in solution_lines()
             if not calls_a_graded_function(expr)
             for name, lineno, text in strings if expr in text]
    assert not leaks, "\n".join(leaks)


def test_no_hint_or_message_contains_a_solution_line_under_other_names():
    strings = [(name, lineno, shape(text)) for name, lineno, text in grading_strings()]
    leaks = sorted({f"{name}:{lineno} holds {assignment}/{grade_id}'s line `{line}`"
                    for assignment, grade_id, line, expr in solution_lines()
                    if len(shape(expr)) >= SHORTEST_SHAPE and not calls_a_graded_function(expr)
                    for name, lineno, text in strings if shape(expr) in text})
    assert not leaks, "\n".join(leaks)
