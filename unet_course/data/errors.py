"""The one error every data loader raises on bad input (lesson 1, "Aerial tiles and masks").

A student who points the course at the wrong folder should read one sentence
that names the file or argument and says what was expected, not a traceback
from deep inside rasterio or TensorFlow.
"""
from __future__ import annotations


class DatasetError(ValueError):
    """Bad data or a bad data argument: names the file and what was expected.

    A subclass of ``ValueError``, so ``except ValueError`` still catches it.

    Examples
    --------
    >>> raise DatasetError("tiles/training/labels/label_1_2.tif is missing: "
    ...                    "expected one label per image")
    Traceback (most recent call last):
    ...
    unet_course.data.errors.DatasetError: tiles/training/labels/label_1_2.tif is missing: expected one label per image
    """
