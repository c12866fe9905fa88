"""The gradebook side of ``unet-course autograde``: read the assignment, write the grades.

Only the process that runs the command opens the gradebook, and only
:class:`Writer` writes to it: one submission at a time, as each result
arrives, with nbgrader's own steps (``SaveAutoGrades``,
``AssignLatePenalties``), so that ``generate_feedback``, the formgrader and
``export`` see exactly what ``nbgrader autograde`` would have left. The graded
notebook is written to ``autograded/`` first (to a temporary name, then
renamed) and the grades after it, so a run killed in between leaves that
submission "not graded" and the next run grades it again.
"""
from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades

from unet_course.grading.course_config import course_config

__all__ = ["Course", "master_cells", "Writer", "CourseError"]


class CourseError(Exception):
    """The course directory, its gradebook or the assignment is not as nbgrader needs it."""


class Course:
    """An nbgrader course directory, read with its own ``nbgrader_config.py``."""

    def __init__(self, root, assignment):
        try:
            self.root, config = course_config(root)
        except FileNotFoundError as error:
            raise CourseError(str(error)) from None
        self.config = config
        self.dirs = CourseDirectory(config=config, root=str(self.root))
        self.db_url = self.dirs.db_url
        self.assignment = assignment
        with self.gradebook() as gb:
            try:
                gb.find_assignment(assignment)
            except MissingEntry:
                raise CourseError(f"assignment {assignment!r} is not in the gradebook "
                                  f"({self.db_url}): run `nbgrader generate_assignment {assignment}` "
                                  f"in {self.root} first") from None

    def gradebook(self):
        """nbgrader's ``Gradebook`` of this course (a context manager)."""
        return Gradebook(self.db_url, self.dirs.course_id)

    def path(self, step, student):
        """``step/<student>/<assignment>`` as this course's config names it."""
        return Path(self.dirs.format_path(step, student, self.assignment))

    def students(self):
        """Students with a submission of the assignment, sorted."""
        pattern = Path(self.dirs.format_path(self.dirs.submitted_directory, "*", self.assignment))
        return sorted(p.relative_to(self.root).parts[1] for p in self.root.glob(
            str(pattern.relative_to(self.root))) if p.is_dir())

    def submission_files(self, student, limit=50 << 20):
        """``{relative path: bytes}`` of a submission (files over ``limit`` left out)."""
        folder = self.path(self.dirs.submitted_directory, student)
        files = {}
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink() and path.stat().st_size <= limit \
                    and path.name != "timestamp.txt":
                files[path.relative_to(folder).as_posix()] = path.read_bytes()
        return files

    def is_graded(self, student, notebooks):
        """``True`` when every notebook of the submission has its autograded file and auto scores."""
        folder = self.path(self.dirs.autograded_directory, student)
        submitted = self.path(self.dirs.submitted_directory, student) / "timestamp.txt"
        stamp = folder / "timestamp.txt"
        if submitted.is_file() and (not stamp.is_file() or stamp.read_bytes() != submitted.read_bytes()):
            return False
        with self.gradebook() as gb:
            for name in notebooks:
                if not (folder / f"{name}.ipynb").is_file():
                    return False
                try:
                    notebook = gb.find_submission_notebook(name, self.assignment, student)
                except MissingEntry:
                    return False
                if any(grade.auto_score is None and grade.manual_score is None
                       for grade in notebook.grades if grade.cell.cell_type == "code"):
                    return False
        return True


def master_cells(course):
    """``{notebook: [cell, ...]}``: the assignment's cells as the gradebook stores them, in order.

    Each cell is a dict: ``name``, ``cell_type``, ``locked``, ``source``,
    ``checksum``, ``grade``, ``points``, ``solution``, ``task``. Test cells
    carry their hidden tests: this is the code that decides the grades.
    """
    with course.gradebook() as gb:
        result = {}
        for notebook in gb.find_assignment(course.assignment).notebooks:
            points = {cell.name: float(cell.max_score) for cell in notebook.grade_cells}
            solution = {cell.name for cell in notebook.solution_cells}
            task = {cell.name for cell in notebook.task_cells}
            result[notebook.name] = [
                {"name": cell.name, "cell_type": cell.cell_type, "locked": bool(cell.locked),
                 "source": cell.source, "checksum": cell.checksum, "grade": cell.name in points,
                 "points": points.get(cell.name, 0.0), "solution": cell.name in solution,
                 "task": cell.name in task}
                for cell in notebook.source_cells]
    return result


class Writer:
    """The one writer: each result into ``autograded/`` and the gradebook, in that order."""

    def __init__(self, course):
        self.course = course

    def _resources(self, student, notebook):
        return {"nbgrader": {"db_url": self.course.db_url, "assignment": self.course.assignment,
                             "notebook": notebook, "student": student}}

    def _write_files(self, student, notebooks):
        course, dirs = self.course, self.course.dirs
        source = course.path(dirs.submitted_directory, student)
        dest = course.path(dirs.autograded_directory, student)
        dest.mkdir(parents=True, exist_ok=True)
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb":
                (dest / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest / relative)
        for name, (text, _) in notebooks.items():
            partial = dest / f".{name}.ipynb.partial"
            partial.write_text(text, encoding="utf-8")
            os.replace(partial, dest / f"{name}.ipynb")

    def write(self, result):
        """Store one worker result; return ``(score, max_score, flagged)``."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's own session notices
            return self._write(result)

    def _write(self, result):
        course, student = self.course, result["student"]
        submitted = course.path(course.dirs.submitted_directory, student)
        timestamp = course.dirs.get_existing_timestamp(str(submitted))
        with course.gradebook() as gb:
            gb.update_or_create_student(student)
            if timestamp:
                gb.update_or_create_submission(course.assignment, student, timestamp=timestamp)
            else:
                gb.update_or_create_submission(course.assignment, student)
        self._write_files(student, result["notebooks"])
        flagged = False
        for name, (text, report) in result["notebooks"].items():
            nb = nbformat.reads(text, as_version=4)
            resources = self._resources(student, name)
            SaveAutoGrades(config=course.config).preprocess(nb, resources)
            AssignLatePenalties(config=course.config).preprocess(nb, resources)
            with course.gradebook() as gb:
                notebook = gb.find_submission_notebook(name, course.assignment, student)
                notebook.flagged = bool(report["flagged"])
                flagged |= notebook.flagged
                graded = {cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells
                          if cell.metadata.get("nbgrader", {}).get("grade")}
                for grade in notebook.grades:   # a test cell the notebook lacked: nothing earned
                    if grade.name not in graded and grade.auto_score is None:
                        grade.auto_score, grade.needs_manual_grade = 0, False
                gb.db.commit()
        with course.gradebook() as gb:
            submission = gb.find_submission(course.assignment, student)
            return float(submission.score), float(submission.max_score), flagged
