"""The seed's real files from tile to footprint: a mosaic of real tiles, predicted, scored (lesson 10).

Runs when ``../shared/real_tiles`` is present (skips, saying so, when not):
three real tiles merged with ``rasterio.merge`` into one float32 scene with
nodata in the gaps, predicted by ``unet-course predict`` with a small network
fitted here for seconds on the real validation tiles (the test checks the
plumbing and the georeference, not accuracy: its probabilities stay under
0.5, so it predicts at ``--threshold 0.3``), polygonised, and scored by ``unet-course evaluate-footprints``
against the fractional label mosaic and against the polygons traced from it.
"""
from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import rasterio
from rasterio import features
from rio_cogeo.cogeo import cog_validate
from shapely.geometry import box, shape
from shapely.ops import unary_union

from unet_course.cli import main
from unet_course.footprints.mosaic import merge_tiles, neighbour_groups
from unet_course.footprints.polygons import raster_polygons
from unet_course.footprints.vectors import read_polygons, write_layers

from _footprints import save_run
from conftest import REAL_TILES

pytestmark = pytest.mark.slow          # fits a small network on real tiles

#: Three training tiles two by three tiles apart: a mosaic of 512 x 768 px with three tiles of gap.
TILES = ("image_228686_903071", "image_228686_903671", "image_228986_903371")
SEED_NODATA = -3.3999999521443642e+38


def _label(path):
    return path.parent.parent / "labels" / path.name.replace("image_", "label_")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """The mosaic, its label mosaic and a run with a small network fitted on real tiles."""
    if not (REAL_TILES / "training" / "images").is_dir():
        pytest.skip(f"real tiles not found at {REAL_TILES}: the real-data path is not tested")
    import keras

    from unet_course.data import load_tiles, resize_tiles
    from unet_course.losses import bce_dice_loss

    folder = tmp_path_factory.mktemp("real")
    images = [REAL_TILES / "training" / "images" / f"{name}.tif" for name in TILES]
    mosaic = merge_tiles(images, folder / "mosaic.tif")
    labels = merge_tiles([_label(p) for p in images], folder / "mosaic_labels.tif")
    tiles = resize_tiles(load_tiles(REAL_TILES, "validation"), 64)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((64, 64, 3))                 # a pixel classifier with 5 x 5 context
    hidden = keras.layers.Conv2D(8, 5, padding="same", activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1, activation="sigmoid")(hidden))
    model.compile(keras.optimizers.Adam(1e-2), bce_dice_loss)
    model.fit(tiles.images / 255.0, tiles.masks[..., None].astype("float32"), batch_size=8,
              epochs=10, verbose=0)
    return {"images": images, "mosaic": mosaic, "labels": labels, "folder": folder,
            "weights": save_run(folder / "run", model, image_size=64)}


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_seeds_tiles_have_neighbours_and_merge_on_their_grid(real):
    groups = neighbour_groups(sorted((REAL_TILES / "training" / "images").glob("*.tif")))
    assert sum(len(g) for g in groups if len(g) > 1) >= 26       # strips of two or three tiles
    with rasterio.open(real["mosaic"]) as mosaic:
        assert (mosaic.dtypes, mosaic.nodata, mosaic.crs.to_epsg()) == (("float32",) * 3, SEED_NODATA, 26986)
        assert (mosaic.width, mosaic.height) == (512, 768)
        pixels = mosaic.read()
        filled = np.zeros(pixels.shape[1:], bool)
        for path in real["images"]:
            with rasterio.open(path) as tile:
                window = mosaic.window(*tile.bounds).round_offsets().round_lengths()
                rows, cols = window.toslices()
                assert np.array_equal(pixels[:, rows, cols], tile.read())
                filled[rows, cols] = True
        assert np.all(pixels[:, ~filled] == np.float32(SEED_NODATA)) and filled.mean() == 0.5


