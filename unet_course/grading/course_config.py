"""An nbgrader course directory's own settings: where they are and how they are read.

The instructor's commands (``autograde``, ``export``, ``extend``, ``report``,
``similarity``, ``release``) all take ``--course-dir DIR`` and read
nbgrader's settings from the ``nbgrader_config.py`` there, as nbgrader
itself does (the instructor's guide says how a course directory is laid out).
This module is the one owner of that file's name and of the error a folder
without it gets.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["CONFIG", "course_config"]

#: The nbgrader configuration file of a course directory.
CONFIG = "nbgrader_config.py"


def course_config(course_dir):
    """``(root, config)``: the course directory, resolved, and its ``nbgrader_config.py`` as traitlets
    ``Config``.

    Raises ``FileNotFoundError`` naming the file when ``course_dir`` is not a
    course directory. Reading the file needs traitlets only, not nbgrader,
    so a command that never opens the gradebook starts quickly.
    """
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(course_dir).resolve()
    if not (root / CONFIG).is_file():
        raise FileNotFoundError(f"{root / CONFIG} does not exist: --course-dir must be an nbgrader "
                                f"course directory (where {CONFIG} and gradebook.db are)")
    return root, PyFileConfigLoader(CONFIG, path=str(root)).load_config()
