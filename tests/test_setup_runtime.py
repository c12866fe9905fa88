"""Every lesson's first cell: install the package when missing, pick the profile, say what it did.

The decision (:func:`unet_course.setup_runtime.plan_runtime`) is tested case by
case; then lesson 1's real first cell runs in a fresh virtual environment that
has no package at all (no system site packages): it installs the package from
a wheel of this checkout (``UNET_COURSE_PIP``), fails to install TensorFlow
because pip may not reach an index here (``PIP_NO_INDEX``) and says so, and
picks the laptop profile; run again, it installs nothing.

The version and the repository the first cell installs are pyproject.toml's
(``version``, ``[project.urls] Repository``), and every other place that names
them agrees: each lesson's first cell in both languages, the package
(``__version__``, ``REPOSITORY``), the site's launch buttons, and the Pages
workflow, which refuses to publish from another repository.
"""
from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import nbformat
import pytest

import unet_course
from unet_course.setup_runtime import REPOSITORY, TENSORFLOW, detect_place, plan_runtime

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "course").glob("[0-9][0-9]_*.ipynb"))
TRANSLATIONS = sorted((ROOT / "course_zh").glob("[0-9][0-9]_*.ipynb"))
#: The one owner of the version and the repository.
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
VERSION, REPOSITORY_URL = PROJECT["version"], PROJECT["urls"]["Repository"]


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


def test_the_package_reads_its_version_and_repository_from_pyproject():
    assert unet_course.__version__ == VERSION
    assert REPOSITORY == REPOSITORY_URL and REPOSITORY_URL.startswith("https://github.com/")


@pytest.mark.parametrize("path", LESSONS + TRANSLATIONS, ids=[f"{p.parent.name}/{p.name}" for p in LESSONS + TRANSLATIONS])
def test_every_first_cell_pins_this_version_and_names_its_lesson(path):
    source = first_code_cell(path)
    assert f'"unet_course @ git+{REPOSITORY_URL}@v{VERSION}"' in source
    assert f"installing unet_course {VERSION} ..." in source
    assert set(re.findall(r"https://github\.com/[^\s@\"']+", source)) == {REPOSITORY_URL}
    major_minor = ".".join(VERSION.split(".")[:2])
    assert f'setup_runtime("{major_minor}", lesson={int(path.name[:2])},' in source
    assert len(source.splitlines()) <= 14, "keep the first cell short: the logic belongs in setup_runtime"


def test_the_sites_launch_buttons_open_the_declared_repository_at_the_versions_tag(monkeypatch):
    monkeypatch.delenv("UNET_COURSE_BRANCH", raising=False)
    conf = runpy.run_path(str(ROOT / "docs" / "conf.py"))
    options = conf["html_theme_options"]
    assert options["repository_url"] == REPOSITORY_URL and options["use_repository_button"]
    assert options["repository_branch"] == f"v{VERSION}" and conf["release"] == VERSION


def pages_check():
    """The Pages workflow's step that compares the repository it runs in with pyproject.toml's."""
    import yaml

    steps = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())["jobs"]["build"]["steps"]
    names = [step.get("name", "") for step in steps]
    check = names.index("The site is published from the repository its lessons install from")
    assert check < names.index("make site")
    return steps[check]


@pytest.mark.parametrize("published_from, passes", [(REPOSITORY_URL, True),
                                                    ("https://github.com/someone/a-fork", False)])
def test_the_pages_workflow_publishes_only_from_the_declared_repository(published_from, passes):
    step = pages_check()
    assert step["env"] == {"PUBLISHED_FROM": "https://github.com/${{ github.repository }}"}
    env = {**os.environ, "PUBLISHED_FROM": published_from,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert (done.returncode == 0) == passes, done.stdout + done.stderr
    assert (f"lessons install from {REPOSITORY_URL}" if passes else "someone/a-fork") in done.stdout
    assert "UNET_COURSE_REPOSITORY" not in (ROOT / ".github" / "workflows" / "pages.yml").read_text()


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
    assert f"installing unet_course {VERSION}" in first
    assert re.search(rf"unet_course {re.escape(VERSION)} \(installed just now\) on this machine, no GPU", first), first
    assert f"could not install {TENSORFLOW['cpu']}" in first, first
    assert "profile 'laptop' (no GPU: sized for a CPU)" in first, first
    again = run()
    assert "installing unet_course" not in again and "installed just now" not in again, again
    assert "profile 'laptop'" in again
