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
- :mod:`unet_course.setup_runtime` -- the first cell: install when missing, pick the profile for the machine (every lesson)
- :mod:`unet_course.validate`      -- the shared argument checks: whole numbers, probabilities (every lesson)
- :mod:`unet_course.source`        -- ``show_source``: the package's code, shown in the lesson (every lesson)
- :mod:`unet_course.backend`       -- TensorFlow and Keras, imported once and quietly (lessons 3-10)
- :mod:`unet_course.data`          -- synthetic scenes, real tiles, splits, tf.data, GeoTIFF scenes (lessons 1, 2, 9, 10)
- :mod:`unet_course.losses`        -- BCE, weighted BCE, Dice, BCE + Dice (lessons 2, 3)
- :mod:`unet_course.model`         -- encoder, bottleneck, decoder blocks, the U-Net (lessons 4-6)
- :mod:`unet_course.rundir`        -- the run folder: its files, readers and writers (lesson 7)
- :mod:`unet_course.accelerator`   -- precision, XLA and input path chosen for the machine, or forced (lesson 7)
- :mod:`unet_course.tuning`        -- the ways to train, measured on first use and cached per machine (lesson 7)
- :mod:`unet_course.estimate`      -- how long a run will take, from its own steps (lesson 7)
- :mod:`unet_course.recipes`       -- named ways to train beyond the profile: the seed's, and best-laptop for real tiles (lesson 9)
- :mod:`unet_course.train`         -- the seed's training recipe with callbacks (lessons 4, 5, 7)
- :mod:`unet_course.metrics`       -- confusion counts, Dice, IoU, precision, recall (lessons 2, 8)
- :mod:`unet_course.evaluate`      -- predictions, test-metric tables against the seed (lesson 8)
- :mod:`unet_course.viz`           -- tiles, error maps, probability maps, curves (lessons 1, 7, 8)
- :mod:`unet_course.footprints`    -- from an aerial image to building footprints (lesson 10):
- :mod:`unet_course.footprints.scene`     -- the image, the model and its training resolution (lesson 10)
- :mod:`unet_course.footprints.inference` -- overlapping blended windows, strip by strip (lesson 10)
- :mod:`unet_course.footprints.polygons`  -- mask to polygons, area filter, simplify, regularise (lesson 10)
- :mod:`unet_course.footprints.vectors`   -- polygons to and from GeoJSON and GeoPackage (lesson 10)
- :mod:`unet_course.footprints.matching`  -- per-building scores: one-to-one IoU >= 0.5 matching (lesson 10)
- :mod:`unet_course.footprints.instances` -- touching buildings apart: a watershed on the probability (lesson 10)
- :mod:`unet_course.footprints.cog`       -- probability and mask as Cloud-Optimized GeoTIFFs (lesson 10)
- :mod:`unet_course.footprints.mosaic`    -- neighbouring tiles of the seed merged into scenes (lesson 10)
- :mod:`unet_course.footprints.batch`     -- one task per scene, here or on a Dask cluster, resumable (lesson 10)
- :mod:`unet_course.footprints.webmap`    -- the footprints on an interactive map, offline (lesson 10)
- :mod:`unet_course.footprints.commands`  -- ``unet-course predict`` and ``evaluate-footprints`` (lesson 10)
- :mod:`unet_course.cluster`       -- a local or existing Dask cluster for many tasks: scenes, submissions (lesson 10)
- :mod:`unet_course.cli`           -- the ``unet-course`` command: demo, train, evaluate, download, predict, evaluate-footprints (lessons 7, 8, 10)

:mod:`unet_course.lessons` lists its modules with their lessons;
:mod:`unet_course.grading` lists the assignments and their checks.
"""
from __future__ import annotations

from importlib import metadata as _metadata

from unet_course.profiles import Profile, profile


def declared():
    """``(version, urls)`` as pyproject.toml declares them, read from the installed package's metadata.

    pyproject.toml is the one owner of the version and the repository (``[project.urls]``); the
    package, the lessons' first cells and the site read them from there.
    """
    try:
        found = _metadata.metadata("unet_course")
    except _metadata.PackageNotFoundError:
        raise ImportError("unet_course is not installed (its version comes from the installed metadata): "
                          "run `make demo` or `pip install -e .` in the repository") from None
    urls = dict(entry.split(", ", 1) for entry in found.get_all("Project-URL") or [])
    if "Repository" not in urls:
        raise ImportError("unet_course's installed metadata predates pyproject.toml's [project.urls]: "
                          "run `make demo` or `pip install -e .` again") from None
    return found["Version"], urls


__version__ = declared()[0]

__all__ = ["Profile", "profile", "check_version", "setup_runtime", "show_source", "__version__"]


def __getattr__(name):
    """``show_source`` and ``setup_runtime``, loaded on first use so ``import unet_course`` stays light."""
    if name == "show_source":
        from unet_course.source import show_source

        return show_source
    if name == "setup_runtime":
        from unet_course.setup_runtime import setup_runtime

        return setup_runtime
    raise AttributeError(f"module 'unet_course' has no attribute {name!r}")


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
