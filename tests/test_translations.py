"""The Chinese edition (``course_zh/``): the same lessons, the prose translated, the code identical.

For each translated lesson: the same cells in the same order, every code cell
character for character the English one (so both run the same and share the
site's execution cache), every markdown cell translated (it holds Chinese),
the same headings at the same levels and the same formulas. A lesson is
translated whole or not at all.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHINESE = sorted((ROOT / "course_zh").glob("[0-9][0-9]_*.ipynb"))
CJK = re.compile(r"[\u4e00-\u9fff]")


def _read(path):
    return nbformat.read(str(path), as_version=4)


def translation_problems(english, chinese):
    """What differs between a lesson and its translation, besides the prose."""
    if [c.cell_type for c in english.cells] != [c.cell_type for c in chinese.cells]:
        return ["the cells differ in number or kind"]
    problems = []
    for n, (en, zh) in enumerate(zip(english.cells, chinese.cells)):
        if en.cell_type == "code" and en.source != zh.source:
            problems.append(f"code cell {n} differs from the English one")
        if en.cell_type != "markdown":
            continue
        if not CJK.search(zh.source):
            problems.append(f"markdown cell {n} is not translated")
        levels = [len(m) for m in re.findall(r"^(#{1,6}) ", en.source, re.M)]
        if levels != [len(m) for m in re.findall(r"^(#{1,6}) ", zh.source, re.M)]:
            problems.append(f"markdown cell {n} has other headings than the English one")
        if re.findall(r"\$\$?", en.source) != re.findall(r"\$\$?", zh.source):
            problems.append(f"markdown cell {n} has other formulas than the English one")
    return problems


def test_at_least_one_lesson_is_translated():
    assert CHINESE, "course_zh/ holds no lesson"


@pytest.mark.parametrize("path", CHINESE, ids=[p.name for p in CHINESE])
def test_the_translation_keeps_the_code_and_translates_all_prose(path):
    english = ROOT / "course" / path.name
    assert english.is_file(), f"course_zh/{path.name} has no English lesson of that name"
    problems = translation_problems(_read(english), _read(path))
    assert not problems, f"course_zh/{path.name}: " + "; ".join(problems) + \
        " (after an English edit, `python docs/sync_translations.py` copies the code and lists what to translate)"


def test_the_check_catches_changed_code_and_untranslated_prose():
    english = nbformat.v4.new_notebook()
    english.cells = [nbformat.v4.new_markdown_cell("# Lesson\n$x$"), nbformat.v4.new_code_cell("x = 1")]
    chinese = nbformat.v4.new_notebook()
    chinese.cells = [nbformat.v4.new_markdown_cell("## Lesson"), nbformat.v4.new_code_cell("x = 2")]
    assert translation_problems(english, chinese) == [
        "markdown cell 0 is not translated", "markdown cell 0 has other headings than the English one",
        "markdown cell 0 has other formulas than the English one", "code cell 1 differs from the English one"]


def test_sync_copies_new_code_and_lists_new_prose(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("sync_translations", ROOT / "docs" / "sync_translations.py")
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    english = nbformat.v4.new_notebook()
    english.cells = [nbformat.v4.new_markdown_cell("# Lesson"), nbformat.v4.new_code_cell("x = 1")]
    chinese = nbformat.v4.new_notebook()
    chinese.cells = [nbformat.v4.new_markdown_cell("# 课"), nbformat.v4.new_code_cell("x = 1")]
    chinese.cells[0].id, chinese.cells[1].id = english.cells[0].id, english.cells[1].id
    english.cells[1].source = "x = 2"
    english.cells.append(nbformat.v4.new_markdown_cell("New prose."))
    nbformat.write(english, str(tmp_path / "en.ipynb"))
    nbformat.write(chinese, str(tmp_path / "zh.ipynb"))
    left = sync.sync(tmp_path / "en.ipynb", tmp_path / "zh.ipynb")
    synced = _read(tmp_path / "zh.ipynb")
    assert [c.source for c in synced.cells] == ["# 课", "x = 2", "New prose."]
    assert left == [english.cells[2].id]
    assert translation_problems(_read(tmp_path / "en.ipynb"), synced) == ["markdown cell 2 is not translated"]
