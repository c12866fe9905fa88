"""The sandbox as root is not root: one sandboxed kernel, looked at from inside and from outside.

Run as root (as CI runs), the grader hands its kernel to the host's
``nobody``; run as an ordinary user, the kernel is that user. Either way,
inside the kernel ``/etc/shadow`` cannot be read and no ``/proc/*/environ``
it can see (bubblewrap's monitor, PID 1, among them) holds the grader's
variables; from outside, the kernel's host uid is not 0, bubblewrap and its
monitor started with an empty environment, and no process of the sandbox
holds the grader's variables. The grader still reads what the kernel wrote
and deletes its folders. Root without ``CAP_SYS_ADMIN`` (a container) is
played by dropping that capability.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading

from pathlib import Path

import nbformat
import psutil
import pytest

from unet_course.grading.autograde.execute import execute
from unet_course.grading.autograde.limits import Limits
from unet_course.grading.autograde.sandbox import sandbox_problem

pytestmark = pytest.mark.sandbox

LOOK = r'''
import glob, json
try:
    open("/etc/shadow").read()
    shadow = "readable"
except OSError as error:
    shadow = type(error).__name__
environ = {}
for path in glob.glob("/proc/[0-9]*/environ"):
    try:
        environ[path] = open(path, "rb").read().decode("utf-8", "replace")
    except OSError as error:
        environ[path] = type(error).__name__
open("written-by-the-kernel.txt", "w").write("hello")
print(json.dumps({"shadow": shadow, "environ": environ}))
'''


def _watch(seen, stop):
    """Record the environment every process below this one was started with, until ``stop``."""
    me = psutil.Process()
    while not stop.wait(0.05):
        for process in me.children(recursive=True):
            try:
                seen[process.pid] = (process.name(), process.environ(), process.uids().real)
            except psutil.Error:
                continue


def test_the_kernel_is_not_root_and_sees_none_of_the_graders_environment(tmp_path, monkeypatch):
    problem = sandbox_problem()
    if problem:
        pytest.skip(problem)
    secret = secrets.token_hex(16)
    monkeypatch.setenv("UNET_COURSE_INSTRUCTOR_TOKEN", secret)
    folders = [tmp_path / name for name in ("work", "home", "sockets")]
    for folder in folders:
        folder.mkdir(mode=0o700)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LOOK)])
    seen, stop = {}, threading.Event()
    watcher = threading.Thread(target=_watch, args=(seen, stop), daemon=True)
    watcher.start()
    try:
        outcome = execute(nb, folders, Limits(cell_timeout=60, notebook_timeout=120), "none")
    finally:
        stop.set()
        watcher.join()
    assert outcome.notes == [], outcome.notes
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert nb.cells[0].outputs and text, nb.cells[0].outputs
    inside = json.loads(text)
    assert inside["shadow"] in ("PermissionError", "FileNotFoundError")
    assert "/proc/1/environ" in inside["environ"]
    assert not [path for path, value in inside["environ"].items() if secret in value]
    # From outside: bubblewrap and its monitor started with an empty environment, the kernel with its
    # own, as a host user that is not root.
    bwrap = [env for name, env, _ in seen.values() if name == "bwrap"]
    assert bwrap and all(env == {} for env in bwrap), seen
    assert not [name for name, env, _ in seen.values() if secret in "".join(f"{k}={v}" for k, v in env.items())]
    kernels = [uid for name, env, uid in seen.values()
               if name.startswith("python") and env.get("HOME") == str(folders[1])]
    assert kernels and 0 not in kernels, seen
    assert (folders[0] / "written-by-the-kernel.txt").read_text() == "hello"
    shutil.rmtree(tmp_path / "work")
    assert not (tmp_path / "work").exists()


def test_root_without_cap_sys_admin_drops_to_nobody_before_bubblewrap(monkeypatch):
    """Root in a container (no CAP_SYS_ADMIN): setpriv to nobody first, bubblewrap in a user namespace."""
    from unet_course.grading.autograde import sandbox

    if os.geteuid() != 0 or sandbox.sandbox_problem():
        pytest.skip("needs root (as CI runs) and a working sandbox")
    monkeypatch.setattr(sandbox, "_can_mount", lambda: False)
    system = [p for p in sandbox.SYSTEM if os.path.exists(p)]
    monkeypatch.setattr(sandbox, "read_only_paths", lambda: system)   # what nobody can read here
    assert sandbox.sandbox_problem() is None
    with tempfile.TemporaryDirectory(prefix="unet-course-grade-") as tmp:   # 700, as the worker's
        scratch = Path(tmp) / "work"
        scratch.mkdir(mode=0o700)
        sandbox.hand_over([scratch])
        argv = sandbox.sandbox_argv([scratch], scratch, {"PATH": "/usr/bin:/bin"})
        assert os.path.basename(argv[0]) == "setpriv" and "--unshare-all" in argv
        no_sys_admin = [shutil.which("setpriv"), "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", "--"]
        done = subprocess.run([*no_sys_admin, *argv, "sh", "-c", "touch x; cat /etc/shadow"],
                              capture_output=True, text=True, timeout=30, env={})
        assert "Permission denied" in done.stderr and done.returncode != 0, done
        assert (scratch / "x").stat().st_uid == 65534   # what it wrote is nobody's on the host
