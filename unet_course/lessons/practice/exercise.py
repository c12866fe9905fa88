"""One practice exercise: ``check()``, ``hint()``, ``solution()`` (every lesson).

A lesson's exercise is a function or a number the student writes in a cell,
then checks in the same cell::

    def tile_distance(a, b, tile_side):
        raise NotImplementedError   # your code here

    q1.check()

``check()`` finds ``tile_distance`` in the notebook, runs it on a few cases
and prints one of three things: it is correct; it is not answered yet (the
cell is still blank: the name is ``None`` or ``...``, or the function raises
``NotImplementedError``); or it is not right yet, with what was called,
expected versus got and which idea is off, laid out by
:mod:`unet_course.grading.messages` like the graded checks. It never raises,
so a lesson with blank answers still runs top to bottom. ``hint()`` gives a
nudge naming the idea, a second call the formula; ``solution()`` shows the
code. Nothing here is graded.
"""
from __future__ import annotations

import sys

import numpy as np

from unet_course.grading.messages import CheckFailed, expect_close, fail, show
from unet_course.grading.wrap import WIDTH, wrapped
from unet_course.source import SourceView

__all__ = ["Exercise", "NotWritten", "call", "expect_number", "expect_cases", "same_array", "wrapped", "WIDTH"]

CORRECT, MISSING, WRONG = "correct", "missing", "wrong"



class NotWritten(Exception):
    """The student's function raised ``NotImplementedError``: the answer is still blank."""


def call(fn, *args, shown):
    """Call the student's ``fn(*args)`` on copies of the arguments; return what it returned.

    Raises :class:`NotWritten` for ``NotImplementedError`` and ``AssertionError``
    (a message naming the call) for any other error, or when ``fn`` is no function.
    The student's error is the message's cause, so the message shows the
    student's own failing lines (as the graded checks do).
    """
    if not callable(fn):
        fail(f"{shown} needs a function", "a function (def ...)", fn,
             hint="define the function in the cell above check(), then run the cell")
    copies = [np.array(arg) if isinstance(arg, np.ndarray) else arg for arg in args]
    try:
        return fn(*copies)
    except NotImplementedError:
        raise NotWritten from None
    except Exception as error:  # a student's bug becomes the message
        try:
            fail(f"{shown} raised {type(error).__name__}: {error}",
                 hint="the lines above name your line that raised; run it on the lesson's example")
        except CheckFailed as failed:
            raise failed from error


def expect_number(shown, got, expected, tol, hint):
    """Fail unless ``got`` is one number within ``tol`` of ``expected`` (text such as ``"0.9"`` is not)."""
    try:
        if isinstance(got, (str, bytes)):
            raise TypeError("text is not a number")
        number = float(np.asarray(got, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        fail(f"{shown} should be one number", "a number such as 0.25", got,
             hint="None means a function without `return`; a list or an array holds several numbers; "
                  "quotes make text, not a number")
    expect_close(shown, number, expected, tol, hint)


def expect_cases(fn, name, cases, tol, hint):
    """Call ``fn(*args)`` for each ``(args, expected number, what)`` and fail at the first wrong one."""
    for args, expected, what in cases:
        listed = ", ".join(f"{arg:.6g}" if isinstance(arg, float) else repr(arg) for arg in args)
        shown = f"{name}({listed})" + (f" ({what})" if what else "")
        expect_number(shown, call(fn, *args, shown=shown), expected, tol, hint)


class Exercise:
    """An ungraded exercise of a lesson.

    Parameters
    ----------
    lesson : int
        The lesson it belongs to.
    name : str
        The name the student defines: a function's or a variable's.
    task : str
        What to write, in one line (repeated while the answer is blank).
    hints : tuple of two str
        A nudge that names the concept, then the formula; neither holds a line of the solution.
    solution : str
        The solution's code, which defines ``name`` (``np`` is available).
    verify : callable
        ``verify(answer)`` raises ``AssertionError`` (a message from
        :mod:`unet_course.grading.messages`) when the answer is wrong and
        :class:`NotWritten` when it is blank.
    """

    def __init__(self, lesson, name, task, hints, solution, verify):
        if len(hints) != 2:
            raise ValueError(f"exercise {name!r} needs two hints (a nudge, then the formula), got {len(hints)}")
        self.lesson, self.name, self.task = lesson, name, task
        self.hints, self.solution_code, self._verify = tuple(hints), solution, verify
        self._hints_given = 0

    @property
    def kind(self):
        """``"function"`` when the student writes a function, ``"number"`` when a value."""
        return "function" if self.solution_code.lstrip().startswith("def ") else "number"

    def __repr__(self):
        return f"<exercise {self.name!r} of lesson {self.lesson}: {self.task}>"

    def status(self, answer):
        """``(state, message)`` for ``answer``: state ``"correct"``, ``"missing"`` or ``"wrong"``."""
        if answer is None or answer is Ellipsis:
            return MISSING, self._missing()
        try:
            self._verify(answer)
        except NotWritten:
            return MISSING, self._missing()
        except AssertionError as error:
            first, *rest = f"Not right yet. {error}".splitlines()
            return WRONG, "\n".join([first, *_student_lines(error), *rest])
        except Exception as error:  # an answer of a type the checks did not foresee
            return WRONG, f"Not right yet. Checking {self.name} failed: {type(error).__name__}: {error}"
        return CORRECT, f"Correct: {self.name} gives the expected answer on every case checked."

    def _missing(self):
        return (f"Not answered yet: {self.task} Then run this cell again "
                f"(hint() for a nudge, solution() for the answer).")

    def check(self, *answer):
        """Print whether the answer is correct; the answer is ``name`` in the notebook unless given."""
        if answer:
            value = answer[0]
        else:
            value = sys._getframe(1).f_globals.get(self.name)
        print(wrapped(self.status(value)[1]))

    def hint(self):
        """Print the next hint: the first call names the idea, later calls give the formula."""
        self._hints_given = min(self._hints_given + 1, 2)
        label = "Hint" if self._hints_given == 1 else "Hint 2 (the formula)"
        print(wrapped(f"{label}: {self.hints[self._hints_given - 1]}"))

    def solution(self):
        """Show the solution's code (highlighted in JupyterLab)."""
        from IPython.display import display

        display(SourceView(f"solution of {self.name}", f"lesson {self.lesson}, practice", self.solution_code))


def same_array(shown, got, expected, tol, hint):
    """Fail unless ``got`` is an array of ``expected``'s shape with values within ``tol``."""
    got_array = np.asarray(got) if got is not None else None
    if got_array is None or got_array.shape != expected.shape:
        fail(f"{shown} returned the wrong shape", f"shape {expected.shape}",
             "None (no return?)" if got is None else f"shape {got_array.shape}",
             hint="the result has one value per input value")
    if not np.allclose(got_array.astype(np.float64), expected, atol=tol, rtol=0):
        fail(shown, show(np.asarray(expected)), show(got_array), hint=hint)
    return got_array



def _student_lines(error):
    """The "Your code raised it here:" lines a :class:`CheckFailed` shows above its message."""
    if not isinstance(error, CheckFailed):
        return []
    rendered = error._render_traceback_()          # IPython's protocol: these lines, then the message
    return rendered[:len(rendered) - len(str(error).splitlines())]

