"""The notebook rules, enforced on every committed notebook.

Over ``course/*.ipynb`` and ``solutions/**/*.ipynb``:

- committed without outputs and without execution counts;
- no classic-notebook JavaScript (``IPython.notebook``, ``Jupyter.notebook``,
  ``%%javascript``) in code cells: JupyterLab 4 and Notebook 7 only;
- no hard-coded epochs: every ``.fit(...)`` passes ``epochs=`` and neither it
  nor ``train_unet(..., epochs=...)`` gets a number literal, and no name
  containing "epoch" is assigned a number literal (epochs come from the profile).

Over the lessons ``course/NN_*.ipynb``:

- lessons 01..09 all exist, 05..10 under their agreed file names;
- the first code cell makes the lesson run where it was opened: it calls
  ``unet_course.setup_runtime(`` (which checks the version and picks the
  profile) and installs the package when it is missing
  (``tests/test_setup_runtime.py`` runs it in a fresh environment);
- a goals section (a markdown heading or bold line with "goal", "objective"
  or "you will learn") comes before the first code cell, with a "Before you
  start" section naming the questions, prerequisites and time (reading and
  the smoke run, in minutes or seconds);
- a summary and questions (headings or bold lines with "summary" and
  "question") come after the last code cell of the lesson proper, followed by
  the "Self-check" quiz: one numbered question per question of
  ``unet_course.lessons.practice.quiz`` for the lesson, each answered and
  checked in the code cell under it;
- the markdown names the graded assignment the lesson points to
  ("Assignment N"; lessons 05..09 the agreed number and title).

Each rule is a function returning a list of problems, tested below on small
notebooks that break it, so none of these tests can pass vacuously.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
SOLUTIONS = ROOT / "solutions"

LESSON_FILES = {
    5: "05_spatial_dropout.ipynb",
    6: "06_unet_blocks.ipynb",
    7: "07_training.ipynb",
    8: "08_evaluation.ipynb",
    9: "09_augmentation.ipynb",
    10: "10_footprints.ipynb",
}
ASSIGNMENT_TITLES = {
    2: "Losses and metrics",
    3: "The U-Net's blocks",
    4: "Train and evaluate",
    5: "Footprints",
}
#: lesson number -> the assignments it must point to (lessons 1-4: any "Assignment N").
LESSON_ASSIGNMENTS = {5: (3,), 6: (3,), 7: (4,), 8: (2, 4), 9: (4,), 10: (5,)}

CLASSIC_JS = ("IPython.notebook", "Jupyter.notebook", "%%javascript")


def lesson_paths():
    return sorted(COURSE.glob("[0-9][0-9]_*.ipynb"))


def all_notebooks():
    return sorted(COURSE.glob("*.ipynb")) + sorted((ROOT / "course_zh").glob("*.ipynb")) + \
        sorted(SOLUTIONS.glob("**/*.ipynb"))


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def read(path):
    return nbformat.read(str(path), as_version=4)


def _code(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


# --- the rules, one function each -----------------------------------------------


def output_problems(nb):
    """Code cells that carry outputs or an execution count."""
    problems = []
    for n, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {n} has {len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {n} has execution_count {cell.execution_count}")
    return problems


def javascript_problems(nb):
    """Code cells that use classic-notebook JavaScript."""
    return [
        f"cell {n} uses {word!r} (classic notebook only)"
        for n, cell in enumerate(nb.cells) if cell.cell_type == "code"
        for word in CLASSIC_JS if word in cell.source
    ]


def _python(source):
    """Cell source with IPython magics and shell lines blanked, so ast can parse it."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def _is_number(node):
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
        and not isinstance(node.value, bool)


def _call_name(call):
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def epoch_problems(nb):
    """Epoch counts written as number literals instead of read from the profile."""
    problems = []
    for n, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(_python(cell.source))
        except SyntaxError as error:
            problems.append(f"cell {n} is not valid Python: {error}")
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) in ("fit", "train_unet"):
                name = _call_name(node)
                epochs = [k.value for k in node.keywords if k.arg == "epochs"]
                if name == "fit" and len(node.args) >= 4:
                    epochs.append(node.args[3])
                if name == "fit" and not epochs and not any(k.arg is None for k in node.keywords):
                    problems.append(f"cell {n}: .fit(...) without epochs= (Keras then trains 1 epoch)")
                problems += [f"cell {n}: {name}(..., epochs={e.value})" for e in epochs if _is_number(e)]
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None \
                    and _is_number(node.value):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and "epoch" in target.id.lower():
                        problems.append(f"cell {n}: {target.id} = {node.value.value}")
    return problems


def first_cell_problems(nb):
    """The first code cell must install the package when missing and call ``setup_runtime``."""
    code = _code(nb)
    if not code:
        return ["no code cell"]
    source = code[0].source
    return [f"first code cell does not {what}" for what, call in (
        ("call unet_course.setup_runtime(", "unet_course.setup_runtime("),
        ("install the package when it is missing", '"pip", "install"'),
    ) if call not in source]


