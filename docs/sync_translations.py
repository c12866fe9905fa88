"""Bring the Chinese lessons (``course_zh/``) in step with the English ones after an English edit.

Cells are matched by their cell id (a translation keeps the English cell's id):
every code cell is copied from the English lesson, in the English order; every
markdown cell keeps its translation, and a markdown cell new in English is
copied in English and listed, to be translated (``tests/test_translations.py``
fails until it is). Run from the repository root::

    python docs/sync_translations.py
"""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sync(english_path, chinese_path):
    """Rewrite ``chinese_path`` from ``english_path``; return the ids of markdown cells left in English."""
    english = json.loads(english_path.read_text(encoding="utf-8"))
    chinese = json.loads(chinese_path.read_text(encoding="utf-8"))
    translated = {cell.get("id"): cell for cell in chinese["cells"] if cell["cell_type"] == "markdown"}
    cells, untranslated = [], []
    for cell in english["cells"]:
        if cell["cell_type"] == "markdown" and cell.get("id") in translated:
            cells.append(translated[cell["id"]])
        else:
            cells.append(copy.deepcopy(cell))
            if cell["cell_type"] == "markdown":
                untranslated.append(cell.get("id"))
    chinese["cells"] = cells
    chinese_path.write_text(json.dumps(chinese, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return untranslated


def main():
    left = 0
    for chinese_path in sorted((ROOT / "course_zh").glob("[0-9][0-9]_*.ipynb")):
        untranslated = sync(ROOT / "course" / chinese_path.name, chinese_path)
        left += len(untranslated)
        for cell_id in untranslated:
            print(f"course_zh/{chinese_path.name}: markdown cell {cell_id} is new in English: translate it")
    print(f"code cells copied; {left} markdown cell(s) to translate")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
