"""The two argument checks every module shares: whole numbers and probabilities.

One owner for each rule, so every function of the package accepts the same
types and says the same thing when an argument is wrong. Both return the value
as a plain Python number; both raise ``ValueError`` (or the subclass a caller
names, such as :class:`unet_course.data.DatasetError`) naming the argument
and what was expected.

Examples
--------
>>> whole_number(8, "batch_size")
8
>>> probability(0.5, "threshold")
0.5
>>> whole_number(0, "epochs")
Traceback (most recent call last):
...
ValueError: epochs must be a whole number >= 1, got 0
"""
from __future__ import annotations

from numbers import Integral, Real

__all__ = ["whole_number", "probability"]


def whole_number(value, name: str, minimum: int = 1, error: type = ValueError) -> int:
    """Return ``value`` as an ``int``, or raise ``error`` unless it is a whole number >= ``minimum``.

    ``True`` and ``False`` are refused (they are integers to Python, never to a
    student), and so are floats such as ``3.0``: a count is written as a count.
    numpy integers are accepted.
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise error(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def probability(value, name: str, *, upper_open: bool = False, error: type = ValueError) -> float:
    """Return ``value`` as a ``float``, or raise ``error`` unless it is a number in [0, 1].

    With ``upper_open=True`` the interval is [0, 1) (a dropout rate of 1 would
    drop everything). ``True``/``False`` and NaN are refused.
    """
    interval = "[0, 1)" if upper_open else "[0, 1]"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise error(f"{name} must be a number in {interval}, got {value!r}")
    number = float(value)
    inside = 0.0 <= number < 1.0 if upper_open else 0.0 <= number <= 1.0
    if not inside:  # NaN fails both comparisons, so it lands here too
        raise error(f"{name} must be a number in {interval}, got {value!r}")
    return number
