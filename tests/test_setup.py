"""The two-command set-up: the README, the Makefile, CI and the conda file agree.

Each check runs what it names: ``make -n`` resolves the targets, ``.ci/run``
is run with a ``make`` that records what it was asked, and the console
script prints its usage.
"""
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirement_names(reqs):
    return {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0].strip().lower() for r in reqs}


def quick_start_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```(?:bash|sh)?\n(.*?)```", section, flags=re.S)
    return [ln.strip() for block in commands for ln in block.splitlines()
            if ln.strip() and not ln.strip().startswith("#")]


def test_quick_start_has_exactly_the_two_commands():
    assert quick_start_commands() == ["make demo", "make test"]


def make_dry_run(target):
    """What ``make -n TARGET`` would run (nothing is run), with the virtual environment in place."""
    done = subprocess.run(["make", "-n", target, "VENV=" + str(Path(sys.executable).parents[1])],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"make -n {target} does not resolve: {done.stderr}"
    return done.stdout


def test_make_demo_and_make_test_resolve_to_what_the_readme_says():
    assert "unet-course demo --out runs/demo" in make_dry_run("demo")
    test = make_dry_run("test")
    assert "-m pytest tests" in test and "--nbval-lax course" in test


def test_the_other_make_targets_resolve():
    assert "unet_course.grading.release" in make_dry_run("assignments")
    assert "UNET_COURSE_PROFILE=full" in make_dry_run("course-full")
    assert "benchmarks/" in make_dry_run("bench")
    site = make_dry_run("site")
    assert "sphinx-build" in site and "tests/test_site.py" in site


def test_ci_runs_the_readmes_test_command(tmp_path):
    """``.ci/run`` is run for real with a ``make`` that only records its arguments."""
    record = tmp_path / "make-calls"
    fake = tmp_path / "bin" / "make"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "make $*" >> "{record}"\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert record.read_text().splitlines() == [quick_start_commands()[1]]


def test_console_script_prints_its_usage():
    assert pyproject()["project"]["scripts"]["unet-course"] == "unet_course.cli:main"
    script = Path(sys.executable).parent / "unet-course"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: unet-course")
    for command in ("demo", "train", "evaluate", "download"):
        assert command in done.stdout


def test_environment_yml_lists_the_same_dependencies():
    project = pyproject()["project"]
    wanted = requirement_names(project["dependencies"])
    wanted |= requirement_names(project["optional-dependencies"]["dev"])
    wanted |= requirement_names(project["optional-dependencies"]["cpu"])
    wanted |= requirement_names(project["optional-dependencies"]["docs"])
    env = (ROOT / "environment.yml").read_text()
    listed = set(re.findall(r"^\s*-\s+([A-Za-z][A-Za-z0-9_.-]*)", env, flags=re.M))
    missing = wanted - {name.lower() for name in listed}
    assert not missing, f"environment.yml lacks {sorted(missing)}"


def test_workflows_exist():
    cpu = (ROOT / ".github" / "workflows" / "cpu.yml").read_text()
    gpu = (ROOT / ".github" / "workflows" / "gpu.yml").read_text()
    assert ".ci/run" in cpu
    assert "self-hosted" in gpu and "UNET_COURSE_PROFILE: full" in gpu