@pytest.fixture(scope="module")
def predicted(real):
    """``unet-course predict`` on the mosaic: its outputs folder, exit status, stdout and stderr."""
    out, stdout, stderr = real["folder"] / "out", io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([str(a) for a in ("predict", real["mosaic"], "--weights", real["weights"],
                                      "--out", out, "--quiet", "--threshold", "0.3")])
    return out, code, stdout.getvalue(), stderr.getvalue()


def test_predict_takes_the_float32_mosaic_and_keeps_its_grid(real, predicted):
    out, code, text, err = predicted
    # No message from inside a library: only ours, one line, about the gaps.
    assert code == 0 and err == "warning: " f"{real['mosaic']}: 196,608 pixels have no data; they " \
        "are predicted as no building\n", err
    summary = json.loads((out / "summary.json").read_text())["images"][0]
    assert summary["nodata_pixels"] == 3 * 256 * 256 and summary["buildings"] > 0, summary
    with rasterio.open(real["mosaic"]) as mosaic:
        grid, gaps = (mosaic.crs, mosaic.transform, mosaic.shape), mosaic.dataset_mask() == 0
    for name in ("probability", "mask"):
        path = out / f"mosaic_{name}.tif"
        valid, errors, _ = cog_validate(path, quiet=True)
        assert valid, errors
        with rasterio.open(path) as raster:
            assert (raster.crs, raster.transform, raster.shape) == grid
            assert np.all(raster.read(1)[gaps] == 0)         # nodata predicted as no building
    tiles = unary_union([box(*rasterio.open(p).bounds) for p in real["images"]]).buffer(0.01)
    for suffix in ("gpkg", "geojson"):
        polygons, crs = read_polygons(out / f"mosaic_footprints.{suffix}")
        assert crs.to_epsg() == 26986 and len(polygons) == summary["buildings"]
        assert all(tiles.contains(polygon) for polygon in polygons)   # on the tiles, not in the gaps


def _independent_truth(labels_path, covered):
    """True buildings of the label mosaic, traced from numpy's own binarisation."""
    with rasterio.open(labels_path) as labels:
        band, transform = labels.read(1), labels.transform
    mask = (band != np.float32(SEED_NODATA)) & covered(band)
    return [shape(g) for g, v in features.shapes(mask.astype(np.uint8), mask=mask,
                                                 connectivity=4, transform=transform)]


def test_scores_against_the_fractional_label_raster_and_its_traced_polygons(real, predicted, capsys):
    out = real["folder"] / "scored"
    predicted = predicted[0] / "mosaic_footprints.gpkg"
    code, text, err = _run(capsys, "evaluate-footprints", predicted, real["labels"],
                           "--out", out / "raster")
    assert code == 0 and err == "" and "buildings:" in text, err
    from_raster = json.loads((out / "raster" / "building_scores.json").read_text())
    assert from_raster["truth"] == len(_independent_truth(real["labels"], lambda v: v >= 0.5))
    assert from_raster["tp"] + from_raster["fp"] == from_raster["predicted"] > 0
    traced, crs = raster_polygons(real["labels"])
    assert crs.to_epsg() == 26986
    write_layers(out / "truth.geojson", {"truth": (traced, {})}, crs)
    assert _run(capsys, "evaluate-footprints", predicted, out / "truth.geojson",
                "--out", out / "vector")[0] == 0
    from_vector = json.loads((out / "vector" / "building_scores.json").read_text())
    assert {k: from_vector[k] for k in ("tp", "fp", "fn")} == {k: from_raster[k] for k in ("tp", "fp", "fn")}
    assert _run(capsys, "evaluate-footprints", predicted, real["labels"], "--out", out / "truncate",
                "--label-rule", "truncate")[0] == 0
    truncated = json.loads((out / "truncate" / "building_scores.json").read_text())
    assert truncated["truth"] == len(_independent_truth(real["labels"], lambda v: v >= 1.0))