_SELF_CHECK = re.compile(r"^#{1,6}\s+self-check", re.IGNORECASE | re.MULTILINE)


def _self_check_start(nb):
    """Index of the markdown cell that opens the self-check quiz, or ``len(nb.cells)``."""
    return next((n for n, cell in enumerate(nb.cells)
                 if cell.cell_type == "markdown" and _SELF_CHECK.search(cell.source)), len(nb.cells))


def header_problems(nb):
    """A 'Before you start' section before the first code cell: questions, prerequisites, time."""
    kinds = [cell.cell_type for cell in nb.cells]
    top = " ".join(cell.source for cell in nb.cells[:kinds.index("code")] if cell.cell_type == "markdown") \
        if "code" in kinds else ""
    if "## Before you start" not in top:
        return ["no 'Before you start' section before the first code cell"]
    problems = [f"'Before you start' names no {word}" for word in ("Questions", "Prerequisites", "Time")
                if f"**{word}.**" not in top]
    if not re.search(r"Reading: about \d+ min", top) or not re.search(r"`smoke` profile \d+ (s|min)", top):
        problems.append("'Before you start' gives no reading time and smoke run time")
    return problems


def quiz_problems(nb, questions):
    """The self-check: each quiz question asked in markdown, then set and checked in the cell under it."""
    start = _self_check_start(nb)
    if start == len(nb.cells):
        return ["no 'Self-check' heading"]
    cells = nb.cells[start:]
    text = " ".join(cell.source for cell in cells if cell.cell_type == "markdown")
    code = [cell.source for cell in cells if cell.cell_type == "code"]
    problems = []
    for k, name in enumerate(questions, start=1):
        if f"**{k}.**" not in text:
            problems.append(f"the self-check does not ask question {k}")
        if not any(re.search(rf"^{name} = ", c, re.MULTILINE) and f".{name}.check()" in c for c in code):
            problems.append(f"no cell sets {name} and calls .{name}.check()")
    if len(code) != len(questions):
        problems.append(f"the self-check has {len(code)} code cells for {len(questions)} questions")
    return problems


_HEADING = re.compile(r"^\s*(#{1,6}\s+.*|\*\*.*\*\*.*)$", re.MULTILINE)


def _headings(cells):
    return " | ".join(m.group(0) for cell in cells if cell.cell_type == "markdown"
                      for m in _HEADING.finditer(cell.source)).lower()


def section_problems(nb):
    """Goals before the first code cell; summary and questions after the last one (before the self-check)."""
    kinds = [cell.cell_type for cell in nb.cells[:_self_check_start(nb)]]
    if "code" not in kinds:
        return ["no code cell"]
    first = kinds.index("code")
    last = len(kinds) - 1 - kinds[::-1].index("code")
    problems = []
    top, bottom = _headings(nb.cells[:first]), _headings(nb.cells[last + 1:])
    if not re.search(r"goal|objective|you will learn", top):
        problems.append("no goals heading before the first code cell")
    for word in ("summary", "question"):
        if word not in bottom:
            problems.append(f"no {word!r} heading after the last code cell")
    return problems


def assignment_problems(nb, lesson):
    """The markdown names the assignment(s) the lesson points to."""
    text = " ".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    text = text.replace("\u2019", "'")
    wanted = LESSON_ASSIGNMENTS.get(lesson)
    if wanted is None:
        return [] if re.search(r"assignment\s+\d", text, re.IGNORECASE) else \
            ["names no assignment ('Assignment N')"]
    return [
        f"does not point to Assignment {number} \"{ASSIGNMENT_TITLES[number]}\""
        for number in wanted
        if not re.search(rf"assignment\s+{number}\b", text, re.IGNORECASE)
        or ASSIGNMENT_TITLES[number].lower() not in text.lower()
    ]


# --- the rules applied to the committed notebooks -------------------------------


def test_lessons_01_to_09_exist():
    found = {int(p.name[:2]): p.name for p in lesson_paths()}
    missing = [f"{n:02d}_*.ipynb" for n in range(1, 10) if n not in found]
    assert not missing, f"course/ lacks lessons {missing}"
    for number, name in LESSON_FILES.items():
        assert found[number] == name, f"lesson {number} is {found[number]}, expected {name}"
    assert len({p.name[:2] for p in lesson_paths()}) == len(lesson_paths()), \
        "two lessons share a number"


@pytest.mark.parametrize("path", all_notebooks(), ids=_ids(all_notebooks()))
def test_committed_clean(path):
    nb = read(path)
    nbformat.validate(nb)
    problems = output_problems(nb) + javascript_problems(nb) + epoch_problems(nb)
    assert not problems, f"{path.relative_to(ROOT)}: " + "; ".join(problems) + \
        " (clear outputs before committing: jupyter nbconvert --clear-output --inplace)"


