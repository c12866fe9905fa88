"""Grading a class of assignment 3: plain ``nbgrader autograde`` against ``unet-course autograde``.

In a temporary course directory, ``--students`` submissions of
``a3_unet_blocks`` (the solution, the blank release and the end-to-end
test's three wrong answers, in turn) are graded three ways, one after the
other, in one run:

1. ``nbgrader autograde a3_unet_blocks --create --force`` (one at a time, no sandbox);
2. ``unet-course autograde a3_unet_blocks --workers 1 --force``;
3. ``unet-course autograde a3_unet_blocks --workers 2 --force``;

and the sandbox's own cost is measured twice: one submission graded
``--repeats`` times with and without it, in alternating pairs (same worker
code, in this process), and ``/bin/true`` started inside and outside it.
Every way must give the same scores. The class timings are single runs,
named with the machine's CPU and its load when the run began: compare the
three with each other, not with another machine's. Prints one JSON object::

    python benchmarks/bench_autograde.py                # 40 students
    python benchmarks/bench_autograde.py --students 10 --repeats 2

With ``--compare COMMIT`` it measures instead what a change of the grader
costs: the same class graded ``--repeats`` times by ``unet-course autograde
--workers 1`` of COMMIT (checked out in a temporary ``git worktree``) and of
this checkout, interleaved (old, new, new, old, ...), with the median and
range of each and of the paired ratios new / old::

    python benchmarks/bench_autograde.py --compare 9f0774c --students 5 --repeats 3
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
    parser.add_argument("--repeats", type=int, default=6, help="pairs of timings of the sandbox overhead (default 6)")
    parser.add_argument("--compare", metavar="COMMIT", default=None,
                        help="time this checkout's grader against COMMIT's, interleaved")
    parser.add_argument("--assignment", default=A3, help="the assignment graded with --compare (default a3)")
    return parser.parse_args(argv)


def make_course(folder, students, assignment=A3):
    """A course with ``students`` submissions of ``assignment``."""
    course = folder / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
    nbgrader(course, "generate_assignment", assignment, "--force")
    source = nbformat.read(str(course / "solutions" / assignment / f"{assignment}.ipynb"), as_version=4)
    released = nbformat.read(str(course / "assignments" / assignment / f"{assignment}.ipynb"), as_version=4)
    kinds = list(submissions(assignment, source, released).items())
    for n in range(students):
        kind, nb = kinds[n % len(kinds)]
        target = course / "submitted" / f"s{n:03d}-{kind}" / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, str(target))
    return course


def scores(course, assignment=A3):
    nbgrader(course, "export", "--to", "grades.csv")
    with open(course / "grades.csv", newline="") as file:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)
                if row["assignment"] == assignment}


def timed(command, course, package_root=ROOT):
    started = time.perf_counter()
    done = subprocess.run(command, cwd=course, env={**_env(), "PYTHONPATH": str(package_root)},
                          capture_output=True, text=True, timeout=7200)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def bwrap_start_seconds(repeats=20):
    """Median seconds to run ``/bin/true`` inside the sandbox and outside it (once per kernel)."""
    from statistics import median

    from unet_course.grading.autograde.sandbox import kernel_env, sandbox_argv

    with tempfile.TemporaryDirectory() as tmp:
        folders = [Path(tmp) / name for name in ("work", "home", "sockets")]
        for folder in folders:
            folder.mkdir()
        inside = [*sandbox_argv(folders, folders[0], kernel_env(folders[1])), "/bin/true"]
        times = {"sandboxed": [], "no_sandbox": []}
        for _ in range(repeats):
            for name, argv in (("sandboxed", inside), ("no_sandbox", ["/bin/true"])):
                started = time.perf_counter()
                subprocess.run(argv, check=True)
                times[name].append(time.perf_counter() - started)
    return {name: round(median(values), 4) for name, values in times.items()}


def sandbox_overhead(course, repeats):
    """One solution submission graded with and without the sandbox, in alternating order.

    Returns the medians of each and the median, min and max of the paired
    differences (sandboxed minus not): the pairs run back to back, so a change
    in the machine's load shifts both alike.
    """
    from statistics import median

    from unet_course.grading.autograde.gradebook import Course, master_cells
    from unet_course.grading.autograde.limits import Limits
    from unet_course.grading.autograde.worker import grade

    graded = Course(course, A3)
    master = master_cells(graded)
    student = next(s for s in graded.students() if s.endswith("-solution"))
    files = graded.submission_files(student)

    def seconds(sandboxed):
        job = {"assignment": A3, "student": student, "files": files, "master": master,
               "notebooks": {name: files.get(f"{name}.ipynb") for name in master},
               "limits": vars(Limits()), "sandboxed": sandboxed}
        return grade(job)["seconds"]

    times, differences = {True: [], False: []}, []
    for repeat in range(repeats):
        order = (True, False) if repeat % 2 == 0 else (False, True)
        pair = {sandboxed: seconds(sandboxed) for sandboxed in order}
        for sandboxed, value in pair.items():
            times[sandboxed].append(value)
        differences.append(pair[True] - pair[False])
    return {"sandboxed_median": round(median(times[True]), 2),
            "no_sandbox_median": round(median(times[False]), 2),
            "difference_median": round(median(differences), 2),
            "difference_min": round(min(differences), 2), "difference_max": round(max(differences), 2),
            "pairs": repeats}


def cpu_model():
    """The CPU's model name, as /proc/cpuinfo gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def compare(args):
    """This checkout's grader against ``args.compare``'s, interleaved on one class; the JSON's dict."""
    from statistics import median

    load = [round(x, 2) for x in os.getloadavg()]
    command = [sys.executable, "-m", "unet_course", "autograde", args.assignment, "--workers", "1",
               "--force", "--quiet"]
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.compare],
                       check=True, capture_output=True)
        try:
            course = make_course(Path(tmp), args.students, args.assignment)
            roots = {"old": old, "new": ROOT}
            seconds, results, ratios = {"old": [], "new": []}, {}, []
            for repeat in range(args.repeats):
                order = ("old", "new") if repeat % 2 == 0 else ("new", "old")
                pair = {}
                for name in order:
                    pair[name] = timed(command, course, roots[name])
                    seconds[name].append(pair[name])
                    results[name] = scores(course, args.assignment)
                ratios.append(pair["new"] / pair["old"])
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                           capture_output=True)
    per = {name: [round(v / args.students, 2) for v in values] for name, values in seconds.items()}
    return {"assignment": args.assignment, "students": args.students, "repeats": args.repeats,
            "old": args.compare, "new": "this checkout", "cpus": os.cpu_count(), "cpu": cpu_model(),
            "load_average_at_start": load, "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "scores_old": results["old"], "scores_new": results["new"],
            "seconds_per_submission": per,
            "median_seconds_per_submission": {k: round(median(v), 2) for k, v in per.items()},
            "ratio_new_over_old": {"median": round(median(ratios), 3), "min": round(min(ratios), 3),
                                   "max": round(max(ratios), 3)}}


def main(argv=None):
    args = parse_args(argv)
    if args.compare:
        print(json.dumps(compare(args), indent=2))
        return 0
    load = [round(x, 2) for x in os.getloadavg()]
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
        overhead = sandbox_overhead(course, args.repeats)
    print(json.dumps({
        "assignment": A3, "students": args.students, "cpus": os.cpu_count(), "cpu": cpu_model(),
        "load_average_at_start": load, "same_scores": same,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "seconds_per_submission": {k: round(v / args.students, 2) for k, v in seconds.items()},
        "one_submission_seconds": overhead,
        "program_start_seconds": bwrap_start_seconds(),
    }, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
