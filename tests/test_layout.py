"""The package's architecture holds: core, then lessons/, then grading/ (read from the imports).

The core never imports ``unet_course.lessons`` or ``unet_course.grading``;
``grading`` never imports ``lessons``. Every module is named, with its lesson,
in its package's docstring. Modules that do not need TensorFlow do not import it.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import unet_course
import unet_course.lessons

PACKAGE = Path(unet_course.__file__).parent


def layer(module: str) -> str:
    """``"lessons"``, ``"grading"`` or ``"core"`` for a dotted module name under unet_course."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ("lessons", "grading") else "core"


def imported_modules(source: str, module: str) -> set[str]:
    """Every unet_course module that ``source`` (the code of ``module``) imports.

    Reads ``import``, ``from ... import`` (relative ones resolved against
    ``module``; ``from unet_course import grading`` counts as importing
    ``unet_course.grading``) and ``importlib.import_module("...")`` with a
    constant name.
    """
    found = set()
    package = module.split(".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(str(node.args[0].value))
    return {name for name in found if name.split(".")[0] == "unet_course"}


def forbidden_imports(source: str, module: str) -> list[str]:
    """The imports of ``module`` that break the direction core -> lessons, core -> grading, grading -> lessons.

    A lesson may use the grading machinery (its practice exercises check with it).
    """
    allowed = {"core": {"core"}, "lessons": {"core", "lessons", "grading"}, "grading": {"core", "grading"}}
    mine = layer(module)
    return sorted(name for name in imported_modules(source, module)
                  if name.count(".") and layer(name) not in allowed[mine])


def package_modules():
    """``(dotted name, path)`` of every module file of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


@pytest.mark.parametrize("module, path", list(package_modules()), ids=lambda v: str(v))
def test_imports_run_one_way(module, path):
    assert forbidden_imports(path.read_text(), module) == [], (
        f"{module} ({layer(module)}) imports across the layers: the core never imports "
        "lessons/ or grading/, and grading/ never imports lessons/")


def test_the_import_check_catches_each_wrong_direction():
    assert forbidden_imports("from unet_course.lessons import buildings", "unet_course.metrics") == [
        "unet_course.lessons", "unet_course.lessons.buildings"]
    assert forbidden_imports("from unet_course import grading", "unet_course.train") == ["unet_course.grading"]
    assert forbidden_imports("import unet_course.lessons.explorers as e", "unet_course.grading.common")
    assert forbidden_imports("from ..lessons import runs", "unet_course.data.sources") == [
        "unet_course.lessons", "unet_course.lessons.runs"]
    assert forbidden_imports("importlib.import_module('unet_course.lessons.blocks')", "unet_course.cli")
    assert forbidden_imports("from unet_course.metrics import dice_score", "unet_course.lessons.buildings") == []
    assert forbidden_imports("from unet_course.grading import messages", "unet_course.lessons.practice") == []
    assert forbidden_imports("from unet_course.grading import messages", "unet_course.grading.common") == []


def test_every_module_is_mapped_to_its_lesson_in_a_docstring():
    docs = {"core": unet_course.__doc__, "lessons": unet_course.lessons.__doc__}
    for module, _ in package_modules():
        top = module.split(".")[1] if "." in module else None
        if (top in ("grading", None) or module in ("unet_course.lessons", "unet_course.__main__")
                or module.startswith("unet_course.data.")):
            continue  # grading/ and data/ document their own modules
        where = layer(module)
        name = module if where == "core" else "~" + module
        assert f":mod:`{name}`" in docs[where], f"{module} is not listed in the {where} docstring"
        line = next(line for line in docs[where].splitlines() if line.startswith(f"- :mod:`{name}`"))
        assert "lesson" in line, f"{module}'s line in the docstring names no lesson"


LIGHT = ["unet_course", "unet_course.data", "unet_course.grading", "unet_course.cli",
         "unet_course.rundir", "unet_course.validate", "unet_course.profiles"]


@pytest.mark.parametrize("module", LIGHT)
def test_modules_that_do_not_need_tensorflow_do_not_import_it(module):
    code = (f"import sys, {module}; from unet_course.data import synthetic_tile; "
            f"from unet_course import grading; grading.ITEMS; "
            f"print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"], f"importing {module} imported TensorFlow"
