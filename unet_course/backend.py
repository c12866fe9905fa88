"""TensorFlow and Keras, imported once, quietly (every lesson that builds a model).

The modules that need TensorFlow import it from here; the rest of the package
(the profiles, the data readers, the command's ``--help``, assignment 1)
never pays for it. TensorFlow's C++ start-up lines (oneDNN, absl) go straight
to file descriptor 2 before any log level applies, and Jupyter forwards that
descriptor into the notebook, so the import runs with it pointed at
``/dev/null``; a failed import still raises its Python exception once stderr
is back. TensorFlow's Python-side notices (retracing warnings when a lesson
predicts with several small models) are kept below ``ERROR``.

Examples
--------
>>> from unet_course.backend import keras
>>> keras.ops.ones(2).shape
(2,)
"""
from __future__ import annotations

import os
import sys

__all__ = ["tf", "keras", "layers", "ops"]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def import_tensorflow_quietly():
    """Import TensorFlow with file descriptor 2 silenced, unless it is imported already."""
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


import_tensorflow_quietly()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers, ops  # noqa: E402

tf.get_logger().setLevel("ERROR")
