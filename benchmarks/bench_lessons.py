"""Minutes per lesson, measured: every lesson executed under one profile, cell by cell.

Each lesson (``course/NN_*.ipynb``, all ten or those named) is copied into a
temporary folder (``shared/`` beside it links to the real sample when the
checkout has one, as lesson 1 looks for it) and executed there by nbclient
under ``UNET_COURSE_PROFILE=PROFILE``, in a fresh kernel. It prints one JSON
object: per lesson the seconds of all its cells, the kernel's start, the
longest cell (its index, seconds and first line), the seconds of every cell,
and the machine (CPU model, cores, TensorFlow version, date, the load average
before, after and sampled every 5 s during the run, how many measured ways to
train the user's cache of :mod:`unet_course.tuning` held before). Each lesson
runs alone in its own folder, so lesson 8 trains its own model rather than
reusing lesson 7's: an upper bound for a student who runs them in order.

``--json FILE`` keeps the results in FILE under ``profiles.PROFILE`` after each
lesson, so an interrupted run resumes: a lesson already measured there, with
the same code, under the same profile, is not run again. The course's figures
live in ``docs/lesson_times.json``, written this way (its format and the
headers are ``benchmarks/lesson_headers.py``'s); ``--headers`` rewrites the
"Time." line of every English and Chinese lesson header from it (the reading
minutes are kept in the same file), and ``tests/test_lesson_times.py`` fails
when a header and the file disagree::

    python benchmarks/bench_lessons.py --profile smoke --json docs/lesson_times.json
    python benchmarks/bench_lessons.py --profile laptop --json docs/lesson_times.json 3 7
    python benchmarks/bench_lessons.py --headers docs/lesson_times.json

The ``full`` profile is meant for a GPU; a header says so until a run on one
is kept in the file.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lesson_headers import COURSE, PROFILES, ROOT, code_digest, read_times, write_headers, write_times  # noqa: E402

LOAD_EVERY_S = 5.0


# --- the machine --------------------------------------------------------------------


def tensorflow_version():
    """The installed TensorFlow's version, without importing it."""
    for name in ("tensorflow", "tensorflow-cpu"):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def cores():
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def machine():
    """What the figures were measured on."""
    from unet_course.tuning import cpu_model

    return {"cpu": cpu_model(), "cores": cores(), "tensorflow": tensorflow_version(),
            "python": platform.python_version()}


def tuning_cache_entries():
    """How many measured ways to train the user's cache holds (0: the first training run measures, ~40 s)."""
    from unet_course.tuning import cache_path

    try:
        return len(json.loads(cache_path().read_text()))
    except (OSError, ValueError):
        return 0


def load():
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


class LoadSampler:
    """Samples the 1-minute load average every few seconds while a lesson runs."""

    def __init__(self, every=LOAD_EVERY_S):
        self.every, self.samples = every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.every):
            self.samples.append(round(os.getloadavg()[0], 2))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self):
        xs = self.samples or [round(os.getloadavg()[0], 2)]
        return {"min": min(xs), "median": round(statistics.median(xs), 2), "max": max(xs), "samples": len(xs)}


# --- running one lesson -------------------------------------------------------------------


