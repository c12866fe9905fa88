"""Run one notebook in its sandboxed kernel, under the limits, probing around each test cell.

:func:`execute` is nbgrader's ``Execute`` step done the careful way:

- the kernel starts behind ``prlimit`` and ``bwrap`` (:mod:`.sandbox`, :mod:`.limits`);
- the first thing it runs is the integrity hook (:mod:`.integrity`); the
  names the locked setup cell defines are pinned right after it;
- **a limit costs one cell** (:mod:`.limits`): each cell gets
  ``min(cell limit, time left for the notebook)``, and a cell that runs out
  is interrupted (a kernel that does not answer then is restarted, as
  below); output beyond the per-cell cap, of any kind, is left out while the
  cell runs on (unless it floods on: then it is interrupted); a
  ``MemoryError`` (the address-space limit) restarts the kernel, the cells
  before that one are run again without it, and grading goes on; only the
  notebook's time limit stops the notebook;
- test cells are not run in the kernel: the grader runs their checks in
  its own process, the kernel only answers with data (:mod:`.verdict`), and
  the grader writes the cells' outputs; the kernel sees the package without
  the assignment's references (:mod:`.sanitize`); a check whose answer does
  not come within the cell time limit costs that test cell alone;
- before and after every test cell the grader probes the kernel; a
  notebook that changed the grading environment is flagged for the
  instructor (its score is what its answers earn);
- a kernel that dies (``os._exit``, a crash) is restarted the same way, and
  grading goes on with the next cell; after two restarts, the rest is not run.

A test cell that hit a limit, and test cells that did not run, get an error
output saying why, so that nbgrader's own rule (a test cell passes when it
has no error output) scores them 0.
"""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from dataclasses import dataclass, field

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils

from unet_course.grading.autograde.integrity import Probe
from unet_course.grading.autograde.limits import OutputCap, limit_line, prlimit_argv
from unet_course.grading.autograde.sandbox import (SandboxedKernelManager, hand_over, kernel_env,
                                                   kernel_user, sandbox_argv)
from unet_course.grading.autograde.sanitize import sanitized_package
from unet_course.grading.autograde.verdict import grade_test_cell

__all__ = ["Outcome", "execute", "error_output", "GraderError"]

MAX_RESTARTS = 2
PROBE_TIMEOUT = 30
SETTLE_TIMEOUT = 10    # seconds an interrupted kernel has to answer again before it is restarted


class GraderError(RuntimeError):
    """The grading machinery itself failed (not the submission): nothing is written for it."""


@dataclass
class Outcome:
    """What happened while a notebook ran, beyond its cells' outputs."""

    notes: list = field(default_factory=list)       # lines for the top of the feedback
    tampered: dict = field(default_factory=dict)    # cell index -> what changed
    limit: str | None = None                         # the first hit: "cell", "notebook", "memory", "output"
    deaths: int = 0
    seconds: float = 0.0


def error_output(ename, evalue):
    """An nbformat error output (nbgrader scores a test cell with one as failed)."""
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _out_of_memory(cell):
    """``True`` when the cell raised ``MemoryError``, or the kernel's output thread did."""
    for output in cell.outputs:
        if output.output_type == "error" and output.get("ename") == "MemoryError":
            return True
        if output.output_type == "stream" and output.get("name") == "stderr" \
                and output.get("text", "").rstrip().endswith("\nMemoryError"):
            return True
    return False


class _Client(OutputCap, NotebookClient):
    """nbclient's client under the output cap (:class:`.limits.OutputCap`), noting time-outs."""

    def reset(self, timeout):
        super().reset(timeout)
        self.timeout, self.timed_out = timeout, False

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def on_flood(self):
        """Interrupt a cell that goes on printing far past its cap (the kernel ignores it when idle)."""
        asyncio.ensure_future(self.km.interrupt_kernel())


