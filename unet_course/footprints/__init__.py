"""From an aerial image to building footprints (lesson 10 "From aerial image to building footprints").

A trained U-Net predicts 256 px tiles; the people who use footprints want them
on whole scenes, as georeferenced polygons, scored per building. This
subpackage does that, one module a step:

- :mod:`~unet_course.footprints.scene`     -- open and check an image, load a model, read the
  ground resolution it was trained at from its ``run.json``;
- :mod:`~unet_course.footprints.inference` -- overlapping windows, blended with a smooth
  weight, predicted in batches, read from and written to disk strip by strip;
- :mod:`~unet_course.footprints.polygons`  -- mask to polygons, area filter, simplification,
  right-angle regularisation;
- :mod:`~unet_course.footprints.vectors`   -- polygons to and from GeoJSON and GeoPackage;
- :mod:`~unet_course.footprints.matching`  -- one-to-one IoU >= 0.5 matching (SpaceNet's
  rule), precision, recall and F1 over buildings, recall by size;
- :mod:`~unet_course.footprints.instances` -- touching buildings apart: a watershed on the
  probability from its cores;
- :mod:`~unet_course.footprints.cog`       -- the rasters as Cloud-Optimized GeoTIFFs;
- :mod:`~unet_course.footprints.mosaic`    -- neighbouring tiles of the seed merged into scenes;
- :mod:`~unet_course.footprints.batch`     -- one task per scene, here or on a Dask cluster, resumable;
- :mod:`~unet_course.footprints.webmap`    -- the footprints on an interactive map, offline;
- :mod:`~unet_course.footprints.commands`  -- ``unet-course predict`` and
  ``unet-course evaluate-footprints``.

Bad input raises :class:`FootprintError` naming the file or argument; an image
without georeference gives a :class:`FootprintWarning` and pixel coordinates.
"""
from __future__ import annotations


class FootprintError(ValueError):
    """Bad input to the footprint tools: names the file or argument and what was expected."""


class FootprintWarning(UserWarning):
    """Something the user should know about an image (no georeference, nodata pixels)."""


__all__ = ["FootprintError", "FootprintWarning"]