@pytest.mark.parametrize("path", lesson_paths(), ids=_ids(lesson_paths()))
def test_lesson_structure(path):
    nb = read(path)
    from unet_course.lessons.practice import quiz

    lesson = int(path.name[:2])
    problems = first_cell_problems(nb) + header_problems(nb) + section_problems(nb) + \
        quiz_problems(nb, sorted(vars(quiz.for_lesson(lesson)))) + assignment_problems(nb, lesson)
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel not in (None, "python3"):
        problems.append(f"kernelspec {kernel!r}: use 'python3' so CI's kernel runs it")
    assert not problems, f"{path.relative_to(ROOT)}: " + "; ".join(problems)


# --- the rules catch what they should -------------------------------------------


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c[5:]) if c.startswith("code:")
                else nbformat.v4.new_markdown_cell(c) for c in cells]
    return nb


GOOD = _nb(
    "# Lesson\n## Goals\n- one idea",
    "## Before you start\n- **Questions.** Why?\n- **Prerequisites.** None.\n"
    "- **Time.** Reading: about 3 min; `smoke` profile 20 s.",
    'code:import unet_course\nif missing:\n    subprocess.run(["pip", "install", "x"])\n'
    'prof = unet_course.setup_runtime("0.1", lesson=1)',
    "code:%matplotlib inline\nmodel.fit(ds, epochs=prof.epochs)\ntrain_unet(prof, d, epochs=prof.epochs // 2)",
    "## Summary\nIt works.\n\n**Questions**\n1. Why?\n\nAssignment 3 \"The U-Net's blocks\".",
    "## Self-check\n**1.** Which?\n- (a) this\n- (b) that",
    "code:quiz_1 = None\nself_check.quiz_1.check()",
)


def test_rules_accept_a_good_lesson():
    assert output_problems(GOOD) == []
    assert javascript_problems(GOOD) == []
    assert epoch_problems(GOOD) == []
    assert first_cell_problems(GOOD) == []
    assert header_problems(GOOD) == []
    assert section_problems(GOOD) == []
    assert quiz_problems(GOOD, ["quiz_1"]) == []
    assert assignment_problems(GOOD, 5) == []
    assert assignment_problems(GOOD, 1) == []


def test_rules_catch_outputs_and_counts():
    nb = _nb("code:print(1)")
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[0].execution_count = 3
    assert len(output_problems(nb)) == 2


def test_rules_catch_classic_javascript():
    nb = _nb("code:from IPython.display import Javascript\nJavascript('IPython.notebook.save()')",
             "code:%%javascript\nJupyter.notebook.kernel.execute('x')")
    assert len(javascript_problems(nb)) == 3


@pytest.mark.parametrize("source", [
    "model.fit(ds, epochs=5)",
    "model.fit(x, y, 8, 5)",
    "model.fit(ds, validation_data=val)",
    "train_unet(prof, d, epochs=2)",
    "EPOCHS = 10",
    "n_epochs: int = 3",
])
def test_rules_catch_hard_coded_epochs(source):
    assert len(epoch_problems(_nb("code:" + source))) == 1


def test_rules_catch_a_missing_first_cell_call():
    nb = _nb('code:import unet_course\nunet_course.check_version("0.1")\nprof = unet_course.profile()')
    assert first_cell_problems(nb) == ["first code cell does not call unet_course.setup_runtime(",
                                       "first code cell does not install the package when it is missing"]


def test_rules_catch_a_missing_header_and_quiz():
    nb = _nb("# Lesson\n## Goals", "code:x = 1", "## Summary\n## Questions")
    assert header_problems(nb) == ["no 'Before you start' section before the first code cell"]
    assert quiz_problems(nb, ["quiz_1"]) == ["no 'Self-check' heading"]
    nb = _nb("## Before you start\n- **Questions.** Why?\n- **Time.** soon", "code:x = 1",
             "## Self-check\n**1.** Which?", "code:quiz_1 = None")
    assert header_problems(nb) == ["'Before you start' names no Prerequisites",
                                   "'Before you start' gives no reading time and smoke run time"]
    assert quiz_problems(nb, ["quiz_1", "quiz_2"]) == [
        "no cell sets quiz_1 and calls .quiz_1.check()", "the self-check does not ask question 2",
        "no cell sets quiz_2 and calls .quiz_2.check()", "the self-check has 1 code cells for 2 questions"]


def test_rules_catch_missing_sections():
    nb = _nb("# Lesson\nSome text.", "code:x = 1", "## Summary\nDone.")
    assert section_problems(nb) == [
        "no goals heading before the first code cell",
        "no 'question' heading after the last code cell",
    ]


def test_rules_catch_a_wrong_assignment():
    nb = _nb("## Goals", "code:x = 1", "## Summary and questions\nSee Assignment 4 \"Train and evaluate\".")
    assert assignment_problems(nb, 4) == []  # lessons 1-4: any assignment
    assert assignment_problems(nb, 9) == []
    assert len(assignment_problems(nb, 6)) == 1
    assert len(assignment_problems(nb, 8)) == 1  # names 4 but not 2
    assert assignment_problems(_nb("no pointer"), 2) == ["names no assignment ('Assignment N')"]
