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
live in ``docs/lesson_times.json``, written this way; ``--headers`` rewrites
the "Time." line of every English and Chinese lesson header from it (the
reading minutes are kept in the same file), and ``tests/test_lesson_times.py``
fails when a header and the file disagree::

    python benchmarks/bench_lessons.py --profile smoke --json docs/lesson_times.json
    python benchmarks/bench_lessons.py --profile laptop --json docs/lesson_times.json 3 7
    python benchmarks/bench_lessons.py --headers docs/lesson_times.json

The ``full`` profile is meant for a GPU; a header says so until a run on one
is kept in the file.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
CHINESE = ROOT / "course_zh"
TIMES = ROOT / "docs" / "lesson_times.json"
PROFILES = ("smoke", "laptop", "full")
#: The markdown cell holding "Before you start" (the second cell of every lesson).
HEADER_CELL = 1
TIME_BULLET = {"en": "- **Time.**", "zh": "- **时间。**"}
LOAD_EVERY_S = 5.0
#: Stands for a space the English line is not wrapped at (inside the brackets).
KEEP = "\x00"


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


def code_digest(path):
    """A digest of the lesson's code cells: a result is reused only for the code it measured."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    code = "\n\x00".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    return hashlib.sha256(code.encode()).hexdigest()[:16]


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


# --- the results file -------------------------------------------------------------------


def read_times(path):
    """The results file as a dict (empty when missing); a broken file is one clear error."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise SystemExit(f"bench_lessons: {path} is not JSON ({error}); fix or remove it") from None


def write_times(path, data):
    """Write the results file whole (a temporary file renamed over it: never half-written)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


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


# --- the headers ---------------------------------------------------------------------------


def duration(seconds, lang="en"):
    """``52 s`` / ``6 min 10 s`` (``52 秒`` / ``6 分 10 秒``)."""
    whole = int(round(seconds))
    minutes, rest = divmod(whole, 60)
    if lang == "zh":
        return f"{whole} 秒" if minutes == 0 else f"{minutes} 分钟" if rest == 0 else f"{minutes} 分 {rest} 秒"
    return f"{whole} s" if minutes == 0 else f"{minutes} min" if rest == 0 else f"{minutes} min {rest} s"


def load_range(entry):
    """The load average seen while the lesson ran, rounded: ``4`` or ``3–6``."""
    low, high = round(entry["load_during"]["min"]), round(entry["load_during"]["max"])
    return f"{low}" if low == high else f"{low}–{high}"


def _measured(data, stem, profile):
    entry = data.get("profiles", {}).get(profile, {}).get(stem)
    return entry if entry and "error" not in entry else None


def time_line(data, stem, lang="en"):
    """The "Time." bullet of one lesson's header, from the results file (``lang``: ``en`` or ``zh``)."""
    reading = data["reading_minutes"][stem]
    runs = {p: _measured(data, stem, p) for p in PROFILES}
    done = [e for e in runs.values() if e]
    machines = sorted({(e["machine"]["cores"], e["machine"]["cpu"]) for e in done})
    dates = sorted({e["date"][:10] for e in done})
    one_machine = len(machines) == 1
    zh = lang == "zh"
    parts = []
    for name in PROFILES:
        entry = runs[name]
        if entry is None:
            if name == "full":
                parts.append("`full` 配置未实测（面向 GPU）" if zh else "`full` profile not measured (meant for a GPU)")
            else:
                parts.append(f"`{name}` 配置尚未实测" if zh else f"`{name}` profile not measured yet")
            continue
        where = "" if one_machine else (
            f"，{entry['machine']['cpu']} 的 {entry['machine']['cores']} 个核" if zh else
            f", {entry['machine']['cores']} cores of {entry['machine']['cpu']}")
        text = f"`{name}` 配置 {duration(entry['seconds'], 'zh')}" if zh else \
            f"`{name}` profile {duration(entry['seconds'])}".replace(" ", KEEP)     # the figure stays on its line
        if name != "smoke" and entry["longest_cell"]:
            longest = entry["longest_cell"]["seconds"]
            text += f"，最长的单元格 {duration(longest, 'zh')}" if zh else f", its longest cell {duration(longest)}"
        text += f"（平均负载 {load_range(entry)}{where}）" if zh else \
            f" (load average {load_range(entry)}{where})".replace(" ", KEEP).replace(KEEP, " ", 1)
        parts.append(text)
    when = "、".join(dates) if zh else ", ".join(dates)
    if not done:
        intro = "运行全部单元格：" if zh else "Running every cell: "
    elif one_machine:
        n, cpu = machines[0]
        intro = (f"运行全部单元格（{when} 在一台与其他工作共用的机器上实测：{cpu} 的 {n} 个核；"
                 "括号内为运行时的 1 分钟平均负载）：") if zh else (
                 f"Running every cell (measured {when} on {n} cores of an {cpu} shared with other work; "
                 "the 1-minute load average while it ran in brackets): ")
    else:
        intro = (f"运行全部单元格（{when} 在与其他工作共用的机器上实测；括号内为运行时的 1 分钟平均负载和机器）："
                 if zh else f"Running every cell (measured {when} on machines shared with other work; "
                 "the 1-minute load average while it ran and the machine in brackets): ")
    if zh:
        return f"- **时间。** 阅读：约 {reading} 分钟。" + intro + "；".join(parts) + "。"
    text = f"- **Time.** Reading: about {reading} min. " + intro + "; ".join(parts) + "."
    return textwrap.fill(text, width=110, subsequent_indent="  ", break_on_hyphens=False).replace(KEEP, " ")


