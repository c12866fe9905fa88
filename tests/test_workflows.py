"""CI itself: the sandbox rule of the test suite, the executed lessons CI keeps.

- A ``sandbox`` test (tests/conftest.py) skips with one reason where bubblewrap cannot make the
  sandbox, and fails instead under ``UNET_COURSE_REQUIRE_SANDBOX=1`` (``.ci/run`` sets it): run
  for real in a child pytest, with a ``bwrap`` that is refused its namespaces as on a locked-down
  runner.
- ``make test KEEP_EXECUTED=1`` keeps the lessons nbval executed (``.ci/executed_notebooks.py``):
  a small notebook run by nbval with the plugin comes back with its kernel's outputs, the
  failing cell's error included.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]

REFUSED_BWRAP = '#!/bin/sh\necho "bwrap: setting up uid map: Permission denied" >&2\nexit 1\n'
SANDBOXED_TEST = '''
import pytest

@pytest.mark.sandbox
def test_grades_in_the_sandbox():
    raise AssertionError("a sandbox test ran where no sandbox can be made")
'''


def child_pytest(tmp_path, require):
    """pytest in a child process: one ``sandbox`` test, the suite's conftest, a refused ``bwrap``."""
    (tmp_path / "bin").mkdir()
    bwrap = tmp_path / "bin" / "bwrap"
    bwrap.write_text(REFUSED_BWRAP)
    bwrap.chmod(0o755)
    (tmp_path / "test_sandboxed.py").write_text(SANDBOXED_TEST)
    env = {key: value for key, value in os.environ.items() if key != "UNET_COURSE_REQUIRE_SANDBOX"}
    env.update(PATH=f"{bwrap.parent}{os.pathsep}{env['PATH']}", PYTHONPATH=str(ROOT / "tests"),
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    if require:
        env["UNET_COURSE_REQUIRE_SANDBOX"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider",
                           "-rA", "test_sandboxed.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("require", [False, True], ids=["skips", "required-fails"])
def test_a_sandbox_test_skips_saying_why_unless_the_sandbox_is_required(tmp_path, require):
    done = child_pytest(tmp_path, require)
    why = "bubblewrap cannot make the sandbox here (bwrap: setting up uid map: Permission denied)"
    assert why in done.stdout, done.stdout
    assert "a sandbox test ran" not in done.stdout      # never run: stopped before its first line
    if require:
        assert done.returncode == 1 and "1 error" in done.stdout, done.stdout
        assert "UNET_COURSE_REQUIRE_SANDBOX=1 but" in done.stdout
    else:
        assert done.returncode == 0 and "1 skipped" in done.stdout, done.stdout
        assert "SKIPPED [1] " in done.stdout and "no sandbox: " in done.stdout


def test_the_lessons_nbval_executes_are_kept_with_their_outputs(tmp_path):
    cells = [nbformat.v4.new_markdown_cell("# A lesson"),
             nbformat.v4.new_code_cell("print('tiles:', 3 * 4)"),
             nbformat.v4.new_code_cell("from IPython.display import HTML\nHTML('<b>Dice</b>')"),
             nbformat.v4.new_code_cell("6 * 7"),
             nbformat.v4.new_code_cell("1 / 0")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(tmp_path / "01_lesson.ipynb"))
    env = {**os.environ, "PYTHONPATH": str(ROOT / ".ci"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "nbval", "-p", "executed_notebooks",
                           "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
                           "--keep-executed", "executed", "01_lesson.ipynb"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 1 and "1 failed, 3 passed" in done.stdout, done.stdout + done.stderr
    assert "executed notebooks written to executed/ (1)" in done.stdout
    kept = nbformat.read(str(tmp_path / "executed" / "01_lesson.ipynb"), as_version=4)
    nbformat.validate(kept)
    assert kept.cells[0].source == "# A lesson"
    printed, shown, result, error = (cell.outputs for cell in kept.cells[1:])
    assert [(o.output_type, o.name, o.text) for o in printed] == [("stream", "stdout", "tiles: 12\n")]
    assert shown[0].output_type == "execute_result" and shown[0].data["text/html"] == "<b>Dice</b>"
    assert result[0].data["text/plain"] == "42"
    assert error[0].output_type == "error" and error[0].ename == "ZeroDivisionError"
