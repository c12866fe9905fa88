"""The feedback pages of ``nbgrader generate_feedback``: formulas without the internet, readable tables.

This module is also where the course's MathJax comes from, for the feedback
pages and for the site (``docs/_ext/course_site.py`` copies
:func:`mathjax_folder`'s :data:`MATHJAX_SCRIPT` into it): one package, one
version, one way to draw formulas.

nbgrader's feedback template loads MathJax from a CDN, so a classroom or an
exam room without the internet sees raw ``$...$``. The course's template
``unet_feedback`` (in :data:`TEMPLATES`, which ``nbgrader_config.py`` names for
``generate_feedback`` alone) is nbgrader's with an empty MathJax macro, and
carries MathJax 3 in the page itself: the ``tex-svg`` build of MathJax 3.2.2 from the
``django-static-mathjax`` wheel (MathJax's own ``es5/`` files; the package
needs no Django). That build draws formulas as SVG with its fonts inside the
script, so the page needs nothing else; it adds 2.1 MB, to pages with
formulas only (assignments 2 and 4).

:class:`FeedbackStyle` adds the course's style sheet to the page: tables get
cell padding and borders (nbgrader's has none, so "a whole dataset" ran into
its "5" points).
"""
from __future__ import annotations

import re
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

__all__ = ["TEMPLATES", "MATHJAX_SCRIPT", "mathjax_folder", "mathjax_script", "STYLE", "FeedbackStyle", "OfflineMathJax", "has_math"]

#: The folder of the ``unet_feedback`` template.
TEMPLATES = Path(__file__).resolve().parent / "templates"

#: The course's additions to nbgrader's feedback style sheet.
STYLE = """
.rendered_html table { border-collapse: collapse; margin: 0.6em 0; }
.rendered_html th, .rendered_html td { border: 1px solid #d0d0d0; padding: 0.25em 0.75em; text-align: left; }
.rendered_html th { background: #f3f3f3; }
.unet-note { margin: 0.4em 0; padding: 0.5em 0.8em; border-left: 4px solid #d2413a; background: #fbf0ef; }
"""

_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$|\\\(.+?\\\)|\\\[.+?\\\]", re.S)


#: MathJax 3's self-contained TeX-to-SVG build (its fonts inside), in :func:`mathjax_folder`.
MATHJAX_SCRIPT = "tex-svg.js"


def mathjax_folder():
    """MathJax 3's ``es5/`` folder, from the ``django-static-mathjax`` wheel (MathJax's files as package data)."""
    try:
        import mathjax
    except ImportError:
        raise ImportError("formulas offline need MathJax's files: pip install django-static-mathjax "
                          "(the course's dev extras include it)") from None
    return Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"


def mathjax_script():
    """The text of :data:`MATHJAX_SCRIPT`, to put into a feedback page."""
    return (mathjax_folder() / MATHJAX_SCRIPT).read_text(encoding="utf-8")


def has_math(nb):
    """``True`` when a markdown cell of ``nb`` holds a formula (``$...$``, ``$$...$$``, ``\\(...\\)``)."""
    return any(cell.cell_type == "markdown" and _MATH.search(cell.source) for cell in nb.cells)


class OfflineMathJax(NbGraderPreprocessor):
    """``resources["unet_mathjax"]``: MathJax's script for a page with formulas, else ``""``."""

    def preprocess(self, nb, resources):
        resources["unet_mathjax"] = mathjax_script() if has_math(nb) else ""
        return nb, resources


class FeedbackStyle(NbGraderPreprocessor):
    """Append :data:`STYLE` to the style sheets nbgrader's template writes into the page."""

    def preprocess(self, nb, resources):
        resources.setdefault("inlining", {}).setdefault("css", []).append(STYLE)
        return nb, resources
