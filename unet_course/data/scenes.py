"""Synthetic scenes of any size as georeferenced GeoTIFFs, with their true footprints (lesson 10).

The embedded default of the course, at the size of a real aerial image: one
planned neighbourhood (:func:`unet_course.data.layout.plan_scene`) drawn
tile by tile with :func:`unet_course.data.synthetic.render_tile` and written
strip by strip, so even a 10,000 x 10,000 scene is never held whole. Three
files come out, on the same grid and in the same CRS:

- the RGB image (GeoTIFF, tiled, deflate-compressed);
- the label raster (1 on building pixels, the masks the tiles use);
- the true building polygons (GeoJSON): the footprints of the planned
  rectangles, overlapping ones merged, clipped to the scene.

The default grid imitates the Massachusetts Buildings imagery: 300 m per 256
pixels in NAD83 / Massachusetts Mainland (EPSG:26986). Without
``georeferenced`` the files have no CRS and the polygons are in pixel
coordinates (x = column, y = row).
"""
from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np

from unet_course.data import layout
from unet_course.data.errors import DatasetError
from unet_course.data.raster import TILE_UNITS
from unet_course.data.synthetic import TILE_METRES, render_tile
from unet_course.validate import whole_number

__all__ = ["SCENE_CRS", "SCENE_ORIGIN", "scene_transform", "scene_footprints",
           "write_synthetic_scene"]

#: NAD83 / Massachusetts Mainland, the CRS of the Massachusetts Buildings GeoTIFFs.
SCENE_CRS = "EPSG:26986"
#: Map coordinates (metres) of a scene's top-left corner.
SCENE_ORIGIN = (236000.0, 902000.0)


def scene_transform(tile_px=256, origin=SCENE_ORIGIN):
    """The affine transform of a scene drawn at ``tile_px`` pixels per 300 m tile."""
    from affine import Affine

    metres = TILE_METRES / tile_px
    return Affine(metres, 0.0, origin[0], 0.0, -metres, origin[1])


def scene_footprints(scene, width, height, tile_px=256, transform=None):
    """The true building polygons of a planned scene, clipped to ``width`` x ``height`` pixels.

    Rectangles of the building layers (houses, sheds, large roofs, rooftop
    units) become polygons; overlapping ones are merged into one building.
    Coordinates are map coordinates through ``transform``, or pixels (x =
    column, y = row) when it is None.
    """
    import shapely
    from shapely.geometry import box

    rects = scene["rects"]
    pick = rects["layer"] >= layout.HOUSE
    x, y, hu, hv, angle = (np.asarray(rects[key][pick], np.float64)
                           for key in ("x", "y", "hu", "hv", "angle"))
    u = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    v = np.stack([-np.sin(angle), np.cos(angle)], axis=1)
    centre = np.stack([x, y], axis=1)
    corners = np.stack([centre + su * hu[:, None] * u + sv * hv[:, None] * v
                        for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))], axis=1)
    corners *= tile_px / TILE_UNITS                                   # units to pixels
    merged = shapely.unary_union(shapely.polygons(corners))
    clipped = shapely.intersection(merged, box(0, 0, width, height))
    parts = [p for p in getattr(clipped, "geoms", [clipped])
             if p.geom_type == "Polygon" and p.area > 0]
    if transform is not None:
        matrix = [transform.a, transform.b, transform.d, transform.e, transform.c, transform.f]
        parts = [shapely.affinity.affine_transform(p, matrix) for p in parts]
    return sorted(parts, key=lambda p: -p.area)


def _gtiff(width, height, count, crs, transform):
    return dict(driver="GTiff", width=width, height=height, count=count, dtype="uint8", crs=crs,
                transform=transform, tiled=True, blockxsize=256, blockysize=256, compress="deflate")


def write_synthetic_scene(folder, width, height, seed=0, tile_px=256, georeferenced=True,
                          name="scene", progress=False):
    """Draw a synthetic scene and write its image, labels and true footprints (lesson 10).

    Parameters
    ----------
    folder : path
        Created if needed; receives ``NAME.tif``, ``NAME_labels.tif`` and
        ``NAME_footprints.geojson`` (each under its name only when complete).
    width, height : int
        Pixels, 16 or more each.
    seed : int
        The scene is a function of ``(width, height, seed, tile_px)``.
    tile_px : int
        Pixels per 300 m tile: 256 is the real data's resolution.
    georeferenced : bool
        False writes no CRS, and polygons in pixel coordinates.

    Returns
    -------
    dict
        ``image``, ``labels``, ``footprints`` (paths), ``buildings`` (count),
        ``crs`` (None without georeference) and ``transform``.
    """
    import rasterio
    from affine import Affine
    from rasterio.errors import NotGeoreferencedWarning
    from tqdm.auto import tqdm

    from unet_course.footprints.vectors import write_layers

    width = whole_number(width, "width", 16, DatasetError)
    height = whole_number(height, "height", 16, DatasetError)
    seed = whole_number(seed, "seed", 0, DatasetError)
    tile_px = whole_number(tile_px, "tile_px", 16, DatasetError)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    nx, ny = math.ceil(width / tile_px), math.ceil(height / tile_px)
    rng = np.random.default_rng([seed, 3, width, height])
    scene = layout.plan_scene(rng, nx, ny)
    crs = SCENE_CRS if georeferenced else None
    transform = scene_transform(tile_px) if georeferenced else Affine.identity()
    paths = {"image": folder / f"{name}.tif", "labels": folder / f"{name}_labels.tif"}
    partial = {key: path.with_name(f".{path.stem}.partial{path.suffix}") for key, path in paths.items()}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)     # asked for: no CRS
            image_ds = rasterio.open(partial["image"], "w", **_gtiff(width, height, 3, crs, transform))
            label_ds = rasterio.open(partial["labels"], "w", **_gtiff(width, height, 1, crs, transform))
        with rasterio.Env(GDAL_CACHEMAX=64), image_ds, label_ds:
            for row in tqdm(range(ny), desc="scene rows", unit="row", disable=not progress):
                tiles = [render_tile(scene, (col, row), tile_px, rng) for col in range(nx)]
                rows = min(tile_px, height - row * tile_px)
                strip = np.concatenate([t[0] for t in tiles], axis=1)[:rows, :width]
                labels = np.concatenate([t[1] for t in tiles], axis=1)[:rows, :width]
                window = rasterio.windows.Window(0, row * tile_px, width, rows)
                image_ds.write(np.moveaxis(strip, -1, 0), window=window)
                label_ds.write(labels, 1, window=window)
        for key, path in paths.items():
            os.replace(partial[key], path)
    finally:
        for path in partial.values():
            path.unlink(missing_ok=True)
    polygons = scene_footprints(scene, width, height, tile_px, transform if georeferenced else None)
    footprints = write_layers(folder / f"{name}_footprints.geojson",
                              {"footprints": (polygons, {"area": np.array([p.area for p in polygons])})},
                              crs)
    return {**paths, "footprints": footprints, "buildings": len(polygons), "crs": crs,
            "transform": transform}
