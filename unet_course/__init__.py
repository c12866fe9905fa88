"""unet_course: building footprints from aerial tiles with a U-Net.

The package behind the course: every algorithm the lessons teach and the
assignments grade lives here once, tested against plain numpy.

The package reads top-down: the core pipeline here, then ``lessons/`` for
what a single lesson needs, then ``grading/`` for the nbgrader checks.
Imports run one way: ``lessons`` and ``grading`` use the core, the core never
imports them, and ``grading`` never imports ``lessons`` (a test reads the
imports). Nothing here imports TensorFlow until a module that needs it is
used (:mod:`unet_course.backend`).

The core, in the order the lessons teach it:

- :mod:`unet_course.profiles`      -- smoke / laptop / full settings (every lesson)
- :mod:`unet_course.validate`      -- the shared argument checks: whole numbers, probabilities (every lesson)
- :mod:`unet_course.backend`       -- TensorFlow and Keras, imported once and quietly (lessons 3-9)
- :mod:`unet_course.data`          -- synthetic scenes, real tiles, splits, tf.data (lessons 1, 2, 9)
- :mod:`unet_course.losses`        -- BCE, weighted BCE, Dice, BCE + Dice (lessons 2, 3)
- :mod:`unet_course.model`         -- encoder, bottleneck, decoder blocks, the U-Net (lessons 4-6)
- :mod:`unet_course.rundir`        -- the run folder: its files, readers and writers (lesson 7)
- :mod:`unet_course.train`         -- the seed's training recipe with callbacks (lessons 4, 5, 7)
- :mod:`unet_course.metrics`       -- confusion counts, Dice, IoU, precision, recall (lessons 2, 8)
- :mod:`unet_course.evaluate`      -- predictions, test-metric tables against the seed (lesson 8)
- :mod:`unet_course.viz`           -- tiles, error maps, probability maps, curves (lessons 1, 7, 8)
- :mod:`unet_course.cli`           -- the ``unet-course`` command: demo, train, evaluate, download (lessons 7, 8)

:mod:`unet_course.lessons` lists its modules with their lessons;
:mod:`unet_course.grading` lists the assignments and their checks.
"""
from __future__ import annotations

from unet_course.profiles import Profile, profile

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
