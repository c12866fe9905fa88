"""The lessons' practice exercises: solutions pass, wrong answers fail, blanks say what is missing.

Every lesson notebook holds at least two exercises with a ``.check()`` call and
shows package code with ``show_source``, never the code an assignment grades.
"""
from __future__ import annotations

import ast
import importlib
import linecache
import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from unet_course import grading
from unet_course.grading.common import Item
from unet_course.lessons import practice
from unet_course.lessons.practice.exercise import WIDTH, wrapped
from unet_course.lessons.blocks import block_parameter_formula
from unet_course.losses import dice_loss_np
from unet_course.metrics import confusion_counts, scores_from_counts

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "course").glob("[0-9][0-9]_*.ipynb"))
BY_NAME = {exercise.name: exercise for exercise in practice.ALL}

#: At least one wrong answer per exercise, each a classic mistake.
WRONG = {
    "scale_tile": ["def scale_tile(image):\n    return image / 256",
                   "def scale_tile(image):\n    return image / 255",             # float64
                   "def scale_tile(image):\n    return image.astype(np.float32)"],
    "tile_distance": ["def tile_distance(a, b, s):\n    return math.hypot(a[0] - b[0], a[1] - b[1]) / s",
                      "def tile_distance(a, b, s):\n    return (abs(a[0] - b[0]) + abs(a[1] - b[1])) / s"],
    "pixel_accuracy": ["def pixel_accuracy(y, p):\n    return np.mean(y * p)",
                       "def pixel_accuracy(y, p):\n    return np.sum(y == p)"],
    "best_p": ["best_p = 0.5", "best_p = 0.1"],
    "dice_missed": ["dice_missed = 1.0", "dice_missed = 0.09"],
    "dice_everything": ["dice_everything = 1 - 2 * 0.15 / 1.15", "dice_everything = 0.95"],
    "found_count": ["def found_count(c, m):\n    return int(np.sum(c > m))",
                    "def found_count(c, m):\n    return np.mean(c >= m)"],
    "kernel_fan_in": ["def kernel_fan_in(s):\n    return s[0] * s[1] * s[2] * s[3]",
               "def kernel_fan_in(s):\n    return s[0] * s[1] * s[3]"],
    "gain": ["def gain(n, v):\n    return n * v", "def gain(n, v):\n    return v / 2"],
    "rms_after_10": ["rms_after_10 = 0.5 ** 10", "rms_after_10 = 1.0"],
    "inverted_dropout": ["def inverted_dropout(v, k, r):\n    return v * k",
                         "def inverted_dropout(v, k, r):\n    return v * k * (1 - r)"],
    "spatial_dropout": ["def spatial_dropout(f, d, r):\n    return f * ~d",
                        "def spatial_dropout(f, d, r):\n    return f / (1 - r)"],
    "conv_params": ["def conv_params(k, a, b):\n    return k * k * a * b",
                    "def conv_params(k, a, b):\n    return k * k * a * b + a"],
    "decoder_params": ["decoder_params = (2 * 2 * 32 * 16 + 16) + (3 * 3 * 16 * 16 + 16) * 2",
                       "decoder_params = 9008.5"],
    "learning_rate": ["def learning_rate(s):\n    return 1e-3 * 0.9 ** (s // 1000)",
                      "def learning_rate(s):\n    return 1e-3 * 0.9 * s / 1000"],
    "half_life_steps": ["half_life_steps = 5000", "half_life_steps = 1000 * np.log(0.9) / np.log(0.5)"],
    "stopped_at": [
        # ties count as improvements
        "def stopped_at(v, p):\n    best, wait = 9e9, 0\n    for e, x in enumerate(v, 1):\n"
        "        best, wait = (x, 0) if x <= best else (best, wait + 1)\n"
        "        if wait >= p:\n            return e\n    return len(v)",
        # the count never starts again
        "def stopped_at(v, p):\n    best, wait = 9e9, 0\n    for e, x in enumerate(v, 1):\n"
        "        best, wait = (x, wait) if x < best else (best, wait + 1)\n"
        "        if wait >= p:\n            return e\n    return len(v)"],
    "f1_score": ["def f1_score(p, r):\n    return (p + r) / 2",
                 "def f1_score(p, r):\n    return 2 * p * r / (p + r)"],                # 0 / 0
    "dataset_dice": ["dataset_dice = (2 * 90 / 200 + 2 * 1 / 11) / 2", "dataset_dice = 0.9"],
    "worst_k": ["def worst_k(s, k):\n    return np.argsort(s)[::-1][:k]",
                "def worst_k(s, k):\n    return np.sort(s)[:k]"],
    "undo_turns": ["def undo_turns(a, t):\n    return np.rot90(a, t)",
                   "def undo_turns(a, t):\n    return np.flipud(a)"],
    "brighten": ["def brighten(im, d):\n    return im + d", "def brighten(im, d):\n    return np.clip(im * (1 + d), 0, 1)"],
    "square_views": ["square_views = 4", "square_views = 6"],
    "window_count": ["def window_count(length, window, overlap):\n    return length // (window - overlap)",
                     "def window_count(length, window, overlap):\n"
                     "    return 1 + (length - window) // (window - overlap)"],          # rounds down
    "box_iou": ["def box_iou(a, b):\n    w = min(a[2], b[2]) - max(a[0], b[0])\n"
                "    h = min(a[3], b[3]) - max(a[1], b[1])\n"
                "    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])\n"
                "    return w * h / (area - w * h)",                                  # negative overlap
                "def box_iou(a, b):\n    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))\n"
                "    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))\n"
                "    return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]))"],
}


