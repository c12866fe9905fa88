"""Messages of the checks: what was called, expected versus got, a hint.

Every failing check ends in :func:`fail`, which lays a message out the same
way for every assignment::

    dice_loss(y_true, y_pred) on a batch of 2 tiles of 4x4, most pixels predicted right
      expected: 0.280899 (within 0.0001)
      got:      0.117647
    Hint: Dice loss is 1 - (2 sum(y p) + smooth) / (sum(y) + sum(p) + smooth), ...

The message is all a student sees. :class:`CheckFailed` (an
``AssertionError``) renders itself in IPython, and so in nbgrader's Validate
dialog and feedback pages, as the message alone: no traceback through the
grading package's frames. When the student's own code raised, the lines of
*their* code that did are shown above it.

The other helpers turn what a student's function returned into something to
compare (:func:`as_float`), compare it (:func:`close`, :func:`expect_close`,
:func:`expect_array`) and describe values briefly (:func:`show`).
"""
from __future__ import annotations

import sys
import traceback
from pathlib import Path

import numpy as np

__all__ = ["CheckFailed", "error_text", "fail", "show", "as_float", "close", "expect_close", "expect_array"]

_MISSING = object()
_PACKAGE = str(Path(__file__).resolve().parents[1])
_LIBRARIES = tuple({str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


class CheckFailed(AssertionError):
    """A failed check: an ``AssertionError`` whose message is all a student needs.

    IPython calls :meth:`_render_traceback_` instead of printing a traceback,
    so a notebook (and nbgrader's Validate and feedback, which show the
    notebook's error output) shows the message without the grading
    package's frames.
    """

    def _render_traceback_(self):
        """The lines IPython shows: the student's own failing lines (if any), then the message."""
        lines = []
        cause = self.__cause__
        remote = getattr(cause, "remote_frames", None)
        if remote:   # raised in the student's kernel while grading: the frames it reported
            lines.append("Your code raised it here:")
            for where, number, name, line in remote[-3:]:
                lines.append(f"  {where}, line {number}, in {name}")
                if line:
                    lines.append(f"    {line}")
        elif cause is not None:
            frames = [frame for frame in traceback.extract_tb(cause.__traceback__)
                      if _is_student_code(frame.filename)]
            if frames:
                lines.append("Your code raised it here:")
                for frame in frames[-3:]:
                    lines.append(f"  {_where(frame.filename)}, line {frame.lineno}, in {frame.name}")
                    if frame.line:
                        lines.append(f"    {frame.line.strip()}")
        lines.append(f"\x1b[0;31mCheck failed:\x1b[0m {self}")
        return "\n".join(lines).splitlines()


def error_text(error):
    """``"TypeError: ..."`` for a student's exception, without this package's frames.

    TensorFlow writes the graph's stack into its messages (``File ".../grading/...",
    line 106, in step``); those lines, and the source line under each, are left out.
    """
    lines, skip = [], False
    for line in str(error).splitlines():
        if skip:
            skip = False
            continue
        if line.strip().startswith("File ") and _PACKAGE in line:
            skip = True
            continue
        lines.append(line)
    return f"{type(error).__name__}: " + "\n".join(lines).strip()


def _is_student_code(filename):
    """``True`` for a notebook cell or a student's file; ``False`` for libraries and this package."""
    if filename.startswith("<") and not filename.startswith("<frozen"):
        return True
    path = str(Path(filename).resolve())
    return not path.startswith(_PACKAGE) and not path.startswith(_LIBRARIES)


def _where(filename):
    """``Cell In[...]``-style name of a notebook cell's file, else the file's name."""
    name = Path(filename).name
    return "your cell" if "ipykernel_" in filename or filename.startswith("<") else name


def fail(what, expected=_MISSING, got=_MISSING, hint=None):
    """Raise :class:`CheckFailed`: what was called, expected versus got, a hint.

    Parameters
    ----------
    what : str
        The call and the situation, e.g. ``"dice_loss(y_true, y_pred) on an empty mask"``;
        may hold more lines (an aligned table).
    expected, got : object, optional
        Shown aligned one under the other (strings as they are, the rest by :func:`show`).
    hint : str, optional
        What to look at next.
    """
    __tracebackhide__ = True
    lines = [what]
    if expected is not _MISSING:
        lines.append(f"  expected: {_text(expected)}")
    if got is not _MISSING:
        lines.append(f"  got:      {_text(got)}")
    if hint:
        lines.append(f"Hint: {hint}")
    raise CheckFailed("\n".join(lines))


def _text(value):
    return value if isinstance(value, str) else show(value)


def show(value):
    """A short, readable description of a value for a message."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, np.ndarray):
        if value.size <= 16:
            flat = np.array2string(value, precision=4, separator=", ", suppress_small=True)
            return f"{flat.replace(chr(10), '')} ({value.dtype})"
        return f"array of shape {value.shape}, dtype {value.dtype}"
    if type(value).__module__.startswith(("tensorflow", "keras")) and hasattr(value, "shape"):
        return f"{type(value).__name__} of shape {tuple(value.shape)}, dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def as_float(value, what, hint=None):
    """``value`` (a Python/numpy number, a 0-d array or a scalar tensor) as a float.

    Raises ``AssertionError`` saying what came back when it is not one number.
    """
    __tracebackhide__ = True
    try:
        array = (None if value is None or isinstance(value, (str, bytes)) else
                 np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64))
    except (TypeError, ValueError):
        array = None
    if array is None or array.size != 1:
        fail(f"{what} should return one number", "a float (or a scalar tensor)", value,
             hint=hint or "reduce over every pixel (a sum or a mean) before returning")
    return float(array.reshape(()))


def close(got, expected, tol):
    """``True`` when ``|got - expected| <= tol * max(1, |expected|)``.

    The tolerance is absolute for numbers up to 1 and relative above, so a
    float32 computation of a large weight passes. Infinities must match.
    """
    if not np.isfinite(got) or not np.isfinite(expected):
        return bool(got == expected)
    return abs(got - expected) <= tol * max(1.0, abs(expected))


def expect_close(shown, got, expected, tol, hint):
    """Fail unless the number ``got`` is within ``tol`` of ``expected``."""
    __tracebackhide__ = True
    if not close(got, expected, tol):
        fail(shown, f"{expected:.6g} (within {tol:g})", f"{got:.6g}", hint=hint)


def expect_array(shown, got, expected, hint, dtype=None):
    """Fail unless ``got`` is an array equal to ``expected`` (shape, values, and ``dtype`` if given)."""
    __tracebackhide__ = True
    if not isinstance(got, np.ndarray):
        fail(f"{shown} should return a numpy array", show(expected), got,
             hint="build the result with numpy operations on the input array")
    if got.shape != expected.shape:
        fail(f"{shown} returned the wrong shape", f"shape {expected.shape}",
             f"shape {got.shape}", hint="the result has one value per input pixel")
    if dtype is not None and got.dtype != dtype:
        name = np.dtype(dtype).name
        fail(f"{shown} returned the wrong dtype", name, got.dtype.name,
             hint=f"finish with .astype({'bool' if name == 'bool' else 'np.' + name})")
    if not np.array_equal(got, expected):
        wrong = int(np.count_nonzero(got != expected))
        fail(f"{shown}: {wrong} of {expected.size} values differ", expected, got, hint=hint)
