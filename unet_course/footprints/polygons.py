"""From a building mask to clean polygons (lesson 10 "From aerial image to building footprints").

Three steps, each a shapely 2 / rasterio call:

1. :func:`mask_to_polygons`: the connected regions of building pixels become
   polygons along the pixel edges (``rasterio.features.shapes``, 4-connected:
   pixels touching only at a corner are separate buildings), in map
   coordinates when a transform is given, and regions under ``min_area``
   are dropped (specks of noise are not buildings);
2. :func:`simplify_polygons`: the staircase of pixel edges is simplified
   (Douglas-Peucker, ``tolerance`` in the polygons' units, topology kept);
3. :func:`regularise_polygon`: an outline that nearly fills its minimum
   rotated rectangle becomes that rectangle; any other (an L, a T) has its
   edges snapped to the two directions of that rectangle, so every corner is
   a right angle. An outline the snap would change too much is left as it is.

:func:`clean_polygons` chains 2 and 3 with the area filter; :func:`raster_polygons`
does step 1 on a mask GeoTIFF without reading it into memory.
"""
from __future__ import annotations

import math
from numbers import Real
from pathlib import Path

import numpy as np

from unet_course.footprints import FootprintError

__all__ = ["mask_to_polygons", "raster_polygons", "simplify_polygons", "regularise_polygon",
           "clean_polygons", "RECTANGULARITY"]

#: Area over minimum-rotated-rectangle area above which an outline becomes its rectangle.
RECTANGULARITY = 0.85
#: Least IoU between an outline and its regularised version for the latter to be kept.
KEEP_IOU = 0.75


def _non_negative(value, name):
    if isinstance(value, bool) or not isinstance(value, Real) or not value >= 0:
        raise FootprintError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def _polygons(shapes, min_area):
    from shapely.geometry import shape

    polygons = [shape(geometry) for geometry, _ in shapes]
    return [polygon for polygon in polygons if polygon.area >= min_area]


def mask_to_polygons(mask, transform=None, min_area=0.0):
    """The buildings of a 0/1 mask as shapely polygons, largest first (lesson 10).

    Parameters
    ----------
    mask : array-like
        ``(H, W)``; non-zero pixels are building.
    transform : affine.Affine, optional
        Pixel to map coordinates; default: pixel coordinates (x = column,
        y = row, a pixel is a 1 x 1 square).
    min_area : float
        Smallest area kept, in the polygons' units (pixels without transform).

    Returns
    -------
    list of shapely.Polygon
        One per 4-connected region, holes included, sorted by decreasing area.
    """
    from affine import Affine
    from rasterio import features

    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise FootprintError(f"mask has shape {mask.shape}; expected (height, width)")
    min_area = _non_negative(min_area, "min_area")
    binary = (mask != 0).astype(np.uint8)
    shapes = features.shapes(binary, mask=binary.astype(bool), connectivity=4,
                             transform=transform or Affine.identity())
    return sorted(_polygons(shapes, min_area), key=lambda p: -p.area)


def raster_polygons(path, min_area=0.0, rule="threshold"):
    """The buildings of a mask or label raster on disk, in its CRS (lesson 10).

    The pixels follow the course's label rule
    (:func:`unet_course.data.geotiff.label_coverage`): building coverage in
    [0, 1] (the seed's fractional float32 labels), 0/1 or 0/255; nodata is no
    building. ``rule`` makes coverage binary as in training
    (:func:`unet_course.data.tiles.binarize_label`: ``threshold`` or
    ``truncate``). The raster is converted strip by strip into a temporary 0/1
    GeoTIFF that GDAL traces line by line, so a 10,000 x 10,000 raster is
    never held whole. Returns ``(polygons, crs)``; ``crs`` is None without
    georeference.
    """
    import tempfile

    import rasterio
    from rasterio import features

    min_area = _non_negative(min_area, "min_area")
    with tempfile.TemporaryDirectory(prefix="unet-course-mask-") as tmp:
        binary = Path(tmp) / "mask.tif"
        crs = _binary_mask(path, binary, rule)
        with rasterio.open(binary) as dataset:
            band = rasterio.band(dataset, 1)
            shapes = features.shapes(band, mask=band, connectivity=4, transform=dataset.transform)
            polygons = _polygons(((g, v) for g, v in shapes if v), min_area)
    return sorted(polygons, key=lambda p: -p.area), crs


