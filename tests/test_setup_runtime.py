"""Every lesson's first cell: install the package when missing, pick the profile, say what it did.

The decision (:func:`unet_course.setup_runtime.plan_runtime`) is tested case by
case; then lesson 1's real first cell runs in a fresh virtual environment that
has no package at all (no system site packages): it installs the package from
a wheel of this checkout (``UNET_COURSE_PIP``), fails to install TensorFlow
because pip may not reach an index here (``PIP_NO_INDEX``) and says so, and
picks the laptop profile; run again, it installs nothing.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest

import unet_course
from unet_course.setup_runtime import REPOSITORY, TENSORFLOW, detect_place, plan_runtime

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "course").glob("[0-9][0-9]_*.ipynb"))


def first_code_cell(path):
    nb = nbformat.read(str(path), as_version=4)
    return next(cell.source for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("env, place", [
    ({"COLAB_RELEASE_TAG": "release-colab_20261201"}, "Colab"),
    ({"BINDER_LAUNCH_HOST": "https://mybinder.org/"}, "Binder"),
    ({"JUPYTERHUB_API_URL": "http://hub:8081/hub/api"}, "JupyterHub"),
    ({"HOME": "/home/student"}, "this machine"),
])
def test_the_place_is_read_from_the_environment(env, place):
    assert detect_place(env) == place


def test_a_gpu_gets_the_full_profile_and_the_cuda_build():
    plan = plan_runtime({"COLAB_RELEASE_TAG": "x"}, ["Tesla T4"], have_tensorflow=False, lesson=7)
    assert (plan.place, plan.profile, plan.install) == ("Colab", "full", (TENSORFLOW["gpu"],))


def test_a_cpu_gets_the_laptop_profile_and_the_cpu_build():
    plan = plan_runtime({}, [], have_tensorflow=False, lesson=3)
    assert (plan.profile, plan.install, plan.missing) == ("laptop", (TENSORFLOW["cpu"],), ())


def test_what_the_user_or_nbgrader_says_wins_over_the_machine():
    assert plan_runtime({"UNET_COURSE_PROFILE": "Smoke"}, ["A100"], True).profile == "smoke"
    assert plan_runtime({"NBGRADER_EXECUTION": "autograde"}, ["A100"], True).profile == "smoke"


def test_a_lesson_outside_the_full_list_stays_on_laptop_even_on_a_gpu():
    plan = plan_runtime({}, ["A100"], True, lesson=99)
    assert plan.profile == "laptop" and "lesson 99" in plan.reason


def test_installs_can_be_forbidden_and_are_then_reported_missing():
    plan = plan_runtime({"UNET_COURSE_INSTALL": "no"}, [], have_tensorflow=False)
    assert plan.install == () and plan.missing == (TENSORFLOW["cpu"],)
    assert plan_runtime({}, [], have_tensorflow=True).install == ()


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_every_first_cell_pins_this_version_and_names_its_lesson(path):
    source = first_code_cell(path)
    assert f"unet_course @ git+{REPOSITORY}@v{unet_course.__version__}" in source
    major_minor = ".".join(unet_course.__version__.split(".")[:2])
    assert f'setup_runtime("{major_minor}", lesson={int(path.name[:2])},' in source
    assert len(source.splitlines()) <= 14, "keep the first cell short: the logic belongs in setup_runtime"


@pytest.mark.slow
def test_the_first_cell_installs_the_package_in_a_fresh_environment(tmp_path):
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "-w", str(wheels), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next(wheels.glob("unet_course-*.whl"))
    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("UNET_COURSE_", "NBGRADER", "PYTHON", "VIRTUAL_ENV", "PIP_"))}
    env.update(UNET_COURSE_PIP=str(wheel), PIP_NO_INDEX="1", PIP_NO_DEPS="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PATH="/usr/bin:/bin")
    cell = first_code_cell(LESSONS[0])

    def run():
        done = subprocess.run([str(python), "-c", cell], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    first = run()
    assert "installing unet_course 0.1.0" in first
    assert re.search(r"unet_course 0\.1\.0 \(installed just now\) on this machine, no GPU", first), first
    assert f"could not install {TENSORFLOW['cpu']}" in first, first
    assert "profile 'laptop' (no GPU: sized for a CPU)" in first, first
    again = run()
    assert "installing unet_course" not in again and "installed just now" not in again, again
    assert "profile 'laptop'" in again