def answer_from(code, name):
    space = {"np": np, "math": math}
    exec(code, space)
    return space[name]


def test_every_lesson_has_two_exercises_and_the_course_eighteen():
    counts = {lesson: len(vars(practice.for_lesson(lesson))) for lesson in range(1, 11)}
    assert all(count >= 2 for count in counts.values()), counts
    assert len(practice.ALL) >= 18
    assert len(BY_NAME) == len(practice.ALL), "two exercises share a name"
    with pytest.raises(ValueError, match="lesson must be one of"):
        practice.for_lesson(11)


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_the_solution_passes_its_check(name, capsys):
    exercise = BY_NAME[name]
    exercise.check(answer_from(exercise.solution_code, name))
    assert capsys.readouterr().out.startswith(f"Correct: {name}")


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_wrong_answers_fail_with_expected_versus_got(name):
    exercise = BY_NAME[name]
    assert WRONG.get(name), f"{name} has no wrong answer in this test"
    for code in WRONG[name]:
        state, message = exercise.status(answer_from(code, name))
        assert state == "wrong", f"{name}: accepted the wrong answer\n{code}"
        assert message.startswith("Not right yet.")
        assert "expected" in message or "raised" in message, message


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_a_blank_answer_says_what_is_missing_and_does_not_raise(name, capsys):
    exercise = BY_NAME[name]

    def blank(*args):
        raise NotImplementedError

    for answer in (None, ...) + ((blank,) if exercise.kind == "function" else ()):
        exercise.check(answer)
        out = capsys.readouterr().out
        assert out.startswith("Not answered yet: ") and exercise.task in " ".join(out.split()), out


def test_check_reads_the_answer_from_the_notebook_globals(capsys):
    exercise = BY_NAME["square_views"]
    global square_views
    square_views = 8
    try:
        exercise.check()
        assert capsys.readouterr().out.startswith("Correct")
        square_views = 7
        exercise.check()
        assert "expected: 8" in capsys.readouterr().out
    finally:
        del square_views
    exercise.check()
    assert capsys.readouterr().out.startswith("Not answered yet")


def test_a_function_that_is_no_function_or_crashes_is_reported(capsys):
    exercise = BY_NAME["conv_params"]
    exercise.check(3)
    assert "needs a function" in " ".join(capsys.readouterr().out.split())
    exercise.check(lambda k, a, b: 1 / 0)
    assert "raised ZeroDivisionError: division by zero" in " ".join(capsys.readouterr().out.split())


def test_the_students_failing_line_is_shown_when_their_code_raises(capsys):
    """Like the graded checks: the message names the student's own line, not only "read the traceback"."""
    source = "def conv_params(k, c_in, c_out):\n    weights = k * k * c_in\n    return weights * c_out / (c_in - c_in)\n"
    name = "/tmp/ipykernel_1/1234.py"                      # how IPython files a cell for tracebacks
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    namespace = {}
    exec(compile(source, name, "exec"), namespace)
    BY_NAME["conv_params"].check(namespace["conv_params"])
    out = capsys.readouterr().out
    assert "Your code raised it here:" in out, out
    assert "return weights * c_out / (c_in - c_in)" in out and "line 3, in conv_params" in out, out
    assert "exercise.py" not in out and "Traceback" not in out, out


