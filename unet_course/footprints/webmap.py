"""Footprints on an interactive map in the notebook, offline (lesson 10).

:func:`footprint_map` returns an ``ipyleaflet`` map without a basemap (no
tile server is needed): the scene itself is the background, as a local image
overlay, and the footprints are GeoJSON layers on top, one per kind (matched,
invented, missed), switched on and off with a layer control. Leaflet draws
in Web Mercator, so the image is warped to EPSG:3857 first (``rasterio.warp``),
and the polygons are given in longitude and latitude (EPSG:4326), as GeoJSON
wants.
"""
from __future__ import annotations

import base64
import io

import numpy as np

__all__ = ["scene_overlay", "polygons_geojson", "footprint_map"]

#: Longest side of the image overlay, in pixels: a larger scene is shown shrunk.
OVERLAY_SIDE = 1024


def _png_url(rgba):
    """A ``data:`` URL of an RGBA uint8 image (the notebook needs no file server)."""
    from matplotlib import image

    buffer = io.BytesIO()
    image.imsave(buffer, rgba, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def scene_overlay(image_path, side=OVERLAY_SIDE):
    """The scene as an ``ipyleaflet.ImageOverlay``: warped to Web Mercator, no data transparent.

    The pixels are read by the course's image rule
    (:func:`unet_course.data.geotiff.image_pixels`), so the seed's float32
    mosaics work as they are.
    """
    import rasterio
    from ipyleaflet import ImageOverlay
    from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds

    from unet_course.data.geotiff import image_pixels

    with rasterio.open(image_path) as dataset:
        rgb, valid = image_pixels(dataset.read(), dataset.nodata, str(image_path))
        alpha = np.full(rgb.shape[:2], 255, np.uint8)
        if valid is not None:
            alpha[~valid] = 0                               # the gaps of a mosaic: transparent
        source = np.dstack([rgb, alpha])
        crs, transform = dataset.crs, dataset.transform
        shrink = max(1.0, max(dataset.width, dataset.height) / side)
        width, height = dataset.width, dataset.height
        target, cols, rows = calculate_default_transform(
            crs, "EPSG:3857", width, height, *dataset.bounds,
            dst_width=int(width / shrink), dst_height=int(height / shrink))
    warped = np.zeros((4, rows, cols), np.uint8)
    reproject(np.moveaxis(source, -1, 0), warped, src_transform=transform, src_crs=crs,
              dst_transform=target, dst_crs="EPSG:3857", resampling=Resampling.average)
    left, top = target * (0, 0)
    right, bottom = target * (cols, rows)
    west, south, east, north = transform_bounds("EPSG:3857", "EPSG:4326", left, bottom, right, top)
    return ImageOverlay(url=_png_url(np.moveaxis(warped, 0, -1)), bounds=((south, west), (north, east)),
                        name="scene")


def polygons_geojson(polygons, crs):
    """A GeoJSON FeatureCollection of shapely polygons in ``crs``, in longitude and latitude."""
    from rasterio.warp import transform_geom
    from shapely.geometry import mapping

    features = [{"type": "Feature", "properties": {"area": round(polygon.area, 1)},
                 "geometry": transform_geom(crs, "EPSG:4326", mapping(polygon))}
                for polygon in polygons]
    return {"type": "FeatureCollection", "features": features}


def footprint_map(image_path, layers, crs, height="500px"):
    """An interactive map of a scene and its footprints, with no basemap (lesson 10).

    Parameters
    ----------
    image_path : path
        The scene (GeoTIFF with a CRS).
    layers : dict
        ``{name: (polygons, colour)}``, e.g. ``{"matched": (polygons, "lime")}``.
    crs : rasterio CRS or str
        The polygons' CRS.

    Returns
    -------
    ipyleaflet.Map
        Centred on the scene, zoomed to it; a layer control switches the layers.
    """
    from ipyleaflet import GeoJSON, LayersControl, Map

    overlay = scene_overlay(image_path)
    (south, west), (north, east) = overlay.bounds
    shapes = [GeoJSON(data=polygons_geojson(polygons, crs), name=f"{name} ({len(polygons)})",
                      style={"color": colour, "weight": 2, "fillOpacity": 0.1})
              for name, (polygons, colour) in layers.items()]
    world = Map(center=((south + north) / 2, (west + east) / 2), zoom=16, layers=(overlay, *shapes),
                scroll_wheel_zoom=True, attribution_control=False)
    world.layout.height = height
    world.add(LayersControl(position="topright"))
    world.fit_bounds([[south, west], [north, east]])
    return world
