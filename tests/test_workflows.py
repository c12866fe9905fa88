"""CI itself: the workflow files, the scripts they run, the sandbox rule, the executed lessons.

- ``.github/workflows/``: actionlint (with shellcheck over every ``run:`` script) and zizmor
  (offline: no GitHub here) report nothing, and a workflow with mistakes they must catch is caught;
  every action is pinned to a commit with its version beside it;
- the scripts under ``.ci/`` pass shellcheck; ``.ci/gpu --dry-run`` prints the GPU job (the CUDA
  extra, the full-profile lessons, the demo, both benchmarks) with commands and flags that exist;
  ``.ci/browser`` finds a browser Playwright can drive, or says why not;
- the CPU workflow runs ``make test`` as a user and ``.ci/run`` as root with the sandbox, and both
  workflows keep the executed lessons as artifacts;
- a ``sandbox`` test (tests/conftest.py) skips with one reason where bubblewrap cannot make the
  sandbox, and fails instead under ``UNET_COURSE_REQUIRE_SANDBOX=1`` (``.ci/run`` sets it): run
  for real in a child pytest, with a ``bwrap`` that is refused its namespaces as on a locked-down
  runner.
- ``make test KEEP_EXECUTED=1`` keeps the lessons nbval executed (``.ci/executed_notebooks.py``):
  a small notebook run by nbval with the plugin comes back with its kernel's outputs, the
  failing cell's error included.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
SHELLCHECK = BIN / "shellcheck"


def tool(*argv, cwd=ROOT):
    """Run one of the dev extra's checkers (from this environment); the finished process."""
    if not (BIN / argv[0]).exists():
        pytest.fail(f"{argv[0]} is missing from {BIN}: install the dev extra (`pip install -e '.[dev]'`)")
    return subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def workflow(name):
    """A workflow file as data (PyYAML reads the key ``on`` as True)."""
    return yaml.safe_load((WORKFLOWS / name).read_text())


def actionlint(*files, cwd=ROOT):
    return tool("actionlint", "-oneline", "-no-color", "-shellcheck", str(SHELLCHECK), "-pyflakes=",
                *map(str, files), cwd=cwd)


def zizmor(path):
    return tool("zizmor", "--offline", "--no-progress", "--format=plain", str(path))


def test_actionlint_and_shellcheck_find_nothing_in_the_workflows():
    done = actionlint()
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_zizmor_finds_nothing_in_the_workflows():
    done = zizmor(WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout, done.stdout


BAD_WORKFLOW = """name: bad
on: [push]
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.head_commit.message }}" && ls $HOME/*.txt
      - run: echo ${{ matrix.missing }}
"""


def test_the_checkers_catch_a_bad_workflow(tmp_path):
    """The same calls on a workflow with an injection, an unpinned action and a bad expression."""
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "bad.yml").write_text(BAD_WORKFLOW)
    lint = actionlint(folder / "bad.yml", cwd=tmp_path)
    assert lint.returncode == 1
    for rule in ("property \"missing\" is not defined", "is potentially untrusted",
                 "shellcheck reported issue in this script: SC2086"):
        assert rule in lint.stdout, lint.stdout
    audit = zizmor(folder)
    assert audit.returncode != 0
    for audit_name in ("unpinned-uses", "template-injection", "excessive-permissions", "artipacked"):
        assert audit_name in audit.stdout, audit.stdout


def test_actions_are_pinned_to_commits_with_their_version():
    text = "".join(path.read_text() for path in WORKFLOWS.glob("*.yml"))
    uses = re.findall(r"^\s*-?\s*uses:\s*(.+)$", text, re.M)
    assert uses
    for line in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", line), line


