"""``unet-course autograde ASSIGNMENT``: grade a class, sandboxed, bounded, in parallel.

::

    unet-course autograde ASSIGNMENT [--course-dir DIR] [--workers N] [--scheduler ADDRESS]
        [--cell-timeout S] [--notebook-timeout S] [--memory MB] [--output-kb KB]
        [--gpus LIST] [--force] [--no-sandbox]

Run it in (or point ``--course-dir`` at) the nbgrader course directory,
after ``nbgrader generate_assignment`` and ``nbgrader collect`` (or any way
of filling ``submitted/``). It grades every submission that is not graded
yet (all of them with ``--force``) and leaves the grades in the gradebook;
``nbgrader generate_feedback``, the formgrader and ``nbgrader export`` work
as after ``nbgrader autograde``. Interrupted, it keeps what it graded: run
it again to grade the rest.

Ctrl-C (SIGINT) or SIGTERM (``scancel``, a shutdown) stops it cleanly: a
grade being written when the signal comes is finished first, so a
submission is either fully graded or not graded at all.

Exit status: 0 when every submission was graded, 1 when some could not be
(a grader error, named per student) or the course is not ready, 2 for
wrong arguments, 130 when interrupted.
"""
from __future__ import annotations

import argparse
import signal
import sys
from contextlib import contextmanager

from unet_course.cli import positive_int
from unet_course.grading.autograde.limits import Limits

__all__ = ["add_parser", "run"]


def _gpus(text):
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected GPU indices such as 0,1, got {text!r}")
    return parts


def add_parser(commands):
    """Add the ``autograde`` subcommand to ``unet-course``'s subparsers."""
    defaults = Limits()
    parser = commands.add_parser(
        "autograde", help="grade a class with nbgrader: sandboxed, bounded, in parallel",
        description="Grade every submission of ASSIGNMENT in an nbgrader course directory: each "
                    "in its own sandboxed kernel, under time, memory and output limits, N at a time; "
                    "the grades go to nbgrader's gradebook.")
    parser.add_argument("assignment", metavar="ASSIGNMENT", help="the nbgrader assignment, e.g. a3_unet_blocks")
    parser.add_argument("--course-dir", default=".", metavar="DIR",
                        help="the nbgrader course directory (default: .)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, default=1, metavar="N",
                       help="submissions graded at once on this machine (a local Dask cluster; default 1)")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--cell-timeout", type=positive_int, default=defaults.cell_timeout, metavar="S",
                        help=f"seconds per cell (default {defaults.cell_timeout})")
    parser.add_argument("--notebook-timeout", type=positive_int, default=defaults.notebook_timeout,
                        metavar="S", help=f"seconds per notebook (default {defaults.notebook_timeout})")
    parser.add_argument("--memory", type=positive_int, default=defaults.memory_mb, metavar="MB",
                        help=f"address space of a kernel (default {defaults.memory_mb})")
    parser.add_argument("--output-kb", type=positive_int, default=defaults.output_kb, metavar="KB",
                        help=f"output kept per cell (default {defaults.output_kb})")
    parser.add_argument("--gpus", type=_gpus, default=None, metavar="LIST",
                        help="GPU indices to share out, one per local worker (e.g. 0,1)")
    parser.add_argument("--force", action="store_true", help="grade again what is graded already")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run students' code without the sandbox (only where bubblewrap cannot run)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _sandbox_or_refuse(args):
    from unet_course.grading.autograde.gradebook import CourseError
    from unet_course.grading.autograde.sandbox import sandbox_problem

    if args.no_sandbox:
        print("warning: --no-sandbox: students' code runs with your rights, network and files",
              file=sys.stderr)
        return
    problem = sandbox_problem()
    if problem:
        raise CourseError(f"refusing to grade without a sandbox: {problem}. Fix that, or pass "
                          f"--no-sandbox to run students' code with your own rights")


def _jobs(course, students, master, args):
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                    memory_mb=args.memory, output_kb=args.output_kb)
    for student in students:
        files = course.submission_files(student)
        yield {"assignment": course.assignment, "student": student, "files": files,
               "notebooks": {name: files.get(f"{name}.ipynb") for name in master},
               "master": master, "limits": vars(limits), "sandboxed": not args.no_sandbox,
               "gpus": args.gpus}


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@contextmanager
def _signals_held():
    """Hold SIGINT and SIGTERM until the block ends, then act on them (one grade is written whole)."""
    caught = []
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught:
        raise KeyboardInterrupt


def _store(writer, student, result):
    """Write one result to the gradebook; return its line of the report."""
    score, max_score, flagged = writer.write(result)
    notes = [n for _, report in result["notebooks"].values() for n in report["notes"]]
    first = next((n for n in notes if n), "")
    return f"  {student:<24} {score:6.1f} / {max_score:<6.1f} {first}" + ("  [flagged]" if flagged else "")


def run(args):
    """Grade the class; return the exit status."""
    from unet_course.grading.autograde.gradebook import Course, CourseError, Writer, master_cells
    from unet_course.grading.autograde.scheduler import dask_client, graded_results

    try:
        course = Course(args.course_dir, args.assignment)
        _sandbox_or_refuse(args)
        master = master_cells(course)
        students = course.students()
        if not students:
            raise CourseError(f"no submissions of {args.assignment} under "
                              f"{course.root / course.dirs.submitted_directory}")
        todo = [s for s in students if args.force or not course.is_graded(s, master)]
    except (CourseError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.assignment}: {len(students)} submissions, {len(todo)} to grade, "
          f"{len(students) - len(todo)} graded already" + ("" if todo else " (--force grades again)"))
    if not todo:
        return 0
    from tqdm.auto import tqdm

    writer, failed, lines = Writer(course), {}, []
    previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with dask_client(args.workers, args.scheduler) as client, \
                tqdm(total=len(todo), desc=args.assignment, unit="submission",
                     disable=args.quiet, file=sys.stderr) as bar:
            for student, result, error in graded_results(client, _jobs(course, todo, master, args)):
                if error is not None:
                    failed[student] = f"{type(error).__name__}: {error}"
                else:
                    with _signals_held():
                        lines.append(_store(writer, student, result))
                bar.update(1)
    except KeyboardInterrupt:
        print("\n".join(sorted(lines)))
        print(f"\ninterrupted after {len(lines)} graded; run the same command again to grade the rest",
              file=sys.stderr)
        return 130
    except ConnectionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)
    print("\n".join(sorted(lines)))
    for student, why in sorted(failed.items()):
        print(f"  {student:<24} NOT GRADED: {why}")
    print(f"graded {len(lines)} of {len(todo)}" + (f"; {len(failed)} not graded (run again to retry)"
                                                   if failed else ""))
    return 1 if failed else 0
