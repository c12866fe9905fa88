"""Helpers of the footprint tests: GeoTIFFs with known buildings, and models with known outputs."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors
from affine import Affine
from rasterio import features
from shapely.geometry import Polygon, box

from unet_course.rundir import BEST_MODEL, RUN_INFO

CRS = "EPSG:32619"
TRANSFORM = Affine(0.5, 0.0, 330000.0, 0.0, -0.5, 4690000.0)   # 0.5 m pixels, UTM 19N


def known_buildings():
    """Rectangles and L-shapes in pixel coordinates (x = column, y = row) of a 512 x 640 scene."""
    shapes = [box(20, 30, 80, 70), box(150, 40, 190, 140), box(300, 300, 420, 350),
              box(500, 20, 600, 90), box(40, 400, 70, 430)]
    ells = [Polygon([(200, 200), (280, 200), (280, 230), (230, 230), (230, 290), (200, 290)]),
            Polygon([(450, 380), (600, 380), (600, 480), (560, 480), (560, 420), (450, 420)]),
            Polygon([(60, 200), (100, 200), (100, 320), (150, 320), (150, 350), (60, 350)])]
    return shapes + ells


def paint(polygons, shape=(512, 640), background=25, roof=235):
    """uint8 RGB image: ``roof`` in the red band on the polygons' pixels, dark elsewhere."""
    mask = features.rasterize([(p, 1) for p in polygons], out_shape=shape, dtype="uint8")
    image = np.full(shape + (3,), background, np.uint8)
    image[..., 0] = np.where(mask == 1, roof, background)
    return image, mask


def write_rgb(path, image, crs=CRS, transform=TRANSFORM, nodata=None):
    """Write an RGB GeoTIFF (``crs=None``: no georeference)."""
    profile = dict(driver="GTiff", width=image.shape[1], height=image.shape[0], count=3,
                   dtype="uint8", crs=crs, transform=transform if crs else Affine.identity())
    if nodata is not None:
        profile["nodata"] = nodata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)  # asked for
        with rasterio.open(path, "w", **profile) as dataset:
            dataset.write(np.moveaxis(image, -1, 0))
    return Path(path)


def to_map(polygon, transform=TRANSFORM):
    """A pixel-coordinate polygon in map coordinates."""
    from shapely import affinity
    t = transform
    return affinity.affine_transform(polygon, [t.a, t.b, t.d, t.e, t.c, t.f])


def red_threshold_model(side=64):
    """A 1x1 convolution whose probability is sigmoid(40 (red - 0.5)): ~1 on roofs, ~0 elsewhere."""
    import keras

    inputs = keras.Input((side, side, 3))
    conv = keras.layers.Conv2D(1, 1, activation="sigmoid")
    model = keras.Model(inputs, conv(inputs))
    conv.set_weights([np.array([40.0, 0.0, 0.0], np.float32).reshape(1, 1, 3, 1),
                      np.array([-20.0], np.float32)])
    return model


def save_run(folder, model, image_size=None):
    """A run folder: ``best.keras`` and a ``run.json`` saying the tile side it trained on."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / BEST_MODEL)
    if image_size is not None:
        (folder / RUN_INFO).write_text(json.dumps(
            {"status": "finished", "profile": "test",
             "profile_settings": {"image_size": image_size, "base_filters": 4}}))
    return folder / BEST_MODEL