def test_text_is_not_a_number():
    """``dice_missed = "0.9"`` is the right digits in quotes: a string, which the check refuses."""
    right = BY_NAME["dice_missed"].status(1 - 1 / 10)
    state, message = BY_NAME["dice_missed"].status(str(1 - 1 / 10))
    assert right[0] == "correct" and state == "wrong", message
    assert "should be one number" in message and "quotes make text" in message


@pytest.mark.parametrize("name", sorted(n for n, e in BY_NAME.items() if e.kind == "function"))
@pytest.mark.parametrize("returned", [[1, 2], "0.5", {"a": 1}], ids=["list", "text", "dict"])
def test_a_function_returning_the_wrong_kind_gets_the_checks_message(name, returned):
    """Never the checker's own error ("Checking found_count failed: TypeError: only 0-dimensional...")."""
    state, message = BY_NAME[name].status(lambda *args: returned)
    assert state == "wrong", message
    assert "Checking" not in message and "TypeError" not in message, message
    assert "expected" in message or "should" in message, message


def test_long_message_lines_wrap_at_spaces_not_inside_words(capsys):
    exercise = BY_NAME["found_count"]
    exercise.check(lambda c, m: int(np.sum(c > m)))
    out = capsys.readouterr().out
    words = set(exercise.status(lambda c, m: int(np.sum(c > m)))[1].split())
    assert max(len(line) for line in out.splitlines()) <= WIDTH, out
    assert set(out.split()) == words, "a word was broken across lines"
    exercise.check(None)
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= WIDTH
    assert "x" * 100 in wrapped("  got: " + "x" * 100).splitlines()[-1]   # a longer word stays whole


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_the_two_hints_differ_and_the_second_call_gives_the_formula(name, capsys):
    exercise = practice.Exercise(*(getattr(BY_NAME[name], key) for key in ("lesson", "name", "task")),
                                 BY_NAME[name].hints, BY_NAME[name].solution_code, BY_NAME[name]._verify)
    first, second = exercise.hints
    assert first != second and len(first) > 20 and len(second) > 10
    exercise.hint()
    assert capsys.readouterr().out == wrapped(f"Hint: {first}") + "\n"
    exercise.hint()
    exercise.hint()
    assert capsys.readouterr().out == (wrapped(f"Hint 2 (the formula): {second}") + "\n") * 2


def _code_pieces(solution):
    """The solution's statements and the expressions they assign or return, without spaces.

    Plain names and constants (``return epoch``) are left out: they say nothing.
    """
    pieces = set()
    for node in ast.walk(ast.parse(solution)):
        if isinstance(node, (ast.Return, ast.Assign, ast.AugAssign, ast.If)):
            pieces.add(ast.unparse(node).splitlines()[0].rstrip(":"))
            value = getattr(node, "value", None) or getattr(node, "test", None)
            if value is not None and not isinstance(value, (ast.Name, ast.Constant)):
                pieces.add(ast.unparse(value))
    return {piece.replace(" ", "") for piece in pieces
            if not re.fullmatch(r"(return )?[\w.]+", piece)}


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_no_hint_or_message_holds_a_line_of_the_solution(name):
    exercise = BY_NAME[name]
    texts = list(exercise.hints) + [exercise.task]
    texts += [exercise.status(answer_from(code, name))[1] for code in WRONG[name]]
    for text in texts:
        flat = text.replace(" ", "")
        leaked = [piece for piece in _code_pieces(exercise.solution_code) if piece in flat]
        assert not leaked, f"{name}: {leaked} of the solution appears in:\n{text}"


def test_solution_displays_the_code_as_plain_text_outside_jupyter(capsys):
    exercise = BY_NAME["worst_k"]
    exercise.solution()
    assert capsys.readouterr().out == (f"# solution of worst_k  (lesson 8, practice)\n"
                                       f"{exercise.solution_code}\n")


# --- the expected answers, computed another way ------------------------------------


