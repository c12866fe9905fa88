"""The lesson headers' "Time." lines, written from one results file (``docs/lesson_times.json``).

``benchmarks/bench_lessons.py`` measures the lessons and keeps its figures in
that file, beside the reading minutes of each lesson (its author's estimate).
This module owns the file's format and turns it into the "Time." bullet of
every lesson's "Before you start" cell, in English (``course/``) and in
Chinese (``course_zh/``), naming the machine and the load each figure was
measured under; ``tests/test_lesson_times.py`` fails when a header and the
file disagree. Run from the repository root::

    python benchmarks/lesson_headers.py                 # rewrite the headers from docs/lesson_times.json
"""
from __future__ import annotations

import hashlib
import json
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
CHINESE = ROOT / "course_zh"
TIMES = ROOT / "docs" / "lesson_times.json"
PROFILES = ("smoke", "laptop", "full")
#: The markdown cell holding "Before you start" (the second cell of every lesson).
HEADER_CELL = 1
TIME_BULLET = {"en": "- **Time.**", "zh": "- **时间。**"}
#: Stands for a space the English line is not wrapped at (a figure, the brackets).
KEEP = "\x00"


# --- the results file -------------------------------------------------------------------


def read_times(path):
    """The results file as a dict (empty when missing); a broken file is one clear error."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise SystemExit(f"lesson_headers: {path} is not JSON ({error}); fix or remove it") from None


def write_times(path, data):
    """Write the results file whole (a temporary file renamed over it: never half-written)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


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
            raise SystemExit(f"lesson_headers: the results file has no reading minutes for {path.stem}")
        nb = read_notebook(path)
        old = header_source(nb)
        new = with_time_line(old, lang, time_line(data, path.stem, lang))
        if new is None:
            raise SystemExit(f"lesson_headers: {path} cell {HEADER_CELL} has no {TIME_BULLET[lang]!r} line")
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


def code_digest(path):
    """A digest of the lesson's code cells: a result is reused only for the code it measured."""
    cells = read_notebook(path)["cells"]
    code = "\n\x00".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                          for c in cells if c["cell_type"] == "code")
    return hashlib.sha256(code.encode()).hexdigest()[:16]


def main(argv=None):
    path = Path(argv[0]) if argv else TIMES
    write_headers(read_times(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
