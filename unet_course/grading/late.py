"""Deadlines by rule: a late penalty per started day, per-student extensions, and the feedback's line.

Three settings, each where nbgrader keeps it:

- the **due date** of an assignment is nbgrader's own
  (``nbgrader db assignment add a1_data_imbalance --duedate "2027-01-15 23:59 UTC"``);
- a student's **extension** is nbgrader's too (``SubmittedAssignment.extension``,
  which moves that student's due date); ``unet-course extend ASSIGNMENT
  STUDENT --days N`` sets it with nbgrader's ``Gradebook.grant_extension``;
- the **penalty** is :class:`LatePenalty`, an nbgrader ``LateSubmissionPlugin``
  that ``nbgrader_config.py`` names (``c.AssignLatePenalties.plugin_class``):
  ``percent_per_day`` of the notebook's score for each started day after the
  (extended) due date, at most ``max_percent``. ``nbgrader autograde`` and
  ``unet-course autograde`` both apply it while they write the grades.

:class:`LatenessNote`, a preprocessor of ``nbgrader generate_feedback``,
puts one sentence at the top of the feedback page saying when the work came
in, which due date applied (with the extension) and what that did to the
score.
"""
from __future__ import annotations

import html
import math

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float

__all__ = ["LatePenalty", "late_penalty", "LatenessNote", "lateness_note"]

DAY = 24 * 3600


def late_penalty(score, seconds_late, percent_per_day, max_percent):
    """Points taken off ``score``: ``percent_per_day`` % per started day late, at most ``max_percent`` %."""
    if seconds_late <= 0 or score <= 0:
        return 0.0
    days = math.ceil(seconds_late / DAY)
    return score * min(max_percent, percent_per_day * days) / 100.0


class LatePenalty(LateSubmissionPlugin):
    """nbgrader's late-submission plugin for the course: a share of the score per started day late."""

    percent_per_day = Float(10.0, help="percent of the score taken off per started day late").tag(config=True)
    max_percent = Float(100.0, help="the most that lateness can take off, in percent").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return late_penalty(score, total_seconds_late, self.percent_per_day, self.max_percent)


def _duration(seconds):
    """``"1 day 3 hours"``, ``"2 hours 5 minutes"``, ``"40 seconds"``."""
    seconds = int(round(seconds))
    parts = [(seconds // DAY, "day"), (seconds % DAY // 3600, "hour"), (seconds % 3600 // 60, "minute")]
    words = [f"{n} {unit}{'s' * (n != 1)}" for n, unit in parts if n][:2]
    return " ".join(words) or f"{seconds} second{'s' * (seconds != 1)}"


def lateness_note(submission, penalty, max_score):
    """The feedback's sentence on lateness, or ``""`` when the assignment has no due date.

    ``submission`` is nbgrader's ``SubmittedAssignment`` (its ``timestamp``,
    ``extension`` and extended ``duedate``); ``penalty`` is the notebook's late
    penalty as the gradebook holds it (worked out on the automatic score when
    the notebook was graded) and ``max_score`` its points.
    """
    if submission.assignment.duedate is None or submission.timestamp is None:
        return ""
    due = submission.duedate
    extended = f" (with your extension of {_duration(submission.extension.total_seconds())})" \
        if submission.extension else ""
    when = f"Submitted {submission.timestamp:%Y-%m-%d %H:%M} UTC; due {due:%Y-%m-%d %H:%M} UTC{extended}"
    late = submission.total_seconds_late
    if late <= 0:
        return f"{when}: on time, no late penalty."
    if not penalty:
        return f"{when}: {_duration(late)} late, no points taken off."
    return (f"{when}: {_duration(late)} late, so the late penalty took {penalty:g} of the "
            f"{max_score:g} points off your score.")


class LatenessNote(NbGraderPreprocessor):
    """``generate_feedback``: :func:`lateness_note` as a first cell of the page (none without a due date)."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            try:
                submission = gb.find_submission(info["assignment"], info["student"])
                notebook = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            except MissingEntry:
                return nb, resources
            note = lateness_note(submission, notebook.late_submission_penalty or 0, notebook.max_score)
        if note:
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(f'<p class="unet-note">{html.escape(note)}</p>'))
        return nb, resources