def _binary_mask(path, out, rule, rows=256):
    """Write the 0/1 mask of the label raster ``path`` to ``out``, ``rows`` rows at a time; return its CRS."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
    from rasterio.windows import Window

    from unet_course.data.errors import DatasetError
    from unet_course.data.geotiff import label_coverage
    from unet_course.data.tiles import binarize_label

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        try:
            source = rasterio.open(path)
        except RasterioIOError:
            raise FootprintError(f"{path}: not a raster GDAL can read (not an image format it "
                                 "knows, or a damaged file); expected a label raster") from None
        with source:
            if source.count != 1:
                raise FootprintError(f"{path}: a label raster has 1 band, this one has {source.count}")
            profile = dict(driver="GTiff", width=source.width, height=source.height, count=1,
                           dtype="uint8", crs=source.crs, transform=source.transform, tiled=True,
                           compress="deflate")
            with rasterio.open(out, "w", **profile) as target:
                for row in range(0, source.height, rows):
                    window = Window(0, row, source.width, min(rows, source.height - row))
                    try:
                        coverage, _ = label_coverage(source.read(1, window=window), source.nodata,
                                                     f"{path} (rows {row}-{row + window.height - 1})")
                        target.write(binarize_label(coverage, rule), 1, window=window)
                    except DatasetError as error:
                        raise FootprintError(str(error)) from None
            return source.crs


def simplify_polygons(polygons, tolerance):
    """Each polygon simplified to within ``tolerance`` of its outline, topology kept (lesson 10)."""
    tolerance = _non_negative(tolerance, "tolerance")
    simple = [polygon.simplify(tolerance, preserve_topology=True) for polygon in polygons]
    return [polygon for polygon in simple if not polygon.is_empty and polygon.area > 0]


def _rotate(coords, angle):
    """Rotate ``(n, 2)`` coordinates by ``angle`` radians about the origin."""
    c, s = math.cos(angle), math.sin(angle)
    return coords @ np.array([[c, s], [-s, c]])


def _snap_ring(coords):
    """Axis-aligned ring from a roughly axis-aligned one: each edge horizontal or vertical.

    Consecutive edges of one kind merge; a horizontal run sits at its
    length-weighted mean y, a vertical run at its mean x; corners are where
    they meet. Returns None when the runs do not alternate into a closed ring.
    """
    edges = np.diff(coords, axis=0)
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    keep = lengths > 0
    edges, lengths, starts = edges[keep], lengths[keep], coords[:-1][keep]
    horizontal = np.abs(edges[:, 0]) >= np.abs(edges[:, 1])
    middles = starts + edges / 2
    runs = []                                   # (is horizontal, weighted sum, total length)
    for h, middle, length in zip(horizontal, middles, lengths):
        value = middle[1] if h else middle[0]
        if runs and runs[-1][0] == h:
            runs[-1][1] += value * length
            runs[-1][2] += length
        else:
            runs.append([h, value * length, length])
    if len(runs) > 1 and runs[0][0] == runs[-1][0]:
        first = runs.pop(0)
        runs[-1][1] += first[1]
        runs[-1][2] += first[2]
    if len(runs) < 4 or len(runs) % 2:
        return None
    levels = [(h, total / length) for h, total, length in runs]
    corners = []
    for (h1, v1), (h2, v2) in zip(levels, levels[1:] + levels[:1]):
        corners.append((v2, v1) if h1 else (v1, v2))
    return np.array(corners + corners[:1])


def regularise_polygon(polygon, rectangularity=RECTANGULARITY):
    """A building outline with right angles (lesson 10).

    An outline filling at least ``rectangularity`` of its minimum rotated
    rectangle becomes the rectangle. Otherwise its edges are snapped to the
    rectangle's two directions (:func:`_snap_ring`). The original comes back
    when the snapped outline is invalid or overlaps it with IoU under
    :data:`KEEP_IOU`. Holes are kept as they are.
    """
    from shapely.geometry import Polygon

    if polygon.is_empty or polygon.area == 0:
        return polygon
    rectangle = polygon.minimum_rotated_rectangle
    if polygon.area >= rectangularity * rectangle.area:
        return rectangle
    corner = np.asarray(rectangle.exterior.coords)
    angle = math.atan2(corner[1, 1] - corner[0, 1], corner[1, 0] - corner[0, 0])
    origin = np.asarray(polygon.centroid.coords[0])
    ring = _snap_ring(_rotate(np.asarray(polygon.exterior.coords) - origin, -angle))
    if ring is None:
        return polygon
    snapped = Polygon(_rotate(ring, angle) + origin, [hole.coords for hole in polygon.interiors])
    if not snapped.is_valid:
        return polygon
    overlap = snapped.intersection(polygon).area
    if overlap / (snapped.area + polygon.area - overlap) < KEEP_IOU:
        return polygon
    return snapped


def clean_polygons(polygons, min_area=0.0, tolerance=0.0, regularise=False):
    """Simplify (``tolerance``), optionally regularise, then drop those under ``min_area`` (lesson 10)."""
    min_area = _non_negative(min_area, "min_area")
    polygons = simplify_polygons(polygons, tolerance) if tolerance else list(polygons)
    if regularise:
        polygons = [regularise_polygon(polygon) for polygon in polygons]
    return [polygon for polygon in polygons if polygon.area >= min_area]
