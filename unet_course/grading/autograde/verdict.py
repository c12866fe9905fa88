"""Test cells graded in the grader: the student's kernel only answers with data.

nbgrader scores a test cell by whether it has an error output. While
``unet-course autograde`` grades, a test cell is **not run in the student's
kernel**. :func:`grade_test_cell` reads which checks it calls
(``grading.check_<name>(<name>)`` and the hidden ``hidden=True`` call), runs
each of them here, in the trusted grader process, against a
:class:`~unet_course.grading.remote.Remote` for the student's function, and
then writes the cell's outputs itself: nothing when every check passed, the
check's message as an error output at the first that failed. Every value a
check compares comes back from the kernel as plain data
(:mod:`unet_course.grading.codec`); the expected values, the comparison and
the verdict never enter the kernel, so nothing a notebook does to its own
kernel (its error reporting, the grading objects there, numpy, builtins)
can turn a failing check into a pass.

The checks run in a thread while the event loop serves the kernel: each
request is one hidden line in the kernel (:mod:`unet_course.grading.harness`),
bounded by what is left of the cell's time limit.
"""
from __future__ import annotations

import ast
import asyncio
import time

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from unet_course.grading.messages import CheckFailed
from unet_course.grading.remote import Channel, NoAnswer, Remote

__all__ = ["test_calls", "grade_test_cell"]


def test_calls(source):
    """``[(check name, argument name, hidden), ...]`` of a test cell, or ``None`` when it holds anything else."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    calls = []
    for statement in tree.body:
        call = getattr(statement, "value", None)
        if not (isinstance(statement, ast.Expr) and isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
                and call.func.value.id == "grading" and call.func.attr.startswith("check_")
                and len(call.args) == 1 and isinstance(call.args[0], ast.Name)
                and all(k.arg == "hidden" and isinstance(k.value, ast.Constant) for k in call.keywords)):
            return None
        hidden = bool(call.keywords[0].value.value) if call.keywords else False
        calls.append((call.func.attr, call.args[0].id, hidden))
    return calls


def _error(ename, evalue, traceback=None):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=traceback or [f"{ename}: {evalue}"])


def _run_checks(calls, channel):
    """Run each check here against the kernel's function; the outputs the test cell gets."""
    from unet_course import grading
    for check_name, argument, hidden in calls:
        try:
            check = getattr(grading, check_name)
            check(Remote(argument, channel), hidden=hidden)
        except CheckFailed as failed:
            return [_error("CheckFailed", str(failed), failed._render_traceback_())]
        except NameError as error:
            return [_error("NameError", str(error))]
        except NoAnswer as why:
            return [_error("NoAnswer", f"the grader got no answer from the notebook's kernel ({why}); "
                                       f"this test scores 0")]
        except Exception as error:  # noqa: BLE001 (a check that cannot read what came back)
            return [_error(type(error).__name__, f"the grader could not use the kernel's answer ({error}); "
                                                 f"this test scores 0")]
    return []


def _checks_on_cpu(run):
    """Keep the grader's own TensorFlow off the GPU that the student's kernel gets."""
    if run.env.get("CUDA_VISIBLE_DEVICES") == "":
        return
    try:
        from unet_course.backend import tf
        tf.config.set_visible_devices([], "GPU")
    except (ImportError, RuntimeError, ValueError):
        pass


async def grade_test_cell(run, cell, index):
    """Grade test cell ``index`` in the grader; write its outputs. ``DeadKernelError`` if the kernel died."""
    calls = test_calls(cell.source)
    if calls is None:
        cell.outputs = [_error("NotGraded", "this test cell is not a call of the package's checks, "
                                            "so it cannot be graded outside the student's kernel")]
        return
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + max(0.0, min(run.limits.cell_timeout, run.deadline - time.monotonic()))
    died = []

    async def ask(source, seconds):
        try:
            await run._hidden(source, timeout=max(1, int(seconds)))
        except DeadKernelError:
            died.append(True)
            return "the kernel stopped while answering"
        except CellTimeoutError:
            return f"it did not answer within the cell time limit ({run.limits.cell_timeout} s)"
        if run.client.timed_out:
            return f"it did not answer within the cell time limit ({run.limits.cell_timeout} s)"
        return None

    def runner(source, seconds):
        why = asyncio.run_coroutine_threadsafe(ask(source, seconds), loop).result()
        if why:
            channel.stopped = why
        return why

    channel = Channel(run.ipc, runner, lambda: deadline - time.monotonic())
    _checks_on_cpu(run)
    cell.outputs = await loop.run_in_executor(None, _run_checks, calls, channel)
    if died:
        raise DeadKernelError("the kernel died while answering the grader")
