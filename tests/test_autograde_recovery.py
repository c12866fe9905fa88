"""Nothing lost: a killed worker, Ctrl-C and SIGTERM in the middle of ``unet-course autograde``.

One class of assignment 1 (the solution, the blank release and the three
crafted wrong answers) in a temporary course, graded for real: the
sandbox, a local Dask cluster of two worker processes.

- **a killed worker**: while it grades, one worker process gets SIGKILL (as
  the kernel's out-of-memory killer would send it). Its nanny starts it
  again, Dask hands its submission out again, and every student ends with
  exactly the right score; the killed worker's kernel does not outlive it.
- **an interrupted run**: Ctrl-C (SIGINT to the whole process group, as a
  terminal sends it) once a grade has landed, then SIGTERM to the command
  alone (as ``scancel`` or a shutdown sends it) in the re-run. Each stops
  with status 130, says how to go on and leaves no process behind; each
  re-run grades only what is left; in the end every score is right and the
  gradebook passes SQLite's integrity check.
"""
from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time

import nbformat
import psutil
import pytest

from _autograde_course import make_course
from test_nbgrader_e2e import ROOT, _env, expected_scores, nbgrader, submissions

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

A1 = "a1_data_imbalance"


@pytest.fixture()
def course(tmp_path):
    """A course with each kind of assignment 1 submission: ``(folder, {student: score})``.

    Five students: at most two grades land around each signal (the one seen
    and the one being written), so both interruptions stop short of the last.
    """
    folder = tmp_path / "course"
    subs = submissions(A1, *make_course(folder, A1))
    expected = expected_scores(A1)
    for student, nb in subs.items():
        target = folder / "submitted" / student / A1 / f"{A1}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, str(target))
    assert len(subs) == 5
    return folder, {student: float(expected[student]) for student in subs}


def _start(folder, *extra):
    """``unet-course autograde`` in its own process group, as a terminal would start it."""
    return subprocess.Popen([sys.executable, "-m", "unet_course", "autograde", A1, "--workers", "2",
                             "--quiet", "--cell-timeout", "60", *extra],
                            cwd=folder, env={**_env(), "PYTHONPATH": str(ROOT)}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _graded_files(folder):
    return set(folder.glob(f"autograded/*/{A1}/{A1}.ipynb"))


def _wait_for(condition, seconds=240, what="condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _exported(folder):
    nbgrader(folder, "export", "--to", "grades.csv")
    with open(folder / "grades.csv", newline="") as file:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)
                if row["assignment"] == A1}


def _assert_group_gone(process):
    def gone():
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        return all(p.status() == psutil.STATUS_ZOMBIE for p in _group(process.pid))
    _wait_for(gone, 30, "the command's processes to end")


def _group(pgid):
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid:
                members.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def _grading_worker(command):
    """A worker of ``command`` with a sandboxed kernel under it: ``(worker, kernel, kernel's tree)``.

    A ``bwrap`` that ends while it is looked at (a short-lived one) is passed over.
    """
    for child in psutil.Process(command.pid).children():
        try:
            if "spawn_main" not in " ".join(child.cmdline()):
                continue
            for kernel in (p for p in child.children(recursive=True) if p.name() == "bwrap"):
                return child, kernel, [kernel, *kernel.children(recursive=True)]
        except psutil.Error:
            continue
    return None


def test_a_killed_worker_loses_no_grade(course):
    """SIGKILL to a worker mid-grade: every student still gets exactly the right score."""
    folder, expected = course
    command = _start(folder)
    worker, _kernel, kernel_tree = _wait_for(lambda: _grading_worker(command),
                                             what="a worker to start a kernel")
    worker.kill()
    out, err = command.communicate(timeout=600)
    assert command.returncode == 0, out + err
    assert f"graded {len(expected)} of {len(expected)}" in out
    assert "NOT GRADED" not in out
    assert not psutil.pid_exists(worker.pid) or worker.status() == psutil.STATUS_ZOMBIE
    for proc in kernel_tree:   # --die-with-parent: the sandbox ended with its worker
        assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE, proc
    assert _exported(folder) == expected


def _interrupt_once_graded(folder, send, already):
    """Start a run, send a signal once one more grade has landed; return the run's output."""
    before = _graded_files(folder)
    command = _start(folder)
    _wait_for(lambda: _graded_files(folder) - before, what="a grade to land")
    send(command)
    out, err = command.communicate(timeout=120)
    assert command.returncode == 130, out + err
    assert f"{already} graded already" in out
    assert "run the same command again to grade the rest" in err
    assert "Traceback" not in err, err
    _assert_group_gone(command)
    return out


def test_an_interrupted_run_resumes(course):
    """Ctrl-C, then SIGTERM: each re-run grades only the rest; the final grades are all right."""
    folder, expected = course
    total = len(expected)
    _interrupt_once_graded(folder, lambda c: os.killpg(c.pid, signal.SIGINT), already=0)
    after_first = len(_graded_files(folder))
    assert 1 <= after_first < total
    _interrupt_once_graded(folder, lambda c: c.send_signal(signal.SIGTERM), already=after_first)
    after_second = len(_graded_files(folder))
    assert after_first < after_second < total

    command = _start(folder)
    out, err = command.communicate(timeout=600)
    assert command.returncode == 0, out + err
    assert f"{total - after_second} to grade, {after_second} graded already" in out
    assert f"graded {total - after_second} of {total - after_second}" in out
    assert _exported(folder) == expected
    with sqlite3.connect(folder / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
