"""Run one notebook in its sandboxed kernel, under the limits, probing around each test cell.

:func:`execute` is nbgrader's ``Execute`` step done the careful way:

- the kernel starts behind ``prlimit`` and ``bwrap`` (:mod:`.sandbox`, :mod:`.limits`);
- the first thing it runs is the integrity hook (:mod:`.integrity`); the
  names the locked setup cell defines are pinned right after it;
- each cell gets ``min(cell limit, time left for the notebook)``; a cell
  that runs out is interrupted, and the notebook stops there;
- output beyond the per-cell cap is cut, the kernel interrupted, the notebook stopped;
- a ``MemoryError`` (the address-space limit) stops the notebook;
- test cells are not run in the kernel: the grader runs their checks in
  its own process, the kernel only answers with data (:mod:`.verdict`), and
  the grader writes the cells' outputs; the kernel sees the package without
  the assignment's references (:mod:`.sanitize`);
- before and after every test cell the grader probes the kernel; a
  notebook that changed the grading environment is flagged for the
  instructor (its score is what its answers earn);
- a kernel that dies (``os._exit``, a crash) is restarted, the cells before
  the one that killed it are run again without their output, and grading
  goes on with the next cell; after two deaths, the rest is not run.

Test cells that did not run get an error output saying why, so that
nbgrader's own rule (a test cell passes when it has no error output) scores
them 0.
"""
from __future__ import annotations

import asyncio
import subprocess
import time
from dataclasses import dataclass, field

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils

from unet_course.grading.autograde.integrity import Probe
from unet_course.grading.autograde.limits import limit_line, prlimit_argv
from unet_course.grading.autograde.sandbox import SandboxedKernelManager, kernel_env, sandbox_argv
from unet_course.grading.autograde.sanitize import sanitized_package
from unet_course.grading.autograde.verdict import grade_test_cell

__all__ = ["Outcome", "execute", "error_output", "GraderError"]

MAX_RESTARTS = 2
PROBE_TIMEOUT = 30


class GraderError(RuntimeError):
    """The grading machinery itself failed (not the submission): nothing is written for it."""


@dataclass
class Outcome:
    """What happened while a notebook ran, beyond its cells' outputs."""

    notes: list = field(default_factory=list)       # lines for the top of the feedback
    tampered: dict = field(default_factory=dict)    # cell index -> what changed
    limit: str | None = None                         # "cell", "notebook", "memory", "output"
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


class _Client(NotebookClient):
    """nbclient's client, noting time-outs and keeping at most ``output_limit`` bytes per cell."""

    output_limit = 1 << 20

    def reset(self, timeout):
        self.timeout, self.timed_out, self.kept, self.cut = timeout, False, 0, False

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(content.get("text", "") or "") + sum(
            len(v) for v in (content.get("data") or {}).values() if isinstance(v, str))
        if self.kept + size <= self.output_limit:
            self.kept += size
            return super().output(outs, msg, display_id, cell_index)
        if not self.cut:
            self.cut = True
            room = max(0, self.output_limit - self.kept)
            text = (content.get("text") or "")[:room]
            outs.append(nbformat.v4.new_output(
                "stream", name="stdout",
                text=f"{text}\n[output cut here: more than {self.output_limit // 1024} KB in one cell]\n"))
            asyncio.ensure_future(self.km.interrupt_kernel())
        return None