class _Run:
    """One notebook's execution; see :func:`execute`."""

    def __init__(self, nb, folders, limits, assignment, sandboxed, gpu):
        self.nb, self.limits = nb, limits
        self.work, self.home, self.ipc = folders
        self.probe = Probe(self.ipc, assignment)
        package = sanitized_package(assignment)   # the package without the references (.sanitize)
        env = kernel_env(self.home, gpu, None if sandboxed else {"PYTHONPATH": str(package.parent)})
        prefix = prlimit_argv(limits)
        self.owner = None
        if sandboxed:
            # prlimit, bubblewrap and its monitor start with an empty environment (not even
            # jupyter_client's JPY_PARENT_PID); the kernel's own is on bubblewrap's command line.
            prefix = [shutil.which("env") or "env", "-i", *prefix,
                      *sandbox_argv([self.work, self.home, self.ipc], self.work, env, gpu, package=package)]
            self.owner = kernel_user()
            hand_over(folders)
        self.env = {} if sandboxed else env
        self.km = SandboxedKernelManager(transport="ipc", ip=str(self.ipc / "kernel"),
                                         connection_file=str(self.ipc / "kernel.json"))
        self.km.prefix, self.km.owner = prefix, self.owner
        self.client = _Client(nb, km=self.km, allow_errors=True, interrupt_on_timeout=True,
                              error_on_timeout={"ename": "TimeoutError", "evalue": "time limit"},
                              startup_timeout=180, iopub_timeout=4, record_timing=False,
                              store_widget_state=False)
        self.client.output_limit = limits.output_kb * 1024
        self.client.start_notebook()
        self.outcome = Outcome()
        self.deadline = time.monotonic() + limits.notebook_timeout
        self.hits = {}        # limit kind -> numbers of the cells that hit it, in the order first hit
        self.skip = set()     # cells a replay leaves out: they hit a limit or stopped the kernel
        self.restarts = 0
        self.stop_reason = None

    async def _aside(self, cell, timeout, store_history=False):
        """Run ``cell`` in the kernel but outside the notebook (nbclient writes cells back by index).

        Its output is not the notebook's: it does not count towards the notebook's output cap.
        """
        notebook, total = self.client.nb, self.client.total
        self.client.nb = nbformat.v4.new_notebook(cells=[cell])
        try:
            self.client.reset(timeout)
            await self.client.async_execute_cell(cell, 0, store_history=store_history)
        finally:
            self.client.nb, self.client.total = notebook, total
        return cell

    async def _hidden(self, source, timeout=PROBE_TIMEOUT):
        """Run grader code in the kernel, outside the notebook; return the cell."""
        return await self._aside(nbformat.v4.new_code_cell(source), timeout)

    async def _verdict(self):
        challenge, source = self.probe.challenge()
        try:
            await self._hidden(source)
        except (DeadKernelError, CellTimeoutError):
            return "the kernel stopped answering the grader's integrity check"
        return self.probe.verdict(challenge)

    async def _start(self, first_locked):
        """Prelude, baseline check, the setup cell and the pin; returns the index to go on from."""
        prelude = self.probe.prelude()
        if self.owner is not None:
            hand_over([self.probe.key_path])
        cell = await self._hidden(prelude, timeout=120)
        if any(o.output_type == "error" for o in cell.outputs):
            raise GraderError(f"the integrity prelude failed in the kernel: {cell.outputs}")
        reason = await self._verdict()
        if reason:
            raise GraderError(f"the integrity check fails before any student code ran: {reason}")
        if first_locked is None:
            await self._hidden(self.probe.pin())
            return 0
        return first_locked

    async def _restart(self, upto, skip):
        """A fresh kernel with cells ``< upto`` (but ``skip`` and test cells) run again."""
        await self.km.restart_kernel(now=True)
        self.client.kc.stop_channels()
        self.client.kc = None
        await self.client.async_start_new_kernel_client()
        await self._start(self._first_locked)
        for index in range(upto):
            cell = self.nb.cells[index]
            if cell.cell_type != "code" or index in skip or utils.is_grade(cell):
                continue
            remaining = self.deadline - time.monotonic()
            replayed = await self._aside(nbformat.from_dict(cell),
                                         max(1, int(min(self.limits.cell_timeout, remaining))),
                                         store_history=True)
            if self.client.timed_out or _out_of_memory(replayed):
                raise DeadKernelError("the replay ran out of time or memory")
            if index == self._first_locked:
                await self._hidden(self.probe.pin())

    def _hit(self, kind, index):
        """Note that cell ``index`` hit a limit; a test cell that did gets an error output (scores 0)."""
        if kind == "notebook-output" and kind in self.hits:
            return   # said once, for the cell that spent the notebook's output
        self.outcome.limit = self.outcome.limit or kind
        self.hits.setdefault(kind, []).append(index + 1)
        cell = self.nb.cells[index]
        if kind != "notebook-output" and utils.is_grade(cell) and \
                not any(o.output_type == "error" for o in cell.get("outputs", [])):
            cell.outputs.append(error_output("LimitExceeded", limit_line(kind, self.limits)))

    async def run(self):
        cells = self.nb.cells
        code = [i for i, c in enumerate(cells) if c.cell_type == "code" and c.source.strip()]
        self._first_locked = code[0] if code and utils.is_locked(cells[code[0]]) else None
        stopped = None
        await self.client.async_start_new_kernel(env=self.env, cwd=str(self.work),
                                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await self.client.async_start_new_kernel_client()
        try:
            await self._start(self._first_locked)
            for index in code:
                cell = cells[index]
                remaining = self.deadline - time.monotonic()
                if remaining < 1:
                    stopped = index
                    self._hit("notebook", index)
                    break
                if utils.is_grade(cell):   # graded in the grader, not run in the kernel (.verdict)
                    if not await self._test_cell(index):
                        stopped = index
                        break
                    continue
                if not await self._execute(cell, index, remaining):
                    stopped = index
                    break
                if index == self._first_locked:
                    await self._hidden(self.probe.pin())
        finally:
            await self._shutdown()
        self.outcome.notes[:0] = [limit_line(kind, self.limits, numbers) for kind, numbers in self.hits.items()]
        if stopped is not None:
            why = self.stop_reason or limit_line("notebook", self.limits, stopped + 1)
            for index in code:
                if index > stopped and utils.is_grade(cells[index]):
                    cells[index].outputs = [error_output("NotRun", f"not run: {why}")]
        return self.outcome

    async def _execute(self, cell, index, remaining):
        """Run notebook cell ``index`` under the limits; ``False`` when grading cannot go on.

        A limit costs this cell alone: a time-out interrupts it (and restarts
        a kernel that does not answer after that), output past the cap is left
        out, running out of memory restarts the kernel without this cell.
        """
        bound = "notebook" if remaining < self.limits.cell_timeout else "cell"
        self.client.reset(max(1, int(min(self.limits.cell_timeout, remaining))))
        try:
            await self.client.async_execute_cell(cell, index)
        except (DeadKernelError, asyncio.CancelledError):
            self.skip.add(index)
            return await self._died(index)
        except CellTimeoutError:
            self.client.timed_out = True
        if self.client.cut:
            self._hit(self.client.cut, index)
        if self.client.timed_out:
            self._hit(bound, index)
            self.skip.add(index)
            return bound == "cell" and await self._settle(index)
        if _out_of_memory(cell):
            self._hit("memory", index)
            self.skip.add(index)
            return await self._recover(index, "ran out of memory")
        return True

    async def _settle(self, index):
        """After a time-out: ``True`` when the kernel answers again, else restart it without the cell."""
        try:
            await self._hidden("pass", timeout=min(SETTLE_TIMEOUT, self.limits.cell_timeout))
            if not self.client.timed_out:
                return True
        except (DeadKernelError, CellTimeoutError, asyncio.CancelledError):
            pass
        return await self._recover(index, "did not stop when interrupted")

    async def _recover(self, index, what, say=True):
        """A fresh kernel with the cells before ``index`` run again (not the skipped ones); ``True`` to go on.

        When that cannot be (the restarts are spent, the notebook's time nearly
        is, or the replay fails), the notebook stops there, with a line saying
        so unless ``say`` is false.
        """
        self.restarts += 1
        going_on = self.restarts <= MAX_RESTARTS and self.deadline - time.monotonic() > 5
        try:
            if going_on:
                await self._restart(index, self.skip)
        except (DeadKernelError, CellTimeoutError, asyncio.CancelledError, GraderError, RuntimeError):
            going_on = False
        if not going_on:
            self.stop_reason = (f"cell {index + 1} {what}, and the kernel could not be restarted "
                                f"(at most {MAX_RESTARTS} restarts, within the notebook time limit)")
            if say:
                self.outcome.notes.append(f"{self.stop_reason[0].upper()}{self.stop_reason[1:]}: "
                                          f"the cells after it were not run.")
        return going_on

    async def _died(self, index):
        """Note a dead kernel; restart it and replay when that is sound. ``True`` to go on."""
        process = getattr(self.km.provisioner, "process", None)
        status = process.poll() if process is not None else None
        self.outcome.deaths += 1
        cell = self.nb.cells[index]
        cell.outputs.append(error_output("KernelDied", f"the kernel stopped while running this cell "
                                                       f"(exit status {status})"))
        going_on = await self._recover(index, f"stopped the kernel (exit status {status})", say=False)
        self.outcome.notes.append(f"The kernel stopped in cell {index + 1} (exit status {status}): "
                                  f"that cell scores nothing" +
                                  ("; the cells before it were run again in a fresh kernel and grading "
                                   "went on." if going_on else "; the cells after it were not run."))
        return going_on

    async def _test_cell(self, index):
        """Grade a test cell in the grader (:mod:`.verdict`), probing before and after; ``False``: stop.

        An answer that does not come within the cell time limit costs this test
        cell alone, as a time-out of any other cell does (:meth:`_execute`).
        """
        reason = await self._verdict()
        if reason:
            self._tampered(index, reason)
        try:
            await grade_test_cell(self, self.nb.cells[index], index)
        except DeadKernelError:
            self.skip.add(index)
            return await self._died(index)
        if self.client.timed_out:
            self._hit("cell", index)
            if not await self._settle(index):
                return False
        reason = await self._verdict()
        if reason:
            self._tampered(index, reason)
        return True

    def _tampered(self, index, reason):
        """Note a changed grading environment: a flag for the instructor, not a score (see docs/instructors.md)."""
        self.outcome.tampered.setdefault(index, reason)

    async def _shutdown(self):
        try:
            if self.client.kc is not None:
                self.client.kc.stop_channels()
            await self.km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001 (a kernel that is gone already)
            pass


def execute(nb, folders, limits, assignment, sandboxed=True, gpu=None):
    """Execute ``nb`` in place in a sandboxed kernel; return its :class:`Outcome`.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The sanitized notebook (test cells as the gradebook has them).
    folders : tuple of pathlib.Path
        ``(work, home, sockets)``: the scratch copy (working directory), the
        kernel's home and the IPC socket folder, all writable by the kernel.
    limits : Limits
    assignment : str
        The nbgrader assignment (which checks to load before any student cell).
    sandboxed : bool
        ``False`` only for ``--no-sandbox``: the kernel then runs as the grader's user.
    gpu : str, optional
        The one GPU to hand to the kernel.
    """
    started = time.monotonic()
    run = _Run(nb, folders, limits, assignment, sandboxed, gpu)
    outcome = asyncio.run(run.run())
    outcome.seconds = time.monotonic() - started
    return outcome
