"""Grades into the learning platform: nbgrader export plugins for Canvas, Moodle and Blackboard.

::

    unet-course export --format canvas|moodle|blackboard [--course-dir DIR] [--to FILE] [--assignment A ...]
    nbgrader export --exporter unet_course.grading.export.CanvasExport --to grades-canvas.csv

Each plugin is an nbgrader ``ExportPlugin``: it reads the gradebook (every
assignment, every student nbgrader knows, the manual grades given in the
formgrader included, late penalties taken off) and writes one CSV file in the
layout its platform's grade import documents. Every platform takes one row
per student and one column per grade item, so each (student, assignment)
grade is exactly one cell; ``--assignment`` writes a file of one assignment.
A student who did not submit an assignment gets an empty cell (the
platform's rule for missing work applies, and no grade already entered
there is overwritten by a 0).

The layouts:

- **Canvas** (Canvas Instructor Guide, "How do I import grades in the
  Gradebook?"): the columns ``Student``, ``ID``, ``SIS User ID``,
  ``SIS Login ID``, ``Section``, then one column per assignment, named after
  it; the second row, ``Points Possible``, gives each assignment's maximum.
  Canvas matches a student by ``ID``, ``SIS User ID`` or ``SIS Login ID``:
  nbgrader's student id (the login name) goes into ``SIS Login ID``; an
  assignment column Canvas does not know yet becomes a new assignment.
- **Moodle** (Moodle docs, "Grade import", CSV file): a header row, one row
  per student; on import the teacher maps the ``Username`` column to
  "username" (or ``Email address`` to "email address") and each assignment
  column to a grade item or a new one. The names follow Moodle's own grade
  export (``First name``, ``Last name``, ``Email address``).
- **Blackboard** (Blackboard Learn Grade Center, "Uploading External Grade
  Center Items"): the student's ``Username`` is the identifier and must be
  present; ``Last Name`` and ``First Name`` are shown, not matched; a column
  header without a Column ID (``|123``) creates a new column; in a
  comma-delimited file every value is in quotes.

``tests/test_instructor_tools.py`` checks each file against these rules.
"""
from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin

__all__ = ["gradebook_rows", "CanvasExport", "MoodleExport", "BlackboardExport", "FORMATS", "course_directory",
           "needing_manual_grades"]


def gradebook_rows(gradebook, assignments=(), students=()):
    """``(students, assignments, grades)`` from nbgrader's gradebook.

    ``students`` are nbgrader ``Student`` rows, ``assignments`` ``Assignment``
    rows (in due-date order), ``grades`` maps ``(student id, assignment name)``
    to the final score (raw score, manual grades included, minus the late
    penalty) of each submission there is; a missing pair did not submit.
    """
    chosen = [a for a in gradebook.assignments if not assignments or a.name in assignments]
    people = [s for s in gradebook.students if not students or s.id in students]
    grades = {}
    for assignment in chosen:
        for student in people:
            try:
                submission = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                continue
            if not _graded(submission):   # a row made only to hold an extension: nothing handed in
                continue
            grades[student.id, assignment.name] = max(0.0, submission.score - submission.late_submission_penalty)
    return people, chosen, grades


def _graded(submission):
    """``True`` once some grade of the submission has a score (automatic or manual)."""
    return any(grade.auto_score is not None or grade.manual_score is not None
               for notebook in submission.notebooks for grade in notebook.grades)


def _points(value):
    """A score as a platform reads it: ``7.5``, ``10`` (no trailing ``.0``)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


class _PlatformExport(ExportPlugin):
    """One CSV file for a platform: ``header()``, then ``student_row()`` per student."""

    default_file = "grades.csv"
    quoting = csv.QUOTE_MINIMAL

    def export(self, gradebook):
        people, assignments, grades = gradebook_rows(gradebook, [str(a) for a in self.assignment],
                                                     [str(s) for s in self.student])
        dest = Path(self.to or self.default_file)
        partial = dest.with_name(f".{dest.name}.partial")
        with partial.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, quoting=self.quoting)
            writer.writerows(self.header(assignments))
            for student in people:
                cells = [_points(grades[student.id, a.name]) if (student.id, a.name) in grades else ""
                         for a in assignments]
                writer.writerow(self.student_row(student) + cells)
        partial.replace(dest)
        self.log.info("wrote %s: %d students x %d assignments", dest, len(people), len(assignments))
        return dest


class CanvasExport(_PlatformExport):
    """Canvas's Gradebook import CSV (the layout of Canvas's own Gradebook export)."""

    default_file = "grades-canvas.csv"

    def header(self, assignments):
        return [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *[a.name for a in assignments]],
                ["Points Possible", "", "", "", "", *[_points(a.max_score) for a in assignments]]]

    def student_row(self, student):
        name = ", ".join(part for part in (student.last_name, student.first_name) if part) or student.id
        return [name, "", "", student.id, ""]


class MoodleExport(_PlatformExport):
    """Moodle's grade import CSV: identify users by ``Username`` (or ``Email address``)."""

    default_file = "grades-moodle.csv"

    def header(self, assignments):
        return [["First name", "Last name", "Username", "Email address", *[a.name for a in assignments]]]

    def student_row(self, student):
        return [student.first_name or "", student.last_name or "", student.id, student.email or ""]


class BlackboardExport(_PlatformExport):
    """Blackboard Learn's Grade Center upload (comma-delimited: every value quoted)."""

    default_file = "grades-blackboard.csv"
    quoting = csv.QUOTE_ALL

    def header(self, assignments):
        return [["Last Name", "First Name", "Username", *[a.name for a in assignments]]]

    def student_row(self, student):
        return [student.last_name or "", student.first_name or "", student.id]


#: ``--format`` name -> plugin class.
FORMATS = {"canvas": CanvasExport, "moodle": MoodleExport, "blackboard": BlackboardExport}


def course_directory(root):
    """``(config, CourseDirectory)`` of the nbgrader course directory ``root``, read with its own config."""
    from nbgrader.coursedir import CourseDirectory

    from unet_course.grading.course_config import course_config

    root, config = course_config(root)
    return config, CourseDirectory(config=config, root=str(root))


def needing_manual_grades(gradebook, assignments=()):
    """The submissions of ``assignments`` (all when empty) that still wait for a manual grade."""
    for assignment in gradebook.assignments:
        if assignments and assignment.name not in assignments:
            continue
        for submission in assignment.submissions:
            if submission.needs_manual_grade:
                yield submission
