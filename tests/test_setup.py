"""The two-command set-up: the README, the Makefile, CI and the conda file agree.

Each check runs what it names: ``make -n`` resolves the targets, ``.ci/run``
is run with a ``make`` that records what it was asked, and the console
script prints its usage.
"""
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

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


def test_the_readme_is_the_front_door_and_says_nothing_a_guide_says():
    """The README links every guide of docs/ (the data card where it lives); none repeats a sentence of it."""
    readme = (ROOT / "README.md").read_text()
    pages = sorted((ROOT / "docs").glob("*.md"))
    linked = {"index.md": ""}                                        # the site's front page
    assert len(readme.splitlines()) <= 150
    missing = [p.name for p in pages if linked.get(p.name, f"](docs/{p.name})") not in readme]
    assert not missing, f"the README does not link {missing}"
    assert "](data/README.md)" in readme                             # the data card, a page of its own
    assert "{include}" not in "".join(page.read_text() for page in pages)

    def sentences(text):
        return {s for paragraph in re.split(r"\n\s*\n", text)
                for s in re.split(r"(?<=[.:;])\s+", " ".join(paragraph.split())) if len(s) > 60}

    ours = sentences(readme)
    for page in [*pages, ROOT / "data" / "README.md"]:
        twice = ours & sentences(page.read_text())
        assert not twice, f"{page.relative_to(ROOT)} repeats the README: {sorted(twice)[:2]}"


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
    said = "make $* (UNET_COURSE_REQUIRE_SANDBOX=$UNET_COURSE_REQUIRE_SANDBOX)"
    fake.write_text(f'#!/bin/sh\necho "{said}" >> "{record}"\n')
    fake.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key != "UNET_COURSE_REQUIRE_SANDBOX"}
    env["PATH"] = f"{fake.parent}{os.pathsep}{os.environ['PATH']}"
    done = subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # The project's CI requires the sandbox: its sandboxed tests cannot skip there.
    assert record.read_text().splitlines() == [f"{quick_start_commands()[1]} (UNET_COURSE_REQUIRE_SANDBOX=1)"]


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



def _fake_system(tmp_path, uid, sudo_ok):
    """A PATH of stand-ins for ``id``, ``sudo``, ``env`` and ``apt-get`` that record what they are asked."""
    record, bin_dir = tmp_path / "calls", tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {
        "id": f'echo {uid}',
        "sudo": (f'echo "sudo $*" >> "{record}"\n[ "$1" = -n ] || exit 9\nshift\n'
                 f'[ "$1" = true ] && exit {0 if sudo_ok else 1}\nexec "$@"'),
        "env": ('while [ $# -gt 0 ]; do case "$1" in *=*) export "$1"; shift;; *) break;; esac; done\n'
                'exec "$@"'),
        "apt-get": f'echo "apt-get $* (DEBIAN_FRONTEND=$DEBIAN_FRONTEND)" >> "{record}"',
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return record, bin_dir


@pytest.mark.parametrize("uid, sudo_ok, expected", [
    (1001, True, ["sudo -n true", "sudo -n apt-get update -qq", "apt-get update -qq (DEBIAN_FRONTEND=)",
                  "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap",
                  "apt-get install -y -qq bubblewrap (DEBIAN_FRONTEND=noninteractive)"]),
    (0, False, ["apt-get update -qq (DEBIAN_FRONTEND=)",
                "apt-get install -y -qq bubblewrap (DEBIAN_FRONTEND=noninteractive)"]),
    (1001, False, ["sudo -n true"]),
], ids=["user-with-sudo", "root", "user-without-sudo"])
def test_system_packages_install_as_root_or_through_sudo_n(tmp_path, uid, sudo_ok, expected):
    """``make grading-deps``, bwrap missing: apt-get as root, ``sudo -n`` for a user who may, else a hint."""
    record, bin_dir = _fake_system(tmp_path, uid, sudo_ok)
    done = subprocess.run([shutil.which("make"), "-s", "grading-deps"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={"PATH": str(bin_dir), "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert record.read_text().splitlines() == expected
    hint = "bwrap is missing: install Debian's 'bubblewrap' package (as root, or with sudo)"
    assert (hint in done.stdout) == (not sudo_ok and uid != 0), done.stdout
