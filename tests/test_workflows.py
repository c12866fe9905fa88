"""CI itself: the sandbox rule of the test suite.

- A ``sandbox`` test (tests/conftest.py) skips with one reason where bubblewrap cannot make the
  sandbox, and fails instead under ``UNET_COURSE_REQUIRE_SANDBOX=1`` (``.ci/run`` sets it): run
  for real in a child pytest, with a ``bwrap`` that is refused its namespaces as on a locked-down
  runner.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
