"""Every lesson header's "Time." line is the one ``docs/lesson_times.json`` gives.

The minutes to read and to run each lesson have one owner: the results file
``benchmarks/bench_lessons.py`` writes when it runs the lessons.
``benchmarks/lesson_headers.py`` (or ``bench_lessons.py --headers``) writes the
line into every English and Chinese header;
a hand edit or a figure left behind by a new measurement fails here. Nothing
is executed: the tests read the file and the notebooks.
"""
from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("lesson_headers", ROOT / "benchmarks" / "lesson_headers.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

TIMES = bench.read_times(bench.TIMES)
LESSONS = bench.lesson_notebooks()
CJK = re.compile(r"[\u4e00-\u9fff]")


def _entry(seconds, longest, low=3.2, high=5.6, cpu="AMD EPYC", cores=2, date="2026-12-04T22:00:00+00:00"):
    return {"date": date, "machine": {"cpu": cpu, "cores": cores, "tensorflow": "2.21.0"},
            "seconds": seconds, "longest_cell": {"index": 20, "seconds": longest, "first_line": "x"},
            "load_during": {"min": low, "median": (low + high) / 2, "max": high}}


SAMPLE = {"reading_minutes": {"03_bce_vs_dice": 7},
          "profiles": {"smoke": {"03_bce_vs_dice": _entry(52.4, 20.0)},
                       "laptop": {"03_bce_vs_dice": _entry(370.2, 151.0, low=4.0, high=4.4)}}}


def test_every_lesson_has_reading_minutes_and_both_languages_a_header():
    stems = {path.stem for _, path in LESSONS}
    assert len(stems) == 10 and {lang for lang, _ in LESSONS} == {"en", "zh"}
    missing = sorted(stems - set(TIMES.get("reading_minutes", {})))
    assert not missing, f"docs/lesson_times.json gives no reading minutes for {missing}"
    assert all(isinstance(m, int) and 1 <= m <= 60 for m in TIMES["reading_minutes"].values())


@pytest.mark.parametrize("lang,path", LESSONS, ids=[f"{p.parent.name}/{p.stem}" for _, p in LESSONS])
def test_the_header_says_what_the_results_file_says(lang, path):
    problems = bench.header_problems(TIMES, lang, path)
    assert not problems, "\n".join(problems) + \
        "\n(`python benchmarks/bench_lessons.py --headers docs/lesson_times.json` rewrites the headers)"


def test_a_hand_edited_or_stale_figure_is_caught(tmp_path):
    lang, path = LESSONS[0]
    nb = nbformat.read(str(path), as_version=4)
    line = bench.header_time(nb.cells[bench.HEADER_CELL].source, lang)
    edited = line.replace("Reading: about", "Reading: about 1", 1)
    nb.cells[bench.HEADER_CELL].source = bench.with_time_line(nb.cells[bench.HEADER_CELL].source, lang, edited)
    copy_path = tmp_path / path.name
    nbformat.write(nb, str(copy_path))
    assert bench.header_problems(TIMES, lang, copy_path)
    stale = copy.deepcopy(TIMES)
    stale["reading_minutes"][path.stem] += 1
    assert bench.header_problems(stale, lang, path)


def test_the_line_names_the_machine_the_load_and_each_profile():
    english = bench.time_line(SAMPLE, "03_bce_vs_dice", "en")
    assert english.startswith("- **Time.** Reading: about 7 min.")
    flat = " ".join(english.split())
    assert "on 2 cores of an AMD EPYC shared with other work" in flat and "2026-12-04" in flat
    assert "`smoke` profile 52 s (load average 3–6)" in flat
    assert "`laptop` profile 6 min 10 s, its longest cell 2 min 31 s (load average 4)" in flat
    assert "`full` profile not measured (meant for a GPU)" in flat
    assert all(len(row) <= 110 for row in english.splitlines())
    assert all(row.startswith("  ") for row in english.splitlines()[1:])
    chinese = bench.time_line(SAMPLE, "03_bce_vs_dice", "zh")
    assert chinese.startswith("- **时间。** 阅读：约 7 分钟。") and "\n" not in chinese
    assert "`smoke` 配置 52 秒（平均负载 3–6）" in chinese
    assert "`laptop` 配置 6 分 10 秒，最长的单元格 2 分 31 秒（平均负载 4）" in chinese
    assert "`full` 配置未实测（面向 GPU）" in chinese and "AMD EPYC 的 2 个核" in chinese


def test_an_unmeasured_or_failed_profile_is_said_to_be_unmeasured_and_machines_that_differ_are_named():
    data = copy.deepcopy(SAMPLE)
    data["profiles"]["laptop"]["03_bce_vs_dice"]["error"] = "CellExecutionError: ..."
    line = " ".join(bench.time_line(data, "03_bce_vs_dice", "en").split())
    assert "`laptop` profile not measured yet" in line and "6 min" not in line
    assert "`laptop` 配置尚未实测" in bench.time_line(data, "03_bce_vs_dice", "zh")
    data = copy.deepcopy(SAMPLE)
    data["profiles"]["laptop"]["03_bce_vs_dice"]["machine"] = {"cpu": "Intel Core i5", "cores": 4}
    line = " ".join(bench.time_line(data, "03_bce_vs_dice", "en").split())
    assert "(load average 4, 4 cores of Intel Core i5)" in line and "(load average 3–6, 2 cores of AMD EPYC)" in line


def test_durations_and_the_bullet_replacement():
    assert [bench.duration(s) for s in (0.4, 52.4, 60, 370.2)] == ["0 s", "52 s", "1 min", "6 min 10 s"]
    assert [bench.duration(s, "zh") for s in (52.4, 120, 370.2)] == ["52 秒", "2 分钟", "6 分 10 秒"]
    source = "## Before you start\n\n- **Time.** Reading: old\n  still old\n- **Next.** kept\n\nafter"
    assert bench.with_time_line(source, "en", "- **Time.** new") == \
        "## Before you start\n\n- **Time.** new\n- **Next.** kept\n\nafter"
    assert bench.with_time_line("- **Time.** a\n  b", "en", "- **Time.** c") == "- **Time.** c"
    assert bench.with_time_line("no time here", "en", "x") is None
    assert CJK.search(bench.TIME_BULLET["zh"])


@pytest.mark.slow
def test_the_benchmark_times_each_cell_under_the_profile_resumes_and_records_a_failure(tmp_path):
    """Two kernels (a few seconds): a good notebook measured, kept on a second run, and a failing one."""
    spec = importlib.util.spec_from_file_location("bench_lessons", ROOT / "benchmarks" / "bench_lessons.py")
    lessons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lessons)
    good, bad = tmp_path / "01_good.ipynb", tmp_path / "02_bad.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# x"), nbformat.v4.new_code_cell("import time\ntime.sleep(0.6)"),
                nbformat.v4.new_code_cell("import os\nassert os.environ['UNET_COURSE_PROFILE'] == 'smoke'")]
    nbformat.write(nb, str(good))
    nb.cells[2].source = "raise ValueError('boom')"
    nbformat.write(nb, str(bad))
    keep, said = tmp_path / "times.json", []
    entry = lessons.measure([good], "smoke", keep=keep, say=said.append)["lessons"]["01_good"]
    assert "error" not in entry and set(entry["cells"]) == {"1", "2"}
    assert entry["longest_cell"]["index"] == 1 and entry["longest_cell"]["first_line"] == "import time"
    assert 0.6 <= entry["longest_cell"]["seconds"] <= entry["seconds"] <= entry["wall_seconds"]
    assert entry["machine"]["cores"] >= 1 and len(entry["load_before"]) == 3 and entry["load_during"]["samples"] >= 1
    assert bench.read_times(keep)["profiles"]["smoke"]["01_good"] == entry
    lessons.measure([good], "smoke", keep=keep, say=said.append)
    assert said[-1].startswith("01_good: kept from")
    failed = lessons.run_lesson(bad, "smoke", timeout=60)
    assert "boom" in failed["error"] and failed["longest_cell"]["index"] == 1
