"""The instructor's commands after grading: ``export``, ``extend`` and ``report``.

::

    unet-course export --format canvas|moodle|blackboard [--course-dir DIR] [--to FILE] [--assignment A ...]
    unet-course extend ASSIGNMENT STUDENT [--days N] [--hours N] [--course-dir DIR]
    unet-course report [ASSIGNMENT ...] [--course-dir DIR] [--out DIR]

Each is registered in ``pyproject.toml`` (entry points ``unet_course.commands``)
as one of the objects below, with ``add_parser(subparsers)`` and ``run(args)``.
This module only builds argument parsers: nbgrader and matplotlib are
imported when a command runs (:mod:`~unet_course.grading.export`,
:mod:`~unet_course.grading.late`, :mod:`~unet_course.grading.report`), so
``unet-course demo`` does not wait for them. Exit status: 0 done, 1 a course
directory or an assignment that is not there, 2 wrong arguments.
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

__all__ = ["EXPORT", "EXTEND", "REPORT"]

PLATFORMS = ("blackboard", "canvas", "moodle")


def _course_dir(parser):
    parser.add_argument("--course-dir", default=".", metavar="DIR",
                        help="the nbgrader course directory (default: .)")


def _export_parser(commands):
    parser = commands.add_parser(
        "export", help="write the gradebook as a CSV file Canvas, Moodle or Blackboard imports",
        description="Write every grade of nbgrader's gradebook (manual grades included, late penalties "
                    "taken off) in the CSV layout a learning platform imports.")
    parser.add_argument("--format", required=True, choices=PLATFORMS, help="the platform")
    _course_dir(parser)
    parser.add_argument("--to", default=None, metavar="FILE",
                        help="the CSV file (default: grades-<format>.csv in the course directory)")
    parser.add_argument("--assignment", nargs="+", default=[], metavar="A", help="only these assignments")
    return parser


def _open(course_dir):
    """``(config, CourseDirectory)``, or ``None`` after printing why not."""
    from unet_course.grading.export import course_directory

    try:
        return course_directory(course_dir)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def _export(args):
    from nbgrader.api import Gradebook

    from unet_course.grading.export import FORMATS, needing_manual_grades

    opened = _open(args.course_dir)
    if opened is None:
        return 1
    config, dirs = opened
    plugin_class = FORMATS[args.format]
    to = Path(args.to) if args.to else Path(dirs.root) / plugin_class.default_file
    with Gradebook(dirs.db_url, dirs.course_id) as gb:
        missing = sorted(set(args.assignment) - {a.name for a in gb.assignments})
        if missing:
            print(f"error: no assignment {', '.join(missing)} in {dirs.db_url}", file=sys.stderr)
            return 1
        waiting = [f"{s.student.id}/{s.assignment.name}" for s in needing_manual_grades(gb, args.assignment)]
        dest = plugin_class(config=config, to=str(to), assignment=args.assignment).export(gb)
    print(f"wrote {dest}")
    if waiting:
        print(f"warning: {len(waiting)} submissions still wait for a manual grade (their score lacks it): "
              f"{', '.join(waiting)}", file=sys.stderr)
    return 0


def _extend_parser(commands):
    parser = commands.add_parser(
        "extend", help="give a student more time for an assignment (nbgrader's extension)",
        description="Move STUDENT's due date for ASSIGNMENT later by the given time, replacing an "
                    "earlier extension (no time removes it). A submission graded before needs "
                    "`unet-course autograde ASSIGNMENT --force` for its penalty to change.")
    parser.add_argument("assignment", metavar="ASSIGNMENT")
    parser.add_argument("student", metavar="STUDENT")
    parser.add_argument("--days", type=float, default=0.0)
    parser.add_argument("--hours", type=float, default=0.0)
    _course_dir(parser)
    return parser


def _extend(args):
    from nbgrader.api import Gradebook, MissingEntry

    if args.days < 0 or args.hours < 0:
        print("error: --days and --hours must be 0 or more", file=sys.stderr)
        return 2
    opened = _open(args.course_dir)
    if opened is None:
        return 1
    _, dirs = opened
    with Gradebook(dirs.db_url, dirs.course_id) as gb:
        try:
            gb.find_assignment(args.assignment)
        except MissingEntry:
            print(f"error: no assignment {args.assignment!r} in {dirs.db_url}", file=sys.stderr)
            return 1
        gb.update_or_create_student(args.student)
        try:
            gb.find_submission(args.assignment, args.student)
        except MissingEntry:      # not submitted yet: nbgrader keeps extensions on submissions
            gb.update_or_create_submission(args.assignment, args.student)
        gb.grant_extension(args.assignment, args.student, days=args.days, hours=args.hours)
        due = gb.find_submission(args.assignment, args.student).duedate
    print(f"{args.student}: {args.assignment} now due {due:%Y-%m-%d %H:%M} UTC" if due else
          f"{args.student}: extension recorded; {args.assignment} has no due date yet")
    return 0


def _report_parser(commands):
    parser = commands.add_parser(
        "report", help="write the class report: scores, items, limits and flags, similarity (HTML)",
        description="Write an HTML page with figures on the graded class from nbgrader's gradebook "
                    "and the autograded notebooks.")
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="the assignments (default: every one in the gradebook)")
    _course_dir(parser)
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="where report.html goes (default: reports/class in the course directory)")
    return parser


def _report(args):
    from unet_course.grading.report import write_report

    opened = _open(args.course_dir)
    if opened is None:
        return 1
    _, dirs = opened
    try:
        page = write_report(dirs, args.assignments, args.out)
    except LookupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {page}")
    return 0


EXPORT = SimpleNamespace(add_parser=_export_parser, run=_export)
EXTEND = SimpleNamespace(add_parser=_extend_parser, run=_extend)
REPORT = SimpleNamespace(add_parser=_report_parser, run=_report)