def test_the_number_answers_agree_with_the_package_and_with_arithmetic():
    truth = np.zeros((10, 10))
    truth[3:6, 3:6] = 1
    assert answer_from(BY_NAME["dice_missed"].solution_code, "dice_missed") == pytest.approx(
        dice_loss_np(truth, np.zeros_like(truth)))
    big = np.zeros(100_000)
    big[:5000] = 1
    assert answer_from(BY_NAME["dice_everything"].solution_code, "dice_everything") == pytest.approx(
        dice_loss_np(big, np.ones_like(big)), abs=1e-4)
    assert answer_from(BY_NAME["decoder_params"].solution_code, "decoder_params") == \
        block_parameter_formula("decoder", 32, 16)
    steps = answer_from(BY_NAME["half_life_steps"].solution_code, "half_life_steps")
    assert 1e-3 * 0.9 ** (steps / 1000) == pytest.approx(0.5e-3)
    constants = np.linspace(0.001, 0.999, 99_801)
    loss = -(4 * 0.1 * np.log(constants) + 0.9 * np.log(1 - constants))
    assert answer_from(BY_NAME["best_p"].solution_code, "best_p") == pytest.approx(
        constants[np.argmin(loss)], abs=1e-4)
    y = np.r_[np.ones(91), np.zeros(10), np.ones(19)]
    p = np.r_[np.ones(91), np.ones(10), np.zeros(19)]
    counts = confusion_counts(y, p)
    assert answer_from(BY_NAME["dataset_dice"].solution_code, "dataset_dice") == pytest.approx(
        scores_from_counts(counts)["dice"])
    x = np.random.default_rng(0).normal(size=(20_000, 288))                # inputs of mean square 1
    w = np.random.default_rng(1).normal(scale=np.sqrt(1 / 288), size=(288, 256))   # LeCun normal
    measured_gain = np.mean(np.maximum(x @ w, 0) ** 2)                     # one relu layer, measured
    assert answer_from(BY_NAME["rms_after_10"].solution_code, "rms_after_10") == pytest.approx(
        np.sqrt(measured_gain ** 10), rel=0.05)


# --- the lessons use them ----------------------------------------------------------


def _graded_names():
    """The graded items and every package object their checks count as the answer (last name)."""
    names = set()
    for assignment, module in grading.MODULES.items():
        names |= set(grading.ITEMS[assignment])
        for value in vars(importlib.import_module(module)).values():
            if isinstance(value, Item):
                names |= {path.rsplit(".", 1)[-1] for path in value.references}
    return names


def _tree(cell):
    """The syntax tree of a code cell, its IPython magics and shell lines left out."""
    return ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line
                               for line in cell.source.splitlines()))


def _calls(nb, name):
    """Every call ``...name(...)`` in the notebook's code cells."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(_tree(cell)):
            if isinstance(node, ast.Call):
                func = node.func
                if (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")) == name:
                    found.append(node)
    return found


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_every_lesson_practises_and_shows_its_code(path):
    nb = nbformat.read(str(path), as_version=4)
    lesson = int(path.name[:2])
    checks = _calls(nb, "check")
    assert len(checks) >= 2, f"{path.name}: {len(checks)} exercise checks, expected at least 2"
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    mine = set(vars(practice.for_lesson(lesson)))
    used = set(re.findall(r"\bex\.(\w+)", text))
    assert used and used <= mine, f"{path.name} uses exercises {sorted(used - mine)} of another lesson"
    assert len(used) >= 2
    shows = _calls(nb, "show_source")
    assert shows, f"{path.name} shows no package code (unet_course.show_source)"
    graded = _graded_names()
    for call in shows:
        shown = ast.unparse(call.args[0]).rsplit(".", 1)[-1]
        assert shown not in graded, f"{path.name} shows {shown}, which an assignment grades"


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_no_lesson_cell_uses_an_answer_name_for_something_else(path):
    """A student's ``def fan_in`` must not replace a lesson variable ``fan_in`` used elsewhere."""
    nb = nbformat.read(str(path), as_version=4)
    answers = set(vars(practice.for_lesson(int(path.name[:2]))))
    clashes = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or ".check()" in cell.source:
            continue
        for node in ast.walk(_tree(cell)):
            name = (node.id if isinstance(node, ast.Name) else node.arg if isinstance(node, ast.arg)
                    else node.name if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else None)
            if isinstance(node, ast.alias):
                name = node.asname or node.name.split(".")[0]
            if name in answers:
                clashes.add(name)
    assert not clashes, f"{path.name}: cells outside the exercises use the answer names {sorted(clashes)}"


def test_the_graded_names_include_the_assignments_references():
    graded = _graded_names()
    assert {"dice_loss", "encoder_block", "compiled_unet", "train_unet", "error_map"} <= graded
    assert "make_callbacks" not in graded and "WeightedBCE" not in graded