def lesson_paths(names=()):
    """The lessons named (``3``, ``03``, ``03_bce_vs_dice``), or all of them, in order."""
    paths = sorted(COURSE.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return paths
    chosen = []
    for name in names:
        key = name.removesuffix(".ipynb")
        hits = [p for p in paths if p.stem == key or (key.isdigit() and p.stem[:2] == f"{int(key):02d}")]
        if not hits:
            raise SystemExit(f"bench_lessons: no lesson {name!r} in course/ "
                             f"(expected a number 1-{len(paths)} or a name like {paths[0].stem})")
        chosen += [p for p in hits if p not in chosen]
    return chosen


def first_line(source):
    """A cell's first line that is not blank."""
    return next((line.strip() for line in source.splitlines() if line.strip()), "")[:100]


def run_lesson(path, profile, timeout):
    """Execute one lesson in a fresh kernel under ``profile``; its timings (or its error)."""
    import nbclient
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    started, finished = {}, {}
    cache_before = tuning_cache_entries()
    env_before = os.environ.get("UNET_COURSE_PROFILE")
    os.environ["UNET_COURSE_PROFILE"] = profile
    entry = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
             "machine": machine(), "code": code_digest(path), "tuning_cache_entries_before": cache_before,
             "load_before": load()}
    with tempfile.TemporaryDirectory(prefix="bench-lessons-") as tmp:
        shared = ROOT.parent / "shared"
        if shared.is_dir():
            (Path(tmp) / "shared").symlink_to(shared.resolve())
        work = Path(tmp) / "course"
        work.mkdir()
        shutil.copy(path, work / path.name)
        client = nbclient.NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(work)}},
            on_cell_execute=lambda cell, cell_index: started.__setitem__(cell_index, time.perf_counter()),
            on_cell_executed=lambda cell, cell_index, execute_reply:
                finished.__setitem__(cell_index, time.perf_counter()))
        t0 = time.perf_counter()
        try:
            with LoadSampler() as sampler:
                client.execute()
        except Exception as error:  # a failing cell: recorded, never counted as a measurement
            entry["error"] = f"{type(error).__name__}: {str(error).strip().splitlines()[-1:] or ['']}"[:400]
        wall = time.perf_counter() - t0
    if env_before is None:
        os.environ.pop("UNET_COURSE_PROFILE", None)
    else:
        os.environ["UNET_COURSE_PROFILE"] = env_before
    cells = {n: finished[n] - started[n] for n in started if n in finished}
    longest = max(cells, key=cells.get) if cells else None
    entry.update({
        "seconds": round(sum(cells.values()), 1),
        "kernel_start_seconds": round(wall - (max(finished.values()) - min(started.values())), 1) if cells else None,
        "wall_seconds": round(wall, 1),
        "longest_cell": None if longest is None else {
            "index": longest, "seconds": round(cells[longest], 1), "first_line": first_line(nb.cells[longest].source)},
        "cells": {str(n): round(s, 2) for n, s in sorted(cells.items())},
        "load_after": load(), "load_during": sampler.summary(),
    })
    return entry


def measure(paths, profile, keep=None, timeout=3600, say=print):
    """Run ``paths`` under ``profile``; with ``keep`` (a file) resume from and save into it."""
    data = read_times(keep) if keep else {}
    results = data.setdefault("profiles", {}).setdefault(profile, {})
    for path in paths:
        old = results.get(path.stem)
        if old and "error" not in old and old.get("code") == code_digest(path):
            say(f"{path.stem}: kept from {keep} ({old['seconds']} s, measured {old['date']})")
            continue
        say(f"{path.stem}: running under the {profile} profile ...")
        entry = run_lesson(path, profile, timeout)
        results[path.stem] = entry
        say(f"{path.stem}: {entry['seconds']} s, longest cell {entry['longest_cell']}"
            + (f", FAILED {entry['error']}" if "error" in entry else ""))
        if keep:
            write_times(keep, data)
    return {"profile": profile, "lessons": {p.stem: results[p.stem] for p in paths}}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers or names (default: all)")
    parser.add_argument("--profile", choices=PROFILES, default="smoke", help="the profile to run (default smoke)")
    parser.add_argument("--json", metavar="FILE", help="keep results in FILE and resume from it")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds one cell may take (default 3600)")
    parser.add_argument("--headers", metavar="FILE",
                        help="rewrite every lesson header's Time line from FILE (runs nothing)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.headers:
        write_headers(read_times(args.headers))
        return 0
    result = measure(lesson_paths(args.lessons), args.profile, keep=args.json, timeout=args.timeout,
                     say=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(result, indent=1, ensure_ascii=False))
    return 1 if any("error" in e for e in result["lessons"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
