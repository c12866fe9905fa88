"""Synthetic scenes as georeferenced GeoTIFFs with their true footprints (lesson 10)."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio

from unet_course.data import DatasetError
from unet_course.data.scenes import SCENE_CRS, scene_transform, write_synthetic_scene
from unet_course.footprints.matching import match_buildings
from unet_course.footprints.polygons import raster_polygons
from unet_course.footprints.vectors import read_polygons


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return write_synthetic_scene(tmp_path_factory.mktemp("scene"), 600, 420, seed=4)


def test_files_share_the_grid_and_crs(scene):
    grids = []
    for key, count in (("image", 3), ("labels", 1)):
        with rasterio.open(scene[key]) as dataset:
            assert dataset.count == count and dataset.dtypes[0] == "uint8"
            assert dataset.crs.to_string() == SCENE_CRS and dataset.profile["tiled"]
            grids.append((dataset.shape, dataset.transform))
    assert grids[0] == grids[1] == ((420, 600), scene_transform(256))
    assert scene_transform(256).a == pytest.approx(300 / 256)
    polygons, crs = read_polygons(scene["footprints"])
    assert crs.to_string() == SCENE_CRS and len(polygons) == scene["buildings"] > 20


def test_true_footprints_agree_with_the_label_raster(scene):
    truth, _ = read_polygons(scene["footprints"])
    traced, _ = raster_polygons(scene["labels"])
    result = match_buildings(traced, truth)
    assert result["f1"] > 0.97, result["f1"]
    with rasterio.open(scene["labels"]) as dataset:
        labels = dataset.read(1)
    pixel = (300 / 256) ** 2
    assert sum(p.area for p in truth) / pixel == pytest.approx(labels.sum(), rel=0.05)


def test_scene_tiles_are_the_tiles_the_course_draws(tmp_path):
    """Same seed, same size: the scene is a function of its arguments; without CRS it is in pixels."""
    a = write_synthetic_scene(tmp_path / "a", 300, 260, seed=1, tile_px=128, georeferenced=False)
    b = write_synthetic_scene(tmp_path / "b", 300, 260, seed=1, tile_px=128, georeferenced=False)
    with rasterio.open(a["image"]) as one, rasterio.open(b["image"]) as two:
        assert one.crs is None and np.array_equal(one.read(), two.read())
    polygons, crs = read_polygons(a["footprints"])
    assert crs is None
    minx, miny, maxx, maxy = np.array([p.bounds for p in polygons]).T
    assert minx.min() >= 0 and miny.min() >= 0 and maxx.max() <= 300 and maxy.max() <= 260
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "scene.tif", "scene_footprints.geojson", "scene_labels.tif"]


def test_bad_sizes(tmp_path):
    with pytest.raises(DatasetError, match="width must be a whole number >= 16"):
        write_synthetic_scene(tmp_path, 8, 100)
    with pytest.raises(DatasetError, match="seed"):
        write_synthetic_scene(tmp_path, 100, 100, seed=-1)