class _Run:
    """One notebook's execution; see :func:`execute`."""

    def __init__(self, nb, folders, limits, assignment, sandboxed, gpu):
        self.nb, self.limits = nb, limits
        self.work, self.home, self.ipc = folders
        self.probe = Probe(self.ipc, assignment)
        package = sanitized_package(assignment)   # the package without the references (.sanitize)
        env = kernel_env(self.home, gpu, None if sandboxed else {"PYTHONPATH": str(package.parent)})
        prefix = prlimit_argv(limits)
        if sandboxed:
            prefix += sandbox_argv([self.work, self.home, self.ipc], self.work, env, gpu, package=package)
        self.env = env
        self.km = SandboxedKernelManager(transport="ipc", ip=str(self.ipc / "kernel"),
                                         connection_file=str(self.ipc / "kernel.json"))
        self.km.prefix = prefix
        self.client = _Client(nb, km=self.km, allow_errors=True, interrupt_on_timeout=True,
                              error_on_timeout={"ename": "TimeoutError", "evalue": "time limit"},
                              startup_timeout=180, iopub_timeout=4, record_timing=False)
        self.client.output_limit = limits.output_kb * 1024
        self.outcome = Outcome()
        self.deadline = time.monotonic() + limits.notebook_timeout

    async def _aside(self, cell, timeout, store_history=False):
        """Run ``cell`` in the kernel but outside the notebook (nbclient writes cells back by index)."""
        notebook = self.client.nb
        self.client.nb = nbformat.v4.new_notebook(cells=[cell])
        try:
            self.client.reset(timeout)
            await self.client.async_execute_cell(cell, 0, store_history=store_history)
        finally:
            self.client.nb = notebook
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
        cell = await self._hidden(self.probe.prelude(), timeout=120)
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
            await self._aside(nbformat.from_dict(cell), max(1, int(min(self.limits.cell_timeout, remaining))),
                              store_history=True)
            if self.client.timed_out or self.client.cut:
                raise DeadKernelError("the replay ran out of time")
            if index == self._first_locked:
                await self._hidden(self.probe.pin())

    def _stop(self, kind, index):
        self.outcome.limit = kind
        self.outcome.notes.insert(0, limit_line(kind, self.limits, index + 1))
        cell = self.nb.cells[index]
        if not any(o.output_type == "error" for o in cell.get("outputs", [])):
            cell.outputs.append(error_output("LimitExceeded", limit_line(kind, self.limits)))

    async def run(self):
        cells = self.nb.cells
        code = [i for i, c in enumerate(cells) if c.cell_type == "code" and c.source.strip()]
        self._first_locked = code[0] if code and utils.is_locked(cells[code[0]]) else None
        stopped, dead_cells = None, set()
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
                    self._stop("notebook", index)
                    break
                if utils.is_grade(cell):   # graded in the grader, not run in the kernel (.verdict)
                    if not await self._test_cell(index, dead_cells):
                        stopped = index
                        break
                    continue
                bound = "notebook" if remaining < self.limits.cell_timeout else "cell"
                self.client.reset(max(1, int(min(self.limits.cell_timeout, remaining))))
                try:
                    await self.client.async_execute_cell(cell, index)
                except (DeadKernelError, asyncio.CancelledError):
                    dead_cells.add(index)
                    if not await self._died(index, dead_cells):
                        stopped = index
                        break
                    continue
                except CellTimeoutError:
                    self.client.timed_out = True
                if self.client.timed_out or self.client.cut:
                    stopped = index
                    self._stop("output" if self.client.cut else bound, index)
                    break
                if _out_of_memory(cell):
                    stopped = index
                    self._stop("memory", index)
                    break
                if index == self._first_locked:
                    await self._hidden(self.probe.pin())
        finally:
            await self._shutdown()
        if stopped is not None:
            why = self.outcome.notes[0] if self.outcome.notes else "the notebook was stopped"
            for index in code:
                if index > stopped and utils.is_grade(cells[index]):
                    cells[index].outputs = [error_output("NotRun", f"not run: {why}")]
        return self.outcome

    async def _died(self, index, dead_cells):
        """Note a dead kernel; restart it and replay when that is sound. ``True`` to go on."""
        process = getattr(self.km.provisioner, "process", None)
        status = process.poll() if process is not None else None
        self.outcome.deaths += 1
        cell = self.nb.cells[index]
        line = (f"The kernel stopped in cell {index + 1} (exit status {status}): "
                f"that cell scores nothing")
        cell.outputs.append(error_output("KernelDied", f"the kernel stopped while running this cell "
                                                       f"(exit status {status})"))
        can_go_on = self.outcome.deaths <= MAX_RESTARTS and self.deadline - time.monotonic() > 5
        try:
            if can_go_on:
                await self._restart(index, dead_cells)
        except (DeadKernelError, CellTimeoutError, asyncio.CancelledError, GraderError, RuntimeError):
            can_go_on = False
        self.outcome.notes.append(line + ("; the cells before it were run again in a fresh kernel "
                                          "and grading went on." if can_go_on else
                                          "; the cells after it were not run."))
        return can_go_on

    async def _test_cell(self, index, dead_cells):
        """Grade a test cell in the grader (:mod:`.verdict`), probing before and after; ``False``: stop."""
        reason = await self._verdict()
        if reason:
            self._tampered(index, reason)
        try:
            await grade_test_cell(self, self.nb.cells[index], index)
        except DeadKernelError:
            dead_cells.add(index)
            return await self._died(index, dead_cells)
        reason = await self._verdict()
        if reason:
            self._tampered(index, reason)
        return True

    def _tampered(self, index, reason):
        """Note a changed grading environment: a flag for the instructor, not a score (see the README)."""
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
