"""Touching buildings apart: a marker-controlled watershed on the probability (lesson 10).

Where two roofs touch, or nearly touch, the thresholded mask joins them into
one region, and one polygon then overlaps each building with IoU < 0.5: both
are missed, one is invented. The probability still shows them apart: each
roof has a *core* where the model is sure (probability >= ``core``), and
between them the probability dips. :func:`split_touching` looks at each
traced region alone, in a window of the probability raster around it:

1. the cores of at least ``min_core`` pixels are the *markers*, one per
   building (a region with fewer than two keeps its outline);
2. a watershed (``skimage.segmentation.watershed``) floods the region from
   the markers in order of decreasing probability, so the regions meet where
   the probability is lowest, along the dip between the roofs;
3. each flooded part becomes a polygon, in map coordinates.

Regions are handled one by one, so memory is bounded by the largest
building, whatever the scene's size.
"""
from __future__ import annotations

import numpy as np

from unet_course.footprints import FootprintError

__all__ = ["INSTANCE_METHODS", "CORE", "split_region", "split_touching"]

#: ``--instances``: ``watershed`` separates touching buildings, ``none`` keeps the mask's regions.
INSTANCE_METHODS = ("watershed", "none")
#: Probability a building's core reaches: the markers of the watershed.
CORE = 0.8


def split_region(probability, inside, core=CORE, min_core=8):
    """Label the parts of one region: int32 ``(h, w)``, 0 outside, 1..k one per building (lesson 10).

    Parameters
    ----------
    probability : numpy.ndarray
        float ``(h, w)`` building probability around the region.
    inside : numpy.ndarray
        Boolean ``(h, w)``: the region's pixels.
    core : float
        Probability a marker pixel reaches.
    min_core : int
        Fewest pixels a marker has (smaller cores are noise, flooded by their neighbours).

    Returns
    -------
    numpy.ndarray
        ``inside`` itself as label 1 when fewer than two markers are found.

    Examples
    --------
    >>> p = np.array([[0.9, 0.9, 0.6, 0.9, 0.9]] * 3)
    >>> split_region(p, p > 0.5, min_core=2).tolist()[0]
    [1, 1, 1, 2, 2]
    """
    from skimage.measure import label
    from skimage.segmentation import watershed

    inside = np.asarray(inside, bool)
    cores = label((probability >= core) & inside, connectivity=1)
    sizes = np.bincount(cores.ravel())
    big = np.flatnonzero(sizes >= min_core)
    big = big[big > 0]
    if len(big) < 2:
        return inside.astype(np.int32)
    markers = np.zeros_like(cores, dtype=np.int32)
    for number, index in enumerate(big, start=1):
        markers[cores == index] = number
    return watershed(-np.asarray(probability, np.float32), markers, mask=inside,
                     connectivity=1).astype(np.int32)


def _around(polygon, transform):
    """The pixel window holding ``polygon``, one pixel wider on each side."""
    from rasterio.windows import Window

    left, bottom, right, top = polygon.bounds
    cols, rows = ~transform * (np.array([left, right]), np.array([top, bottom]))
    col0, row0 = int(np.floor(cols.min())) - 1, int(np.floor(rows.min())) - 1
    return Window(col0, row0, int(np.ceil(cols.max())) + 1 - col0, int(np.ceil(rows.max())) + 1 - row0)


def split_touching(polygons, probability_path, core=CORE, min_core=8):
    """Each polygon of a mask, split into one polygon per building by :func:`split_region` (lesson 10).

    ``polygons`` are traced from the mask of ``probability_path`` (same grid,
    map coordinates); each is rasterised into a window of the probability
    around it. ``min_core`` is in the raster's pixels. Returns the polygons,
    split ones replaced by their parts.
    """
    import rasterio
    from rasterio import features
    from rasterio.windows import Window
    from shapely.geometry import shape

    if not 0 < core <= 1:
        raise FootprintError(f"core must be a probability in (0, 1], got {core!r}")
    out = []
    with rasterio.open(probability_path) as dataset:
        full = Window(0, 0, dataset.width, dataset.height)
        for polygon in polygons:
            window = _around(polygon, dataset.transform).intersection(full)
            transform = dataset.window_transform(window)
            probability = dataset.read(1, window=window)
            inside = features.rasterize([(polygon, 1)], out_shape=probability.shape,
                                        transform=transform, dtype="uint8") > 0
            labels = split_region(probability, inside, core, min_core)
            if labels.max() < 2:
                out.append(polygon)
                continue
            parts = features.shapes(labels, mask=labels > 0, connectivity=4, transform=transform)
            out.extend(shape(geometry) for geometry, _ in parts)
    return out
