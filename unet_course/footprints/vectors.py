"""Polygons to and from GeoJSON and GeoPackage files (lesson 10).

:func:`write_layers` writes one or more layers of polygons with their
attributes through pyogrio (GDAL's vector drivers) in the source CRS, to a
temporary name first, so a crash never leaves half a file under the final
name. :func:`read_polygons` reads the polygons of a GeoJSON, a GeoPackage or
a label raster, with their CRS.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from unet_course.footprints import FootprintError

__all__ = ["DRIVERS", "write_layers", "read_polygons"]

#: File suffix to GDAL vector driver.
DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}
RASTERS = (".tif", ".tiff")


def _driver(path):
    driver = DRIVERS.get(Path(path).suffix.lower())
    if driver is None:
        raise FootprintError(f"{path}: expected a .geojson or .gpkg file name")
    return driver


def _crs_text(crs):
    if crs is None:
        return None
    return crs if isinstance(crs, str) else crs.to_wkt()


def write_layers(path, layers, crs=None):
    """Write ``{layer name: (polygons, {field: values})}`` to a GeoJSON (one layer) or GeoPackage.

    ``crs`` is a rasterio CRS, a string such as ``"EPSG:26919"``, or None
    (pixel coordinates). The file appears under ``path`` only when complete.
    """
    import pyogrio.raw
    import shapely

    path = Path(path)
    driver = _driver(path)
    if driver == "GeoJSON" and len(layers) != 1:
        raise FootprintError(f"{path}: a GeoJSON file holds one layer, got {len(layers)}")
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    partial.unlink(missing_ok=True)
    try:
        for n, (name, (polygons, fields)) in enumerate(layers.items()):
            geometry = np.array(shapely.to_wkb(list(polygons)) if len(polygons) else [], dtype=object)
            names = list(fields)
            values = [np.asarray(fields[key]) for key in names]
            with warnings.catch_warnings():  # "no crs": open_image already said so
                warnings.simplefilter("ignore", UserWarning)
                pyogrio.raw.write(partial, geometry, values, names, layer=name, driver=driver,
                                  geometry_type="Polygon", crs=_crs_text(crs), append=n > 0)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def read_polygons(path, layer=None, min_area=0.0, rule="threshold"):
    """The polygons of a GeoJSON, a GeoPackage or a label raster, and their CRS (lesson 10).

    Returns ``(list of shapely.Polygon, crs)``; multipolygons are split into
    their parts, and ``crs`` is a rasterio CRS or None. A label raster (.tif:
    coverage in [0, 1], 0/1 or 0/255, made binary by ``rule``) is traced with
    :func:`~unet_course.footprints.polygons.raster_polygons`.
    """
    import shapely
    from rasterio.crs import CRS

    path = Path(path)
    if not path.is_file():
        raise FootprintError(f"{path}: no such file; expected footprints as .geojson, .gpkg "
                             "or a label raster .tif")
    if path.suffix.lower() in RASTERS:
        from unet_course.footprints.polygons import raster_polygons
        return raster_polygons(path, min_area, rule)
    driver = _driver(path)
    import pyogrio.raw
    try:
        meta, _, geometry, _ = pyogrio.raw.read(path, layer=0 if layer is None else layer)
    except Exception:  # pyogrio's DataSourceError, DataLayerError, ...
        raise FootprintError(f"{path}: not a vector file GDAL can read (no {driver} layer "
                             f"{'0' if layer is None else repr(layer)} in it, or a damaged file); "
                             "expected polygons of buildings") from None
    shapes = shapely.from_wkb(geometry) if len(geometry) else []
    polygons = []
    for shape in shapes:
        if shape is None or shape.is_empty:
            continue
        if shape.geom_type not in ("Polygon", "MultiPolygon"):
            raise FootprintError(f"{path}: holds a {shape.geom_type}; expected polygons of buildings")
        polygons.extend(getattr(shape, "geoms", [shape]))
    crs = CRS.from_user_input(meta["crs"]) if meta.get("crs") else None
    if driver == "GeoJSON" and b'"crs"' not in path.read_bytes()[:4096]:
        crs = None          # GDAL says WGS 84 for a GeoJSON without "crs": ours are pixel coordinates
    return [p for p in polygons if p.area >= min_area], crs
