"""Whole scenes from the seed's tiles: neighbouring tiles merged into one GeoTIFF (lesson 10).

The seed's tiles are 256 px GeoTIFFs on one grid (EPSG:26986, 1.171875 m
pixels); a few lie side by side. :func:`neighbour_groups` finds the tiles
that touch (share an edge), and :func:`merge_tiles` merges a group with
``rasterio.merge.merge`` into one georeferenced raster in the tiles' own
type (the seed's float32) with their nodata value in the gaps: a scene
``unet-course predict`` takes as it is, and its label raster, which
``evaluate-footprints`` scores against.
"""
from __future__ import annotations

import os
from pathlib import Path

from unet_course.footprints import FootprintError

__all__ = ["tile_bounds", "neighbour_groups", "merge_tiles"]


def tile_bounds(paths):
    """``{path: rasterio BoundingBox}`` of each raster."""
    import rasterio
    from rasterio.errors import RasterioIOError

    bounds = {}
    for path in map(Path, paths):
        try:
            with rasterio.open(path) as dataset:
                bounds[path] = dataset.bounds
        except RasterioIOError:
            raise FootprintError(f"{path}: not a raster GDAL can read; expected a tile GeoTIFF") from None
    return bounds


def _touch(a, b, tolerance):
    """Whether two boxes share an edge (not only a corner)."""
    overlap_x = min(a.right, b.right) - max(a.left, b.left)
    overlap_y = min(a.top, b.top) - max(a.bottom, b.bottom)
    return (overlap_x > tolerance and abs(overlap_y) <= tolerance) or \
           (overlap_y > tolerance and abs(overlap_x) <= tolerance)


def neighbour_groups(paths, tolerance=0.01):
    """Groups of tiles that touch, largest first; a tile without neighbours is a group of one.

    ``tolerance`` is in map units (metres for the seed's tiles).
    """
    bounds = tile_bounds(paths)
    names = sorted(bounds)
    group = {name: {name} for name in names}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if group[a] is not group[b] and _touch(bounds[a], bounds[b], tolerance):
                joined = group[a] | group[b]
                for name in joined:
                    group[name] = joined
    unique = {id(g): sorted(g) for g in group.values()}.values()
    return sorted(unique, key=lambda g: (-len(g), str(g[0])))


def merge_tiles(paths, out):
    """Merge rasters on one grid into the GeoTIFF ``out``, nodata in the gaps (lesson 10).

    The result keeps the tiles' type, CRS, pixel size and nodata value
    (``rasterio.merge.merge``), is tiled and deflate-compressed, and appears
    under ``out`` only when complete. Returns ``out``.
    """
    import rasterio
    from rasterio.merge import merge

    paths, out = [Path(p) for p in paths], Path(out)
    if not paths:
        raise FootprintError("merge_tiles got no tiles; expected one or more GeoTIFFs")
    tile_bounds(paths)                                    # every tile readable, or one clear error
    partial = out.with_name(f".{out.stem}.partial{out.suffix}")
    datasets = [rasterio.open(path) for path in paths]
    try:
        nodata = datasets[0].nodata
        array, transform = merge(datasets, nodata=nodata)
        profile = dict(driver="GTiff", width=array.shape[2], height=array.shape[1],
                       count=array.shape[0], dtype=array.dtype, crs=datasets[0].crs,
                       transform=transform, nodata=nodata, tiled=True, compress="deflate")
        with rasterio.open(partial, "w", **profile) as target:
            target.write(array)
        os.replace(partial, out)
    finally:
        for dataset in datasets:
            dataset.close()
        partial.unlink(missing_ok=True)
    return out
