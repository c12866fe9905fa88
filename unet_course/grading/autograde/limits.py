"""The limits a submission runs under, and the one line of feedback for each.

- **time**: ``cell_timeout`` seconds per cell and ``notebook_timeout`` for
  the whole notebook (the grader interrupts the kernel, then kills it);
- **memory**: ``memory_mb`` of address space (``RLIMIT_AS``, set with
  ``prlimit`` on the sandbox, inherited by everything in it). Address space
  is more than resident memory: TensorFlow maps about 2.4 GB to train the
  smoke profile's U-Net while using 0.7 GB, hence the default of 4096;
- **output**: ``output_kb`` kept per cell, every kind of output counted by
  its size as JSON (text, rich and JSON mime bundles, display updates,
  errors), and :data:`NOTEBOOK_OUTPUT_CELLS` times that for the whole notebook;
  a cell that goes on printing :data:`FLOOD_CELLS` times its cap past it is
  interrupted;
- **files**: ``file_mb`` for any one file the notebook writes (``RLIMIT_FSIZE``).

**A limit costs one cell**: a cell over its time is interrupted; output past
the cap is left out while the cell runs on; a cell out of memory is left out
of a fresh kernel, in which the cells before it are run again. Grading then
goes on with the next cell; a test cell that hit a limit scores 0, and one
line per kind of limit says which cells. Only the notebook's own time limit
stops it: the test cells from there on score 0.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass

import nbformat
from nbgrader import utils

from unet_course.validate import whole_number

__all__ = ["Limits", "limit_line", "cell_numbers", "prlimit_argv", "NOTEBOOK_OUTPUT_CELLS", "OutputCap"]

#: The whole notebook keeps at most this many cells' worth of output (``output_kb`` each).
NOTEBOOK_OUTPUT_CELLS = 8
#: A cell still printing this many times its cap past the cap is interrupted (a flood, not a slip).
FLOOD_CELLS = 8
#: Characters of an error's message (and of each traceback line) kept past the cap.
ERROR_KEPT = 2000


@dataclass(frozen=True)
class Limits:
    """Per-submission limits (seconds, megabytes, kilobytes)."""

    cell_timeout: int = 240
    notebook_timeout: int = 1800
    memory_mb: int = 4096
    output_kb: int = 1024
    file_mb: int = 512

    def __post_init__(self):
        for name in ("cell_timeout", "notebook_timeout", "memory_mb", "output_kb", "file_mb"):
            whole_number(getattr(self, name), f"--{name.replace('_', '-')}")


def prlimit_argv(limits):
    """``prlimit`` with the memory and file-size limits, put before the sandbox (an absolute path:
    it starts with an empty environment)."""
    return [shutil.which("prlimit") or "prlimit", f"--as={limits.memory_mb << 20}",
            f"--fsize={limits.file_mb << 20}", "--core=0", "--"]


def cell_numbers(numbers):
    """``"Cell 3"``, ``"Cells 3 and 7"``, ``"Cells 3, 5, 7, 9, 11 and 4 more"``."""
    numbers = sorted(set(numbers))
    if len(numbers) == 1:
        return f"Cell {numbers[0]}"
    shown = [str(n) for n in numbers[:5]]
    rest = f"{len(numbers) - 5} more" if len(numbers) > 5 else shown.pop()
    return f"Cells {', '.join(shown)} and {rest}"


def limit_line(kind, limits, cells=()):
    """The one line at the top of the feedback for a kind of limit the submission hit.

    ``kind`` is ``"cell"``, ``"notebook"``, ``"memory"``, ``"output"`` or
    ``"notebook-output"``; ``cells`` numbers the cells that hit it, from 1
    (one number or several). Without ``cells``: the short form put in the
    offending test cell itself (not for ``"notebook-output"``: the cell that
    spent the notebook's output is not the one that comes after it).
    """
    if isinstance(cells, int):
        cells = [cells]
    if not cells:
        return {
            "cell": f"interrupted at the cell time limit ({limits.cell_timeout} s)",
            "notebook": f"not finished within the notebook time limit ({limits.notebook_timeout} s)",
            "memory": f"ran out of memory (the limit is {limits.memory_mb} MB)",
            "output": f"printed more than the output limit ({limits.output_kb} KB per cell)",
        }[kind] + "; this cell scores nothing"
    which, plural = cell_numbers(cells), len(set(cells)) > 1
    was = "were" if plural else "was"
    if kind == "notebook":
        return (f"The notebook time limit ({limits.notebook_timeout} s) ran out in cell {min(cells)}: "
                f"the test cells from there on score 0.")
    return {
        "cell": f"{which} {was} interrupted at the cell time limit ({limits.cell_timeout} s); "
                f"grading went on with the next cell.",
        "memory": f"{which} ran out of memory (the limit is {limits.memory_mb} MB): the kernel was "
                  f"restarted, the cells before {'them' if plural else 'it'} were run again without "
                  f"{'them' if plural else 'it'}, and grading went on.",
        "output": f"{which} printed more than the output limit ({limits.output_kb} KB per cell): "
                  f"the rest of {'their' if plural else 'its'} output was left out (a cell printing "
                  f"{FLOOD_CELLS} times that more is interrupted), and grading went on.",
        "notebook-output": f"The notebook's outputs reached {NOTEBOOK_OUTPUT_CELLS * limits.output_kb} KB "
                           f"in cell {min(cells)}: later outputs were left out (errors of test cells "
                           f"kept, shortened), and grading went on.",
    }[kind]


def _size(value, limit):
    """About the length of ``value`` written as JSON (its strings, numbers, lists, dicts), up to ``limit``."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2 + sum(len(str(key)) + 4 for key in item)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            total += 2 + len(item)
            stack.extend(item)
        else:
            total += 8    # a number, true, false or null
    return total


def _shortened(msg):
    """An error message cut to a few kilobytes: its name, message and traceback's last lines."""
    content = msg["content"]
    cut = lambda text: str(text)[:ERROR_KEPT]  # noqa: E731
    short = {"ename": cut(content.get("ename", "Error"))[:200], "evalue": cut(content.get("evalue", "")),
             "traceback": [cut(line) for line in list(content.get("traceback") or [])[-5:]]}
    return {**msg, "content": short}


class OutputCap:
    """Mixed into nbclient's client: keep at most ``output_limit`` bytes of output per cell.

    Every message that becomes output counts, by its size as JSON: streams,
    ``display_data`` and ``execute_result`` bundles of any mime type (JSON
    included), ``update_display_data`` (once per output it rewrites), errors.
    Past the cell's cap, or the notebook's (:data:`NOTEBOOK_OUTPUT_CELLS`
    cells' worth), output is left out with one line saying so, and the cell
    runs on. ``cut`` then says which cap: ``"output"`` or ``"notebook-output"``.
    One error per cell is kept even then, shortened, so that a failing test
    cell still fails (past the notebook's cap: in test cells only).
    """

    output_limit = 1 << 20

    def reset(self, timeout=None):
        """Zero the count of one cell (before it runs)."""
        self.kept, self.cut, self.errors, self.dropped, self.flooded = 0, None, 0, 0, False

    def on_flood(self):
        """Called once when a cell has printed :data:`FLOOD_CELLS` caps past its cap: stop it there."""

    def start_notebook(self):
        """Zero the whole notebook's count (before its first cell)."""
        self.total = 0

    def _over(self, size):
        """``None`` after counting ``size`` bytes that fit; else the cap they pass."""
        if self.kept + size > self.output_limit:
            return "output"
        if self.total + size > self.output_limit * NOTEBOOK_OUTPUT_CELLS:
            return "notebook-output"
        self.kept, self.total = self.kept + size, self.total + size
        return None

    def _leave_out(self, outs, cap, text=""):
        """Say once per cell that its output was cut (``text``: the part of a stream that fit);
        from then on the cell keeps nothing more but one error."""
        if self.cut is None:
            self.cut = cap
            why = (f"more than {self.output_limit // 1024} KB in one cell" if cap == "output" else
                   f"the notebook's outputs reached {self.output_limit * NOTEBOOK_OUTPUT_CELLS // 1024} KB")
            outs.append(nbformat.v4.new_output("stream", name="stdout",
                                               text=f"{text}\n[output cut here: {why}]\n"))

    def _drop(self, size, cap):
        """Count ``size`` bytes left out; past :data:`FLOOD_CELLS` caps of them, :meth:`on_flood` once."""
        self.dropped += size
        if cap == "output" and not self.flooded and self.dropped > FLOOD_CELLS * self.output_limit:
            self.flooded = True
            self.on_flood()

    def process_message(self, msg, cell, cell_index):
        self._cell = cell
        return super().process_message(msg, cell, cell_index)

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        cap = self.cut or self._over(_size(content, 2 * self.output_limit))
        if cap is None:
            return super().output(outs, msg, display_id, cell_index)
        kind = msg.get("msg_type")
        self._drop(_size(content, FLOOD_CELLS * self.output_limit), cap)
        if self.cut is None:   # the first message left out: what of a stream still fits, and the line
            head = ""
            if kind == "stream":
                room = min(self.output_limit - self.kept, self.output_limit * NOTEBOOK_OUTPUT_CELLS - self.total)
                head = (content.get("text") or "")[:max(0, room)]
                self.kept, self.total = self.kept + len(head), self.total + len(head)
            self._leave_out(outs, cap, head)
        test = cell_index < len(self.nb.cells) and utils.is_grade(self.nb.cells[cell_index])
        if kind == "error" and self.errors == 0 and (test or cap == "output"):
            self.errors += 1
            return super().output(outs, _shortened(msg), display_id, cell_index)
        return None

    def _update_display_id(self, display_id, msg):
        """A display update counts once per output it rewrites (outputs of earlier cells too)."""
        targets = sum(len(indices) for indices in self._display_id_map.get(display_id, {}).values())
        if not targets:
            return None
        size = _size(msg.get("content", {}), FLOOD_CELLS * self.output_limit) * targets
        cap = self.cut or self._over(size)
        if cap is None:
            return super()._update_display_id(display_id, msg)
        self._drop(size, cap)
        if getattr(self, "_cell", None) is not None:
            self._leave_out(self._cell.outputs, cap)
        return None