def _bullet_span(source, bullet):
    """(start, end) of the bullet starting with ``bullet`` in a markdown cell, through its continuation lines."""
    start = source.find(bullet)
    if start < 0 or (start and source[start - 1] != "\n"):
        return None
    end = start
    while True:
        newline = source.find("\n", end)
        if newline < 0:
            return start, len(source)
        following = source[newline + 1:]
        if not following.startswith("  ") or not following.strip():
            return start, newline
        end = newline + 1


def header_time(source, lang):
    """The "Time." bullet of a header cell, or None."""
    span = _bullet_span(source, TIME_BULLET[lang])
    return None if span is None else source[span[0]:span[1]]


def with_time_line(source, lang, line):
    """``source`` with its "Time." bullet replaced by ``line``; None when it has none."""
    span = _bullet_span(source, TIME_BULLET[lang])
    return None if span is None else source[:span[0]] + line + source[span[1]:]


def lesson_notebooks():
    """``(lang, path)`` for every English and Chinese lesson."""
    return [("en", p) for p in sorted(COURSE.glob("[0-9][0-9]_*.ipynb"))] + \
        [("zh", p) for p in sorted(CHINESE.glob("[0-9][0-9]_*.ipynb"))]


def read_notebook(path):
    """A notebook as its JSON (written back by :func:`write_notebook` byte for byte as the repository keeps it)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_notebook(path, nb):
    Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def header_source(nb):
    """The header cell's markdown ("" when the notebook has no such cell)."""
    cells = nb.get("cells", [])
    if len(cells) <= HEADER_CELL or cells[HEADER_CELL].get("cell_type") != "markdown":
        return ""
    source = cells[HEADER_CELL]["source"]
    return "".join(source) if isinstance(source, list) else source


def header_problems(data, lang, path):
    """How a lesson's header disagrees with the results file (empty: it agrees)."""
    stem = path.stem
    if stem not in data.get("reading_minutes", {}):
        return [f"{path.parent.name}/{path.name}: no reading minutes for {stem} in the results file"]
    found = header_time(header_source(read_notebook(path)), lang)
    if found is None:
        return [f"{path.parent.name}/{path.name}: cell {HEADER_CELL} has no {TIME_BULLET[lang]!r} line"]
    wanted = time_line(data, stem, lang)
    if found != wanted:
        return [f"{path.parent.name}/{path.name}: its Time line says\n  {found!r}\nbut the results file gives\n  {wanted!r}"]
    return []


def write_headers(data, say=print):
    """Rewrite the "Time." line of every lesson header from ``data``; the files changed."""
    changed = []
    for lang, path in lesson_notebooks():
        if path.stem not in data.get("reading_minutes", {}):
            raise SystemExit(f"bench_lessons: the results file has no reading minutes for {path.stem}")
        nb = read_notebook(path)
        old = header_source(nb)
        new = with_time_line(old, lang, time_line(data, path.stem, lang))
        if new is None:
            raise SystemExit(f"bench_lessons: {path} cell {HEADER_CELL} has no {TIME_BULLET[lang]!r} line")
        if new != old:
            nb["cells"][HEADER_CELL]["source"] = new.splitlines(keepends=True)
            write_notebook(path, nb)
            changed.append(path)
            say(f"rewrote the Time line of {path.relative_to(ROOT)}")
        for profile in ("smoke", "laptop"):
            entry = _measured(data, path.stem, profile)
            if lang == "en" and entry and entry.get("code") != code_digest(path):
                say(f"note: {path.stem}'s code changed since its {profile} run; measure it again")
    return changed


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
