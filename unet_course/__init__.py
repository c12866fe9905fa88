"""unet_course: building footprints from aerial tiles with a U-Net.

The package behind the course: every algorithm the lessons teach and the
assignments grade lives here once, tested against plain numpy.

Modules, in the order the lessons teach them:

- :mod:`unet_course.profiles`      -- smoke / laptop / full settings (every lesson)
- :mod:`unet_course.data`          -- synthetic scenes, real tiles, splits, tf.data, GeoTIFF scenes (lessons 1, 2, 9, 10)
- :mod:`unet_course.losses`        -- BCE, weighted BCE, Dice, BCE + Dice (lesson 3)
- :mod:`unet_course.objects`       -- buildings as connected components, recall by size (lesson 3)
- :mod:`unet_course.widgets`       -- the loss and threshold explorers (lessons 3, 8)
- :mod:`unet_course.initializers`  -- signal statistics through a deep conv stack (lesson 4)
- :mod:`unet_course.dropout`       -- spatial dropout next to ordinary dropout (lesson 5)
- :mod:`unet_course.model`         -- encoder, bottleneck, decoder blocks, the U-Net (lessons 4-6)
- :mod:`unet_course.architecture`  -- shapes and parameter counts block by block (lesson 6)
- :mod:`unet_course.unet_figure`   -- the U drawn with its shapes (lesson 6)
- :mod:`unet_course.schedules`     -- the learning-rate schedule, drawn (lesson 7)
- :mod:`unet_course.train`         -- the seed's training recipe with callbacks (lesson 7)
- :mod:`unet_course.interrupt`     -- interrupting a run for real to show it resumes (lesson 7)
- :mod:`unet_course.runs`          -- where lessons keep runs and when they reuse them (lessons 7, 8)
- :mod:`unet_course.metrics`       -- confusion counts, Dice, IoU, precision, recall (lessons 2, 8)
- :mod:`unet_course.aggregation`   -- dataset Dice versus the mean of per-batch Dice (lesson 8)
- :mod:`unet_course.thresholds`    -- precision / recall / Dice as the threshold moves (lesson 8)
- :mod:`unet_course.evaluate`      -- test-metric tables against the seed (lesson 8)
- :mod:`unet_course.viz`           -- tiles, error maps, probability maps, curves (lessons 1, 7, 8)
- :mod:`unet_course.augmentation`  -- checking and measuring augmentation (lesson 9)
- :mod:`unet_course.footprints`    -- whole scenes, polygons, per-building scores (lesson 10)
- :mod:`unet_course.grading`       -- the checks behind the graded assignments
- :mod:`unet_course.cli`           -- the ``unet-course`` command (demo, train, evaluate, download, predict, ...)
"""
from __future__ import annotations

import os

# Keep TensorFlow's C++ log noise out of students' notebooks (set before any
# submodule imports tensorflow; a value the user chose is left alone).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_tensorflow_quietly():
    """Import TensorFlow with the C++ start-up lines (oneDNN, absl) kept off stderr.

    TensorFlow prints them from C++ straight to file descriptor 2, before its
    log level applies, and Jupyter forwards that descriptor into the notebook.
    A failed import still raises its Python exception once stderr is back.
    """
    import sys

    if "tensorflow" in sys.modules:
        return
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (some embedded interpreters)
        import tensorflow  # noqa: F401
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_import_tensorflow_quietly()
# TensorFlow's Python-side notices (e.g. "5 out of the last 5 calls ... triggered
# tf.function retracing" when a lesson predicts with several small models) are
# not the student's business; errors still show.
import tensorflow as _tf  # noqa: E402

_tf.get_logger().setLevel("ERROR")

from unet_course.profiles import Profile, profile  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Profile", "profile", "check_version", "__version__"]


def check_version(written_for: str) -> str:
    """Check that the installed package is the one a lesson was written for.

    Compares major and minor numbers; raises ``RuntimeError`` naming both
    versions when they differ. Every lesson's first code cell calls it.

    Examples
    --------
    >>> check_version("0.1")
    '0.1.0'
    """
    want = written_for.split(".")[:2]
    have = __version__.split(".")[:2]
    if want != have:
        raise RuntimeError(
            f"this notebook was written for unet_course {written_for}, but "
            f"{__version__} is installed; run `make demo` or "
            f"`pip install -e .` in the course repository to match them"
        )
    return __version__
