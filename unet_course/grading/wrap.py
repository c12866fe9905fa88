"""Lines of a message a student reads, broken at spaces to fit the page.

JupyterLab's outputs and nbgrader's Validate dialog break a long line
anywhere, in the middle of a word, or do not break it at all (the dialog
scrolls sideways); a message laid out here never needs either.
"""
from __future__ import annotations

import textwrap

__all__ = ["WIDTH", "wrapped"]

#: Characters per line: JupyterLab shows about 100 in a cell's output on a laptop,
#: nbgrader's Validate dialog about 90.
WIDTH = 88


def wrapped(text, width=WIDTH):
    """``text`` with each line longer than ``width`` broken at spaces, never inside a word.

    A continued indented line (the ``expected:``/``got:`` rows of a message)
    goes on two spaces further in; a word longer than a line stays whole.
    """
    lines = []
    for line in text.splitlines():
        indent = line[:len(line) - len(line.lstrip())]
        lines.extend(textwrap.wrap(line, width, subsequent_indent=indent + "  " * bool(indent),
                                   break_long_words=False, break_on_hyphens=False) or [""])
    return "\n".join(lines)
