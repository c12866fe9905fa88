"""The two-command set-up: the README, the Makefile, CI and the conda file agree."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirement_names(reqs):
    return {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0].strip().lower() for r in reqs}


def test_quick_start_has_exactly_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```(?:bash|sh)?\n(.*?)```", section, flags=re.S)
    lines = [ln.strip() for block in commands for ln in block.splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    assert lines == ["make demo", "make test"]


def test_makefile_targets():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test", "assignments", "course-full", "bench"):
        assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), target


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_console_script():
    assert pyproject()["project"]["scripts"]["unet-course"] == "unet_course.cli:main"


def test_environment_yml_lists_the_same_dependencies():
    project = pyproject()["project"]
    wanted = requirement_names(project["dependencies"])
    wanted |= requirement_names(project["optional-dependencies"]["dev"])
    wanted |= requirement_names(project["optional-dependencies"]["cpu"])
    env = (ROOT / "environment.yml").read_text()
    listed = set(re.findall(r"^\s*-\s+([A-Za-z][A-Za-z0-9_.-]*)", env, flags=re.M))
    missing = wanted - {name.lower() for name in listed}
    assert not missing, f"environment.yml lacks {sorted(missing)}"


def test_workflows_exist():
    cpu = (ROOT / ".github" / "workflows" / "cpu.yml").read_text()
    gpu = (ROOT / ".github" / "workflows" / "gpu.yml").read_text()
    assert ".ci/run" in cpu
    assert "self-hosted" in gpu and "UNET_COURSE_PROFILE: full" in gpu
