"""The self-check quiz at the end of every lesson: a letter or a number, checked in the cell.

A lesson ends with two questions written in its markdown (so a translation can
translate them) and answered in a cell::

    from unet_course.lessons.practice import quiz
    check = quiz.for_lesson(1)
    quiz_1 = None   # your answer: "a", "b", "c" or "d"
    check.quiz_1.check()

Each question is an :class:`~unet_course.lessons.practice.exercise.Exercise`
(the practice exercises' machinery): ``check()`` says correct, not answered
yet, or not right yet with a hint; ``hint()`` gives a nudge, then the
reasoning; ``solution()`` shows the answer with why. Nothing here is graded.
``tests/test_quiz.py`` checks every answer and that every lesson's markdown
asks the questions this module answers.
"""
from __future__ import annotations

from types import SimpleNamespace

from unet_course.grading.messages import fail
from unet_course.lessons.practice.exercise import expect_number
from unet_course.lessons.practice.exercise import Exercise

__all__ = ["QUIZ", "choice", "number", "for_lesson"]


def choice(lesson, name, options, answer, nudge, why):
    """A multiple-choice question: ``options`` letters (``"abcd"``), the right one ``answer``."""
    if answer not in options:
        raise ValueError(f"quiz {name!r}: answer {answer!r} is not one of the options {options!r}")

    def verify(given):
        letter = str(given).strip().strip("()").lower() if isinstance(given, str) else None
        if letter not in options:
            fail(f"{name} should be one letter", " or ".join(f'"{o}"' for o in options), given,
                 hint="write the letter in quotes, e.g. " + f'{name} = "{options[0]}"')
        if letter != answer:
            fail(f'{name} = "{letter}" is not the answer', hint=nudge)

    task = f"set {name} to one of " + ", ".join(f'"{o}"' for o in options) + "."
    return Exercise(lesson, name, task, (nudge, why), f'{name} = "{answer}"  # {why}\n', verify)


def number(lesson, name, answer, tol, nudge, why):
    """A question answered with one number, right within ``tol`` (absolute up to 1, relative above,
    as :func:`unet_course.grading.messages.close` compares)."""
    def verify(given):
        expect_number(name, given, answer, tol, nudge)

    return Exercise(lesson, name, f"set {name} to a number.", (nudge, why), f"{name} = {answer!r}  # {why}\n",
                    verify)


#: Every lesson's self-check questions, in lesson order (the questions themselves are in the lesson's markdown).
QUIZ = [
    choice(1, "quiz_1", "abcd", "b",
           "Look at the map of the random split: what lies next to most test tiles?",
           "most test tiles touch a training tile, whose streets and roofs continue across the edge."),
    number(1, "quiz_2", 256, 0.005,
           "Divide the side of a tile in metres by the size of a pixel in metres.",
           "300 m / 1.17 m per pixel = 256 pixels."),
    number(2, "quiz_1", 86.6, 0.0006,
           "Predicting no building is right on every background pixel and wrong on every building pixel.",
           "100 % - 13.4 % = 86.6 %."),
    number(2, "quiz_2", 4.0, 1e-6,
           "The weight is background pixels divided by building pixels.",
           "80 % / 20 % = 4."),
    choice(3, "quiz_1", "abc", "a",
           "Which loss averages over every pixel on its own?",
           "BCE averages over pixels, so the many background pixels dominate it; Dice looks at the "
           "building class's overlap."),
    number(3, "quiz_2", 2 * 30 / (2 * 30 + 10 + 20), 0.005,
           "Dice = 2 TP / (2 TP + FP + FN).",
           "2 * 30 / (2 * 30 + 10 + 20) = 60 / 90 = 0.667."),
    number(4, "quiz_1", 3 * 3 * 64, 0,
           "The fan-in counts the inputs one output value reads: kernel height x width x input channels.",
           "3 * 3 * 64 = 576."),
    number(4, "quiz_2", 0.5, 1e-6,
           "The gain is fan-in x Var(w), halved by the relu.",
           "LeCun normal has Var(w) = 1 / fan-in, so fan-in * Var(w) = 1, halved by the relu: 0.5."),
    number(5, "quiz_1", 25.6, 0.002,
           "Each map is dropped with probability 0.1, independently.",
           "0.1 * 256 = 25.6 maps on average."),
    number(5, "quiz_2", 1.25, 1e-6,
           "The survivors are scaled so that the expected sum stays the same.",
           "1 / (1 - 0.2) = 1.25."),
    number(6, "quiz_1", 3 * 3 * 32 * 64 + 64, 0,
           "A convolution has k * k * c_in * c_out weights and one bias per output channel.",
           "3 * 3 * 32 * 64 + 64 = 18,496."),
    choice(6, "quiz_2", "abcd", "a",
           "Count how many times the encoder halves the tile's side.",
           "four 2 x 2 poolings halve the side four times: 2 ** 4 = 16."),
    choice(7, "quiz_1", "abcd", "b",
           "Patience 3 means three epochs without improvement before stopping.",
           "the run stopped after epochs 8, 9 and 10 did not improve on epoch 7, whose weights are restored."),
    choice(7, "quiz_2", "ab", "b",
           "Which one holds the optimizer's state and the epoch reached?",
           "backup/ holds the latest state (weights, optimizer, epoch) a run resumes from; best.keras only "
           "the best weights."),
    number(8, "quiz_1", 0.8 / (2 - 0.8), 0.005,
           "IoU = Dice / (2 - Dice).",
           "0.8 / 1.2 = 0.667."),
    choice(8, "quiz_2", "abc", "b",
           "A threshold chosen on the tiles you report flatters the report.",
           "on the validation tiles: the test tiles must stay unseen until the final score."),
    choice(9, "quiz_1", "abcd", "c",
           "Which transform moves no pixel?",
           "a brightness change alters the colours only, so the mask stays as it is; flips and turns move "
           "pixels and must move the mask too."),
    number(9, "quiz_2", 1200, 0,
           "Which of the three transforms touch the mask, and do they add or remove pixels?",
           "flips and turns move the mask's pixels without adding or removing any; brightness leaves the "
           "mask alone: still 1,200."),
    number(10, "quiz_1", 2 * 6 / (8 + 10), 0.005,
           "Precision = matched / predicted, recall = matched / true, F1 their harmonic mean.",
           "precision 6/8, recall 6/10, F1 = 2 * 6 / (8 + 10) = 0.667."),
    choice(10, "quiz_2", "abcd", "a",
           "Think of a model that predicts every building twice.",
           "without one-to-one matching both copies would match the same building, so the duplicate would "
           "count as found instead of as a false footprint."),
]


def for_lesson(lesson):
    """The self-check questions of one lesson, as attributes named after the variable the student sets."""
    found = {question.name: question for question in QUIZ if question.lesson == lesson}
    if not found:
        raise ValueError(f"lesson must be one of {sorted({q.lesson for q in QUIZ})}, got {lesson!r}")
    return SimpleNamespace(**found)