def test_the_ci_scripts_pass_shellcheck():
    scripts = [ROOT / ".ci" / name for name in ("run", "gpu", "browser")]
    done = tool("shellcheck", *map(str, scripts))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_cpu_workflow_tests_as_a_user_and_as_root_with_the_sandbox():
    jobs = workflow("cpu.yml")["jobs"]
    ubuntu = [step.get("run", "") for step in jobs["ubuntu"]["steps"]]
    assert "make test" in ubuntu and ".ci/browser" in ubuntu
    assert any("sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in run for run in ubuntu)
    assert "container" not in jobs["ubuntu"]          # the runner's own user, with sudo
    debian = jobs["debian"]
    assert debian["container"]["image"].endswith("-bookworm")
    assert "--privileged" in debian["container"]["options"]
    assert "bash .ci/run" in [step.get("run") for step in debian["steps"]]
    assert debian["env"]["KEEP_EXECUTED"] == "1"
    upload = debian["steps"][-1]
    assert upload["uses"].startswith("actions/upload-artifact@") and "executed/" in upload["with"]["path"]
    assert upload["if"] == "always()"


def test_the_ci_page_reproduces_the_debian_job_in_the_same_container():
    page = (ROOT / "docs" / "ci.md").read_text()
    command = re.search(r"```bash\n(docker run .*?)```", page, re.S).group(1)
    container = workflow("cpu.yml")["jobs"]["debian"]["container"]
    assert f" {container['image']} " in command and "bash .ci/run" in command
    for option in container["options"].split():
        assert option in command


def test_the_gpu_workflow_runs_the_gpu_script_and_keeps_what_it_made():
    full = workflow("gpu.yml")["jobs"]["full"]
    assert full["runs-on"] == ["self-hosted", "gpu"]
    assert [step["run"] for step in full["steps"] if "run" in step] == [".ci/gpu"]
    upload = full["steps"][-1]
    for path in ("executed/", "runs/demo-full/", "runs/gpu/"):
        assert path in upload["with"]["path"]


def gpu_dry_run(*args):
    done = subprocess.run(["bash", str(ROOT / ".ci" / "gpu"), "--dry-run", *args], capture_output=True,
                          text=True, timeout=60)
    return done, [shlex.split(line[2:]) for line in done.stdout.splitlines() if line.startswith("+ ")]


def test_the_gpu_script_dry_run_prints_the_gpu_job():
    done, commands = gpu_dry_run()
    assert done.returncode == 0, done.stderr
    assert commands[0] == ["nvidia-smi"]
    assert commands[1] == ["make", ".venv/.installed", "EXTRAS=gpu,dev"]
    assert "TensorFlow sees no GPU" in commands[2][-1]
    lessons = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "course").glob("[0-9]*.ipynb"))
    assert commands[3] == ["make", "course-full", "EXTRAS=gpu,dev", "LESSONS=" + " ".join(lessons)]
    assert commands[4] == [".venv/bin/unet-course", "demo", "--profile", "full", "--out", "runs/demo-full"]
    benchmarks = {Path(c[1]).name: c[2:] for c in commands[5:] if c[0] == ".venv/bin/python"}
    assert set(benchmarks) == {"bench_training.py", "bench_inference.py"}
    for script, flags in benchmarks.items():       # each flag is one the benchmark accepts
        source = (ROOT / "benchmarks" / script).read_text()
        for flag in (f for f in flags if f.startswith("--")):
            assert f'"{flag}"' in source, (script, flag)
    # The make target it calls runs those lessons at the full scale.
    full = subprocess.run(["make", "-n", *commands[3][1:], "VENV=" + str(BIN.parent)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert full.returncode == 0 and "UNET_COURSE_PROFILE=full" in full.stdout, full.stderr
    assert f"for nb in {' '.join(lessons)}; do" in full.stdout


def test_the_gpu_script_runs_the_lessons_asked_for_or_says_what_is_wrong():
    done, commands = gpu_dry_run("--lessons", "03 07")
    assert done.returncode == 0, done.stderr
    assert commands[3][-1] == "LESSONS=course/03_bce_vs_dice.ipynb course/07_training.ipynb"
    done, commands = gpu_dry_run("--lessons", "42")
    assert done.returncode == 2 and done.stderr == "error: no lesson course/42_*.ipynb\n" and not commands


def run_browser_script(tmp_path, places, with_chromium=False):
    """``.ci/browser`` with a PATH of the few tools it needs (and a ``chromium``, if asked)."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("readlink", "head", "grep", "mkdir", "ln"):
        (tools / name).symlink_to(shutil.which(name))
    if with_chromium:
        (tools / "chromium").symlink_to(shutil.which("true"))
    env = {"PATH": str(tools), "RUNNER_TEMP": str(tmp_path / "runner"), "GITHUB_PATH": str(tmp_path / "path"),
           "BROWSERS": " ".join(map(str, places))}
    return subprocess.run(["/bin/bash", str(ROOT / ".ci" / "browser")], env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_browser_script_links_a_real_browser_and_refuses_a_snap(tmp_path):
    snap_launcher = tmp_path / "chromium-browser"
    snap_launcher.write_text("#!/bin/sh\nexec /snap/bin/chromium \"$@\"\n")
    snap_launcher.chmod(0o755)
    chrome = tmp_path / "google-chrome"
    chrome.write_bytes(b"\x7fELF stands in for a browser binary")
    chrome.chmod(0o755)
    runs = {name: tmp_path / name for name in ("image", "snap-only", "on-path")}
    for folder in runs.values():
        folder.mkdir()
    found = run_browser_script(runs["image"], [snap_launcher, chrome])
    assert found.returncode == 0, found.stderr
    link = runs["image"] / "runner" / "browser-bin" / "chromium"
    assert link.resolve() == chrome and (runs["image"] / "path").read_text() == f"{link.parent}\n"
    refused = run_browser_script(runs["snap-only"], [snap_launcher, tmp_path / "missing"])
    assert refused.returncode == 1 and "Ubuntu's chromium package is a snap" in refused.stderr
    present = run_browser_script(runs["on-path"], [chrome], with_chromium=True)
    assert present.returncode == 0 and present.stdout.startswith("chromium: "), present.stderr
    assert not (runs["on-path"] / "path").exists()


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
