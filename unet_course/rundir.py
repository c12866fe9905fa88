"""The run folder: what a training run writes, and the one reader and writer of each file.

Lesson 7 "Training" opens one. A run folder holds

- ``best.keras``: the model of the best epoch (lowest validation loss);
- ``history.csv``: one row of losses and metrics per epoch;
- ``backup/``: the state after the last finished epoch, for ``resume=True``;
- ``run.json``: what ran where (profile and its settings, data, versions,
  device, precision, XLA, epochs, seconds, best epoch, status).

:mod:`unet_course.train` writes it; :mod:`unet_course.evaluate`,
:mod:`unet_course.viz`, :mod:`unet_course.cli` and the lessons read it, all
through this module, so a file name or the format is decided here only.

Examples
--------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> write_run_info(folder, {"status": "running", "profile": "smoke"})
>>> read_run_info(folder)["status"]
'running'
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

__all__ = ["BEST_MODEL", "HISTORY", "RUN_INFO", "BACKUP", "read_history", "write_history",
           "read_run_info", "write_run_info", "check_run_dir"]

BEST_MODEL = "best.keras"
HISTORY = "history.csv"
RUN_INFO = "run.json"
BACKUP = "backup"


def read_history(path):
    """Read ``history.csv`` into ``{"epoch": [...], "loss": [...], ...}`` (lesson 7).

    ``path`` is the CSV itself or its run folder. Rows are sorted by epoch,
    counted from 0 as Keras does. When an epoch appears twice (a run killed
    between writing its row and backing up its state repeats that epoch on
    resume), the last row wins.
    """
    path = Path(path)
    if path.is_dir():
        path = path / HISTORY
    if not path.is_file():
        raise FileNotFoundError(f"no training history at {path}: expected a CSV written by train_unet")
    with path.open(newline="") as file:
        rows = {int(row["epoch"]): row for row in csv.DictReader(file)}
    columns = list(next(iter(rows.values())).keys()) if rows else ["epoch"]
    ordered = [rows[epoch] for epoch in sorted(rows)]
    return {key: [(int if key == "epoch" else float)(row[key]) for row in ordered] for key in columns}


def _replace(path, text):
    """Write ``text`` to ``path`` through a temporary file: never half a file under its name."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, newline="")
    os.replace(partial, path)


def write_history(path, history):
    """Write ``{"epoch": [...], "loss": [...], ...}`` as ``history.csv`` (one row per epoch)."""
    path = Path(path)
    if path.is_dir():
        path = path / HISTORY
    rows = [",".join(history.keys())]
    rows += [",".join(str(value) for value in row) for row in zip(*history.values())]
    _replace(path, "\r\n".join(rows) + "\r\n")


def read_run_info(run_dir):
    """``run_dir/run.json`` as a dict, or None when there is none (lesson 7)."""
    path = Path(run_dir) / RUN_INFO
    return json.loads(path.read_text()) if path.is_file() else None


def write_run_info(run_dir, info):
    """Write ``info`` as ``run_dir/run.json`` (indented JSON, replaced whole)."""
    _replace(Path(run_dir) / RUN_INFO, json.dumps(info, indent=2) + "\n")


def check_run_dir(run_dir, prof, resume):
    """Refuse to overwrite a run, or to resume a run of another profile (lesson 7).

    Returns the run's ``run.json`` content (None when there is none); raises
    ``FileExistsError`` saying what to do instead.
    """
    run_dir = Path(run_dir)
    traces = [name for name in (RUN_INFO, HISTORY, BEST_MODEL, BACKUP) if (run_dir / name).exists()]
    if traces and not resume:
        raise FileExistsError(
            f"{run_dir} already holds a training run ({', '.join(traces)}); pass resume=True "
            "(command line: --resume) to continue it, or choose another output folder")
    info = read_run_info(run_dir)
    if resume and info and info.get("profile") != prof.name:
        raise FileExistsError(
            f"the run in {run_dir} was trained with profile {info.get('profile')!r}, not "
            f"{prof.name!r}: resume it with the same profile, or choose another output folder")
    return info
