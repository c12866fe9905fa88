"""Grade one submission in a scratch copy; return the graded notebooks. No gradebook here.

:func:`grade` is what a Dask worker runs. Its job is plain data: the
submission's files as bytes, and the assignment's cells as the gradebook
holds them (:func:`unet_course.grading.autograde.gradebook.master_cells`).
For each notebook it does what ``nbgrader autograde`` does, without any
access to the gradebook, the course directory or other submissions:

1. **read** it; a file that is not notebook JSON becomes the released cells
   with every test failed and one line saying so;
2. **sanitize** it (nbgrader's ``ClearOutput``), then **restore** every
   cell the gradebook knows (:mod:`.structure`): its type, its nbgrader
   metadata, and the source of every locked cell (the setup and test
   cells), one copy of each, in an order it can run in; missing test cells
   are put back where nbgrader puts them. The test code that runs is
   therefore always the gradebook's, whatever the notebook's structure;
3. **execute** it in the sandbox (:mod:`.execute`); its test cells are
   graded here, in this process, on the data its kernel answers (:mod:`.verdict`);
4. put the **grading notes** (a limit hit, a dead kernel, tampering, a
   restored cell) in a markdown cell at the top, where nbgrader's feedback
   shows them.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path, PurePosixPath

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import ClearOutput

from unet_course.grading.autograde.execute import GraderError, error_output, execute
from unet_course.grading.autograde.integrity import ENVIRONMENT_CHANGED
from unet_course.grading.autograde.limits import Limits
from unet_course.grading.autograde.sandbox import sandbox_problem
from unet_course.grading.autograde.structure import read_notebook, restore, unreadable

__all__ = ["grade", "restore", "read_notebook", "NOTES_TITLE"]

NOTES_TITLE = "**Grading notes**"


def _notes_cell(lines):
    text = "\n".join(f"- {line}" for line in lines)
    return nbformat.v4.new_markdown_cell(f"{NOTES_TITLE}\n\n{text}")


def _safe_name(relpath):
    """A relative path that stays inside the scratch folder, or ``None``."""
    path = PurePosixPath(relpath)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return Path(*path.parts)


def _scratch(files, root):
    """Write the submission's files into ``root/work``; return the three folders."""
    folders = [root / "work", root / "home", root / "sockets"]
    for folder in folders:
        folder.mkdir(mode=0o700)
    for relpath, data in files.items():
        name = _safe_name(relpath)
        if name is None:
            continue
        target = folders[0] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folders


def _grade_notebook(name, data, master, files, job, gpu):
    """One notebook: the graded notebook (as JSON text) and what the command reports."""
    limits = Limits(**job["limits"])
    nb, why = (None, f"{name}.ipynb was not submitted") if data is None else read_notebook(data, f"{name}.ipynb")
    report = {"notes": [], "tampered": {}, "limit": None, "flagged": False}
    if nb is None:
        nb = unreadable(master, why)
        report["notes"] = [f"{why}: every test of it scores 0."]
    else:
        nb, _ = ClearOutput().preprocess(nb, {})
        restored = ([why] if why else []) + restore(nb, master)
        with tempfile.TemporaryDirectory(prefix="unet-course-grade-") as tmp:
            folders = _scratch(files, Path(tmp))
            nbformat.write(nb, str(folders[0] / f"{name}.ipynb"))
            outcome = execute(nb, folders, limits, job["assignment"], job["sandboxed"], gpu)
        report.update(limit=outcome.limit, tampered={str(k): v for k, v in outcome.tampered.items()})
        report["notes"] = outcome.notes + restored
        if outcome.tampered:
            first = next(iter(outcome.tampered.values()))
            report["flagged"] = True
            report["notes"].insert(0 if outcome.limit is None else 1,
                                   f"Flagged for the instructor: {ENVIRONMENT_CHANGED} ({first}); "
                                   f"its functions were graded outside its kernel as usual.")
    if report["notes"]:
        nb.cells.insert(0, _notes_cell(report["notes"]))
    scores = {cell.metadata["nbgrader"]["grade_id"]: utils.determine_grade(cell)[0]
              for cell in nb.cells if utils.is_grade(cell)}
    report["scores"] = scores
    return nbformat.writes(nb), report


def _gpu(job):
    """The GPU this worker hands to its kernels: an index, ``"all"`` or ``None`` (none).

    ``--gpus`` shares indices out over the local workers; otherwise a worker
    started with one GPU in ``CUDA_VISIBLE_DEVICES`` (Slurm's ``--gres=gpu:1``)
    hands on that one, and a worker in a container given its GPUs by the NVIDIA
    runtime (``NVIDIA_VISIBLE_DEVICES``, a Kubernetes pod) hands on what it sees.
    """
    gpus = job.get("gpus") or []
    if gpus:
        try:
            from distributed import get_worker
            index = int(str(get_worker().name).rsplit("-", 1)[-1])
        except (ImportError, ValueError):
            index = 0
        return str(gpus[index % len(gpus)])
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return visible if visible and "," not in visible else None
    runtime = os.environ.get("NVIDIA_VISIBLE_DEVICES", "")
    return "all" if runtime and runtime not in ("void", "none") else None


def grade(job):
    """Grade one submission (a Dask task); return ``{student, notebooks, seconds, host}``.

    Parameters
    ----------
    job : dict
        ``assignment``, ``student``, ``notebooks`` (``{name: bytes or None}``),
        ``files`` (``{relative path: bytes}``, the notebooks included),
        ``master`` (``{name: [cell, ...]}``), ``limits`` (a dict of
        :class:`~.limits.Limits`), ``sandboxed``, and optionally ``gpus``.

    Raises
    ------
    GraderError
        When this machine cannot make the sandbox it was asked for.
    """
    started = time.monotonic()
    if job["sandboxed"]:
        problem = sandbox_problem()
        if problem:
            raise GraderError(f"no sandbox on {os.uname().nodename}: {problem}")
    gpu = _gpu(job)
    notebooks = {}
    for name, data in job["notebooks"].items():
        files = {k: v for k, v in job["files"].items() if k != f"{name}.ipynb"}
        notebooks[name] = _grade_notebook(name, data, job["master"][name], files, job, gpu)
    return {"student": job["student"], "notebooks": notebooks, "host": os.uname().nodename,
            "seconds": time.monotonic() - started}

