"""The self-check quiz: every answer checks, wrong and blank answers say so, every lesson asks its questions."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from unet_course.lessons.practice import quiz

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "course").glob("[0-9][0-9]_*.ipynb")) + sorted((ROOT / "course_zh").glob("[0-9][0-9]_*.ipynb"))


def _answer(question):
    namespace = {"np": np}
    exec(question.solution_code, namespace)
    return namespace[question.name]


@pytest.mark.parametrize("question", quiz.QUIZ, ids=[f"lesson{q.lesson}-{q.name}" for q in quiz.QUIZ])
def test_the_solution_is_correct_and_other_answers_are_not(question):
    right = _answer(question)
    assert question.status(right)[0] == "correct", question.status(right)
    assert question.status(None)[0] == "missing"
    if isinstance(right, str):
        options = question.task.split("one of ")[1]
        for letter in re.findall(r'"(\w)"', options):
            assert question.status(letter)[0] == ("correct" if letter == right else "wrong"), letter
        assert question.status(f"({right.upper()})")[0] == "correct"
        assert question.status(7)[0] == "wrong"
    else:
        assert question.status(right * 1.5 + 1)[0] == "wrong"
        assert question.status("many")[0] == "wrong"


def test_every_lesson_has_two_questions_with_distinct_names():
    for lesson in range(1, 11):
        assert sorted(vars(quiz.for_lesson(lesson))) == ["quiz_1", "quiz_2"]
    with pytest.raises(ValueError, match="lesson must be one of"):
        quiz.for_lesson(11)


def test_a_choice_needs_its_answer_among_the_options():
    with pytest.raises(ValueError, match="not one of the options"):
        quiz.choice(1, "quiz_9", "abc", "d", "nudge", "why")


@pytest.mark.parametrize("path", LESSONS, ids=[str(p.relative_to(ROOT)) for p in LESSONS])
def test_each_lessons_markdown_offers_exactly_the_options_checked(path):
    nb = nbformat.read(str(path), as_version=4)
    questions = quiz.for_lesson(int(path.name[:2]))
    cells = nb.cells
    for n, cell in enumerate(cells):
        match = re.search(r"^(quiz_\d) = None", cell.source, re.MULTILINE) if cell.cell_type == "code" else None
        if not match:
            continue
        question = getattr(questions, match.group(1))
        asked = re.findall(r"^- \((\w)\) ", cells[n - 1].source, re.MULTILINE)
        if isinstance(_answer(question), str):
            letters = re.findall(r'"(\w)"', question.task.split("one of ")[1])
            assert asked == letters, f"{path.name} {question.name}: markdown offers {asked}, the check {letters}"
        else:
            assert asked == [], f"{path.name} {question.name} asks for a number but lists options"
