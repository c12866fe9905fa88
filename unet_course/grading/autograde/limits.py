"""The limits a submission runs under, and the one line of feedback for each.

- **time**: ``cell_timeout`` seconds per cell and ``notebook_timeout`` for
  the whole notebook (the grader interrupts the kernel, then kills it);
- **memory**: ``memory_mb`` of address space (``RLIMIT_AS``, set with
  ``prlimit`` on the sandbox, inherited by everything in it). Address space
  is more than resident memory: TensorFlow maps about 2.4 GB to train the
  smoke profile's U-Net while using 0.7 GB, hence the default of 4096;
- **output**: ``output_kb`` kept per cell; the rest is cut and the kernel
  interrupted;
- **files**: ``file_mb`` for any one file the notebook writes (``RLIMIT_FSIZE``).

A submission that hits the time, memory or output limit is stopped; what ran
before is graded and every test cell after it scores 0.
"""
from __future__ import annotations

from dataclasses import dataclass

from unet_course.validate import whole_number

__all__ = ["Limits", "limit_line", "prlimit_argv"]


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
    """``prlimit`` with the memory and file-size limits, put before the sandbox."""
    return ["prlimit", f"--as={limits.memory_mb << 20}", f"--fsize={limits.file_mb << 20}",
            "--core=0", "--"]


def limit_line(kind, limits, cell_number=None):
    """The one line at the top of the feedback for a limit the submission hit.

    ``kind`` is ``"cell"``, ``"notebook"``, ``"memory"`` or ``"output"``;
    ``cell_number`` counts the notebook's cells from 1.
    """
    where = f" in cell {cell_number}" if cell_number is not None else ""
    text = {
        "cell": f"the cell time limit ({limits.cell_timeout} s){where}",
        "notebook": f"the notebook time limit ({limits.notebook_timeout} s){where}",
        "memory": f"the memory limit ({limits.memory_mb} MB){where}",
        "output": f"the output limit ({limits.output_kb} KB per cell){where}",
    }[kind]
    return (f"Stopped by {text}: graded on what ran before; "
            f"test cells after that point score 0.")
