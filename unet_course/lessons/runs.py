"""Where lessons keep their training runs, and when one lesson may reuse another's (lessons 7, 8).

Lesson 7 "Training" trains a U-Net into ``runs/lesson07-<profile>/``
(``runs/`` is ignored by git). Lesson 8 "Evaluation and error maps" reuses
that model when it exists, finished, and was trained with the same settings
as the current profile; otherwise it trains its own. Every lesson still runs
on its own, top to bottom.

Examples
--------
>>> from unet_course import profile
>>> lesson_run_dir("lesson07", profile("smoke")).as_posix()
'runs/lesson07-smoke'
"""
from __future__ import annotations

import json
from pathlib import Path

__all__ = ["RUNS", "MATCHED_SETTINGS", "lesson_run_dir", "reusable_run"]

#: The folder, relative to the lesson, where runs go (ignored by git).
RUNS = Path("runs")

#: Profile settings that must agree before a run's model is reused.
MATCHED_SETTINGS = ("name", "image_size", "base_filters", "n_tiles", "data", "seed", "epochs")


def lesson_run_dir(lesson, prof, root=RUNS):
    """The run folder of a lesson under the current profile: ``root/<lesson>-<profile>``.

    Parameters
    ----------
    lesson : str
        For example ``"lesson07"``.
    prof : unet_course.Profile
    root : str or pathlib.Path, default ``runs``

    Returns
    -------
    pathlib.Path
    """
    if not isinstance(lesson, str) or not lesson or "/" in lesson or "\\" in lesson:
        raise ValueError(f"lesson must be a folder name such as 'lesson07', got {lesson!r}")
    return Path(root) / f"{lesson}-{prof.name}"


def reusable_run(run_dir, prof):
    """Whether ``run_dir`` holds a finished run trained with the settings of ``prof``.

    Lesson 8 loads lesson 7's model only when this is true: the run finished
    (``run.json`` says ``"finished"`` and ``best.keras`` exists) and its
    profile agrees with ``prof`` on :data:`MATCHED_SETTINGS`.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        A folder written by :func:`unet_course.train.train_unet`.
    prof : unet_course.Profile
        The profile the lesson runs with now.

    Returns
    -------
    bool
    """
    run_dir = Path(run_dir)
    info_path = run_dir / "run.json"
    if not (info_path.is_file() and (run_dir / "best.keras").is_file()):
        return False
    try:
        info = json.loads(info_path.read_text())
    except (OSError, ValueError):
        return False
    settings = info.get("profile_settings") or {}
    if info.get("status") != "finished" or info.get("profile") != prof.name:
        return False
    return all(settings.get(key) == getattr(prof, key) for key in MATCHED_SETTINGS)
