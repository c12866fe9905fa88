"""The class at a glance: one HTML page, with figures, on a graded class.

::

    unet-course report [ASSIGNMENT ...] [--course-dir DIR] [--out DIR]

written after ``unet-course autograde`` (or ``nbgrader autograde``) to
``reports/class/report.html`` in the course directory. For each assignment it
shows

- the **score distribution** (a histogram of the final scores, late penalties
  taken off, manual grades included), with the median and the mean;
- per **item** (test cell) the share of students who earned all its points,
  as bars, and the **most frequent failure message**: the hint of the check
  that failed most often, with how many students saw it (the hint to improve
  first, or the idea to teach again);
- the submissions that **hit a limit** or were **flagged** (the grading notes
  ``unet-course autograde`` puts at the top of a graded notebook, and the
  gradebook's flag);
- the **similarity flags**, when ``unet-course similarity ASSIGNMENT`` has
  written ``reports/similarity/<assignment>/similarity.csv`` (columns
  ``function,student_a,student_b,score,flagged``; ``student_b`` may be
  ``reference``, the package's own code).

Scores come from nbgrader's gradebook; failure messages and notes from the
graded notebooks in ``autograded/``. The figures are matplotlib PNGs inside the
page, so the one file can be mailed or archived.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

__all__ = ["ItemSummary", "AssignmentSummary", "summarize", "failure_message", "write_report"]

ANSI = re.compile(r"\x1b\[[0-9;]*m")
NOTES_TITLE = "**Grading notes**"     # the first cell unet-course autograde writes (autograde/worker.py)


@dataclass
class ItemSummary:
    """One test cell across the class: how many earned it all, and what failed most."""

    name: str
    points: float
    earned: int = 0
    graded: int = 0
    failures: Counter = field(default_factory=Counter)

    @property
    def share(self):
        """Share of the graded students who earned every point of the item."""
        return self.earned / self.graded if self.graded else 0.0


@dataclass
class AssignmentSummary:
    """One assignment across the class."""

    name: str
    max_score: float
    scores: dict = field(default_factory=dict)        # student -> final score
    items: dict = field(default_factory=dict)         # grade_id -> ItemSummary
    notes: list = field(default_factory=list)         # (student, note) for limits and other notes
    flagged: list = field(default_factory=list)       # students whose submission is flagged
    similar: list = field(default_factory=list)       # flagged rows of the similarity report


def failure_message(cell):
    """What a failed test cell told the student, in one line: its hint, else its first line."""
    for output in cell.get("outputs", []):
        if output.get("output_type") != "error":
            continue
        lines = [ANSI.sub("", line) for text in output.get("traceback", []) for line in text.splitlines()]
        hints = [line.strip() for line in lines if line.strip().startswith("Hint:")]
        if hints:
            return hints[0]
        failed = [line.split("Check failed:", 1)[1].strip() for line in lines if "Check failed:" in line]
        if failed:
            return failed[0]
        return f"{output.get('ename', 'Error')}: {ANSI.sub('', output.get('evalue', ''))}".strip()
    return "no error shown (partial credit)"


def _grading_notes(nb):
    """The bullet lines of the "Grading notes" cell at the top of a graded notebook."""
    if nb.cells and nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(NOTES_TITLE):
        return [line[2:].strip() for line in nb.cells[0].source.splitlines() if line.startswith("- ")]
    return []


def _graded_notebook(dirs, student, assignment, notebook):
    path = Path(dirs.format_path(dirs.autograded_directory, student, assignment)) / f"{notebook}.ipynb"
    try:
        return nbformat.read(str(path), as_version=4)
    except (OSError, ValueError):
        return None


def _similarity(dirs, assignment):
    path = Path(dirs.root) / "reports" / "similarity" / assignment / "similarity.csv"
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    return [row for row in rows if str(row.get("flagged", "")).strip().lower() in ("1", "true", "yes")]


def summarize(gradebook, dirs, assignment):
    """:class:`AssignmentSummary` of one assignment, from the gradebook and ``autograded/``."""
    record = gradebook.find_assignment(assignment)
    summary = AssignmentSummary(assignment, float(record.max_score))
    for notebook in record.notebooks:
        for cell in notebook.grade_cells:
            if cell.cell_type == "code":
                summary.items[cell.name] = ItemSummary(cell.name, float(cell.max_score))
    for submission in record.submissions:
        grades = [g for nb in submission.notebooks for g in nb.grades]
        if not any(g.auto_score is not None or g.manual_score is not None for g in grades):
            continue                                   # a row holding only an extension
        student = submission.student.id
        summary.scores[student] = max(0.0, submission.score - submission.late_submission_penalty)
        if any(nb.flagged for nb in submission.notebooks):
            summary.flagged.append(student)
        for notebook in submission.notebooks:
            graded_nb = _graded_notebook(dirs, student, assignment, notebook.name)
            cells = {} if graded_nb is None else {
                c.metadata.get("nbgrader", {}).get("grade_id"): c for c in graded_nb.cells}
            for note in [] if graded_nb is None else _grading_notes(graded_nb):
                summary.notes.append((student, note))
            for grade in notebook.grades:
                item = summary.items.get(grade.name)
                if item is None:
                    continue
                item.graded += 1
                if grade.score >= grade.max_score:
                    item.earned += 1
                elif grade.name in cells:
                    item.failures[failure_message(cells[grade.name])] += 1
    summary.similar = _similarity(dirs, assignment)
    return summary


def _png(fig):
    """The figure as a ``data:`` URL (PNG), then closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def score_figure(summary):
    """Histogram of the class's final scores, median and mean marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = list(summary.scores.values())
    fig, ax = plt.subplots(figsize=(6, 2.8))
    bins = max(5, min(20, int(summary.max_score)))
    ax.hist(scores, bins=bins, range=(0, summary.max_score), color="#4878a8", edgecolor="white")
    ax.axvline(statistics.median(scores), color="#d2413a", label=f"median {statistics.median(scores):g}")
    ax.axvline(statistics.fmean(scores), color="#333333", linestyle="--",
               label=f"mean {statistics.fmean(scores):.1f}")
    ax.set(xlabel=f"score (of {summary.max_score:g})", ylabel="students", xlim=(0, summary.max_score))
    ax.legend(frameon=False)
    return _png(fig)


def items_figure(summary):
    """Horizontal bars: per item, the share of students who earned all its points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = list(summary.items.values())
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(items) + 0.9))
    ax.barh([f"{i.name} ({i.points:g})" for i in items], [100 * i.share for i in items], color="#5a9e6f")
    ax.invert_yaxis()
    ax.set(xlim=(0, 100), xlabel="students who earned every point (%)")
    return _png(fig)


