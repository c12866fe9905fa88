"""Grading a class of assignment 3: plain ``nbgrader autograde`` against ``unet-course autograde``.

In a temporary course directory, ``--students`` submissions of
``a3_unet_blocks`` (the solution, the blank release and the end-to-end
test's three wrong answers, in turn) are graded three ways, one after the
other, in one run:

1. ``nbgrader autograde a3_unet_blocks --create --force`` (one at a time, no sandbox);
2. ``unet-course autograde a3_unet_blocks --workers 1 --force``;
3. ``unet-course autograde a3_unet_blocks --workers 2 --force``;

and the sandbox's own cost is measured on one submission graded
``--repeats`` times with and without it (same worker code, in this process).
Every way must give the same scores. Prints one JSON object::

    python benchmarks/bench_autograde.py                # 40 students
    python benchmarks/bench_autograde.py --students 10 --repeats 2
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_nbgrader_e2e import _env, nbgrader, submissions  # noqa: E402

A3 = "a3_unet_blocks"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40, help="class size (default 40)")
    parser.add_argument("--repeats", type=int, default=3, help="timings of the sandbox overhead (default 3)")
    return parser.parse_args(argv)


def make_course(folder, students):
    """A course with ``students`` submissions of assignment 3."""
    course = folder / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / A3, course / "solutions" / A3)
    nbgrader(course, "generate_assignment", A3, "--force")
    source = nbformat.read(str(course / "solutions" / A3 / f"{A3}.ipynb"), as_version=4)
    released = nbformat.read(str(course / "assignments" / A3 / f"{A3}.ipynb"), as_version=4)
    kinds = list(submissions(A3, source, released).items())
    for n in range(students):
        kind, nb = kinds[n % len(kinds)]
        target = course / "submitted" / f"s{n:03d}-{kind}" / A3 / f"{A3}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, str(target))
    return course


def scores(course):
    nbgrader(course, "export", "--to", "grades.csv")
    with open(course / "grades.csv", newline="") as file:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)
                if row["assignment"] == A3}


def timed(command, course):
    started = time.perf_counter()
    done = subprocess.run(command, cwd=course, env={**_env(), "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=7200)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def sandbox_overhead(course, repeats):
    """Seconds to grade one solution submission with and without the sandbox (medians)."""
    from statistics import median

    from unet_course.grading.autograde.gradebook import Course, master_cells
    from unet_course.grading.autograde.limits import Limits
    from unet_course.grading.autograde.worker import grade

    graded = Course(course, A3)
    master = master_cells(graded)
    student = next(s for s in graded.students() if s.endswith("-solution"))
    files = graded.submission_files(student)
    result = {}
    for sandboxed in (True, False):
        job = {"assignment": A3, "student": student, "files": files, "master": master,
               "notebooks": {name: files.get(f"{name}.ipynb") for name in master},
               "limits": vars(Limits()), "sandboxed": sandboxed}
        result[sandboxed] = median(grade(job)["seconds"] for _ in range(repeats))
    return result[True], result[False]


def main(argv=None):
    args = parse_args(argv)
    scripts = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
        course = make_course(Path(tmp), args.students)
        runs = {"nbgrader_autograde": [str(scripts / "nbgrader"), "autograde", A3, "--create", "--force"],
                "unet_course_1_worker": [sys.executable, "-m", "unet_course", "autograde", A3,
                                         "--workers", "1", "--force", "--quiet"],
                "unet_course_2_workers": [sys.executable, "-m", "unet_course", "autograde", A3,
                                          "--workers", "2", "--force", "--quiet"]}
        seconds, results = {}, {}
        for name, command in runs.items():
            seconds[name] = timed(command, course)
            results[name] = scores(course)
        same = len({json.dumps(r, sort_keys=True) for r in results.values()}) == 1
        with_sandbox, without = sandbox_overhead(course, args.repeats)
    print(json.dumps({
        "assignment": A3, "students": args.students, "cpus": os.cpu_count(),
        "machine": platform.node(), "same_scores": same,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "seconds_per_submission": {k: round(v / args.students, 2) for k, v in seconds.items()},
        "sandbox_overhead_seconds_per_submission": round(with_sandbox - without, 2),
        "one_submission_seconds": {"sandboxed": round(with_sandbox, 2), "no_sandbox": round(without, 2)},
    }, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