def _table(header, rows):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _section(summary):
    """The HTML of one assignment."""
    name = html.escape(summary.name)
    if not summary.scores:
        return f"<h2>{name}</h2><p>No graded submission yet.</p>"
    scores = list(summary.scores.values())
    parts = [f"<h2 id='{name}'>{name}</h2>",
             f"<p>{len(scores)} graded submissions; median {statistics.median(scores):g}, "
             f"mean {statistics.fmean(scores):.1f} of {summary.max_score:g}.</p>",
             f"<img alt='score distribution of {name}' src='{score_figure(summary)}'>",
             "<h3>Items</h3>",
             f"<img alt='items earned in {name}' src='{items_figure(summary)}'>"]
    rows = []
    for item in summary.items.values():
        message, count = item.failures.most_common(1)[0] if item.failures else ("", 0)
        rows.append((item.name, f"{item.points:g}", f"{100 * item.share:.0f} % ({item.earned}/{item.graded})",
                     f"{message} ({count} students)" if count else "-"))
    parts.append(_table(("item", "points", "earned it all", "most frequent failure message"), rows))
    parts.append("<h3>Limits, notes and flags</h3>")
    noted = [(s, n) for s, n in summary.notes] + [(s, "flagged in the gradebook") for s in summary.flagged]
    parts.append(_table(("student", "note"), sorted(noted)) if noted else "<p>None.</p>")
    parts.append("<h3>Similarity</h3>")
    if summary.similar is None:
        parts.append(f"<p>No similarity report (run <code>unet-course similarity {name}</code>).</p>")
    elif not summary.similar:
        parts.append("<p>The similarity report flags no pair.</p>")
    else:
        parts.append(_table(("function", "student", "with", "score"),
                            [(r["function"], r["student_a"], r["student_b"], r["score"]) for r in summary.similar]))
    return "\n".join(parts)


STYLE = """body { font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.2em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } img { max-width: 100%; }"""


def write_report(dirs, assignments=(), out=None):
    """Write ``report.html`` for ``assignments`` (every one when empty); return its path.

    ``dirs`` is nbgrader's ``CourseDirectory``. Raises ``LookupError`` for an
    assignment the gradebook does not know.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(dirs.db_url, dirs.course_id) as gb:
        names = list(assignments) or [a.name for a in gb.assignments]
        try:
            summaries = [summarize(gb, dirs, name) for name in names]
        except MissingEntry:
            unknown = sorted(set(names) - {a.name for a in gb.assignments})
            raise LookupError(f"no assignment {', '.join(unknown)} in {dirs.db_url}") from None
    body = "\n".join(_section(s) for s in summaries)
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Class report</title>"
            f"<style>{STYLE}</style></head><body><h1>Class report: {html.escape(dirs.course_id)}</h1>"
            f"{body}</body></html>")
    folder = Path(out) if out else Path(dirs.root) / "reports" / "class"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "report.html"
    partial = folder / ".report.html.partial"
    partial.write_text(page, encoding="utf-8")
    partial.replace(target)
    return target
