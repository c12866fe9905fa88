"""``unet-course predict`` and ``evaluate-footprints`` on generated GeoTIFFs, and every bad input (lesson 10)."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from unet_course.cli import main
from unet_course.footprints.matching import polygon_iou
from unet_course.footprints.vectors import read_polygons, write_layers

from _footprints import (CRS, TRANSFORM, known_buildings, paint, red_threshold_model, save_run,
                         to_map, write_rgb)

OUTPUTS = ("probability.tif", "mask.tif", "footprints.geojson", "footprints.gpkg")


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A georeferenced scene of known buildings, and a laptop-like run (128 px of 256) to predict it."""
    folder = tmp_path_factory.mktemp("scene")
    image, mask = paint(known_buildings())
    return {"image": write_rgb(folder / "known.tif", image),
            "weights": save_run(folder / "run", red_threshold_model(64), image_size=128),
            "plain": save_run(folder / "plain", red_threshold_model(64)),
            "folder": folder, "mask": mask}


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _best_iou(polygons, building):
    return max(polygon_iou(p, building) for p in polygons)


def test_predict_recovers_every_building_on_the_source_grid(scene, tmp_path, capsys):
    out = tmp_path / "out"
    code, text, _ = _run(capsys, "predict", scene["image"], "--weights", scene["weights"],
                         "--out", out, "--quiet")
    assert code == 0 and "8 buildings" in text
    for name in OUTPUTS[:2]:
        with rasterio.open(out / f"known_{name}") as dataset:
            assert dataset.crs.to_string() == CRS and dataset.transform == TRANSFORM
            assert dataset.shape == scene["mask"].shape
            assert dataset.overviews(1) == [2]                 # 512 x 640 in 256 px tiles
        valid, errors, _ = cog_validate(out / f"known_{name}", quiet=True)
        assert valid, errors
    truth = [to_map(p) for p in known_buildings()]
    for name in OUTPUTS[2:]:
        polygons, crs = read_polygons(out / f"known_{name}")
        assert crs.to_string() == CRS and len(polygons) == len(truth)
        assert min(_best_iou(polygons, t) for t in truth) > 0.97
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scale"] == 0.5 and summary["images"][0]["window"] == 128
    assert summary["images"][0]["buildings"] == 8


def test_at_the_source_resolution_the_footprints_are_exact(scene, tmp_path, capsys):
    code, _, _ = _run(capsys, "predict", scene["image"], "--weights", scene["plain"],
                      "--out", tmp_path / "out", "--quiet", "--simplify", "0")
    assert code == 0
    polygons, _ = read_polygons(tmp_path / "out" / "known_footprints.gpkg")
    for building in known_buildings():
        assert _best_iou(polygons, to_map(building)) == pytest.approx(1.0)


def test_regularised_footprints_have_right_angles(scene, tmp_path, capsys):
    assert _run(capsys, "predict", scene["image"], "--weights", scene["weights"], "--out",
                tmp_path / "out", "--quiet", "--regularise")[0] == 0
    polygons, _ = read_polygons(tmp_path / "out" / "known_footprints.geojson")
    for polygon in polygons:
        coords = np.asarray(polygon.exterior.coords)[:-1]
        edges = np.roll(coords, -1, axis=0) - coords
        dots = np.abs(np.sum(edges * np.roll(edges, -1, axis=0), axis=1))
        assert np.all(dots < 1e-6 * np.sum(edges ** 2, axis=1).max())


def test_an_image_without_georeference_works_in_pixels_and_says_so(scene, tmp_path, capsys):
    image, _ = paint(known_buildings())
    path = write_rgb(tmp_path / "plain.tif", image, crs=None)
    code, _, err = _run(capsys, "predict", path, "--weights", scene["plain"], "--out",
                        tmp_path / "out", "--quiet")
    assert code == 0 and err.startswith("warning: ") and len(err.strip().splitlines()) == 1
    assert "no georeference" in err and "pixel coordinates" in err
    polygons, crs = read_polygons(tmp_path / "out" / "plain_footprints.geojson")
    assert crs is None
    for building in known_buildings():
        assert _best_iou(polygons, building) > 0.98
    with rasterio.open(tmp_path / "out" / "plain_mask.tif") as dataset:
        assert dataset.crs is None


def test_several_images_and_evaluate_footprints(scene, tmp_path, capsys):
    second = scene["folder"] / "second.tif"
    if not second.exists():
        write_rgb(second, paint(known_buildings()[:4])[0])
    out = tmp_path / "out"
    assert _run(capsys, "predict", scene["image"], second, "--weights", scene["weights"],
                "--out", out, "--quiet")[0] == 0
    assert all((out / f"{stem}_{name}").is_file() for stem in ("known", "second") for name in OUTPUTS)
    truth = tmp_path / "truth.geojson"
    write_layers(truth, {"truth": ([to_map(p) for p in known_buildings()], {})}, CRS)
    code, text, _ = _run(capsys, "evaluate-footprints", out / "second_footprints.gpkg", truth,
                         "--out", tmp_path / "ev")
    assert code == 0 and "matched 4   invented 0   missed 4" in text
    assert json.loads((tmp_path / "ev" / "building_scores.json").read_text())["recall"] == 0.5
    labels = tmp_path / "labels.tif"
    with rasterio.open(labels, "w", driver="GTiff", width=640, height=512, count=1, dtype="uint8",
                       crs=CRS, transform=TRANSFORM) as dataset:
        dataset.write(scene["mask"], 1)
    code, text, _ = _run(capsys, "evaluate-footprints", out / "known_footprints.geojson", labels,
                         "--out", tmp_path / "ev2")
    assert code == 0 and "F1 100.0%" in text
    code, _, err = _run(capsys, "evaluate-footprints", out / "known_footprints.geojson", labels,
                        "--out", tmp_path / "ev2")
    assert code == 1 and "exists" in err


def _bad_images(folder):
    """Images that must be refused, with the words their error says."""
    cases = {}
    rgba = np.zeros((300, 300, 4), np.uint8)
    with rasterio.open(folder / "rgba.tif", "w", driver="GTiff", width=300, height=300, count=4,
                       dtype="uint8") as dataset:
        dataset.write(np.moveaxis(rgba, -1, 0))
    cases["rgba.tif"] = "has 4 band(s); expected 3"
    with rasterio.open(folder / "deep.tif", "w", driver="GTiff", width=300, height=300, count=3,
                       dtype="uint16") as dataset:
        dataset.write(np.full((3, 300, 300), 4095, np.uint16))
    cases["deep.tif"] = "uint16 from 4095 to 4095, outside 0-255; expected whole numbers 0-255"
    with rasterio.open(folder / "unit.tif", "w", driver="GTiff", width=300, height=300, count=3,
                       dtype="float32") as dataset:
        dataset.write(np.full((3, 300, 300), 0.25, np.float32))
    cases["unit.tif"] = "float32 in [0, 1]; expected whole numbers 0-255 like the seed's float32"
    write_rgb(folder / "small.tif", np.zeros((100, 300, 3), np.uint8))
    cases["small.tif"] = "smaller than one window of 128 px"
    (folder / "text.tif").write_text("not an image")
    cases["text.tif"] = "not a raster GDAL can read"
    cases["missing.tif"] = "no such image file"
    return cases


def test_bad_images_fail_with_one_clear_line_and_write_nothing(scene, tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, words in _bad_images(tmp_path).items():
            out = tmp_path / f"out-{name}"
            code, _, err = _run(capsys, "predict", tmp_path / name, "--weights", scene["weights"],
                                "--out", out, "--quiet")
            assert code == 1 and words in err and str(tmp_path / name) in err, (name, err)
            assert len(err.strip().splitlines()) == 1, err
            assert not out.exists() or not any(out.iterdir()), name


def test_bad_weights_fail_with_one_clear_line(scene, tmp_path, capsys):
    import keras

    from unet_course.model import build_unet
    four = keras.Input((64, 64, 4))
    save_run(tmp_path / "four", keras.Model(four, keras.layers.Conv2D(1, 1)(four)), image_size=64)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "best.keras").write_text("not a model")
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    build_unet((32, 32, 3), 2).save_weights(wrong / "model.weights.h5")
    (wrong / "run.json").write_text(json.dumps({"profile_settings": {"image_size": 64,
                                                                     "base_filters": 4}}))
    cases = {tmp_path / "none" / "best.keras": "no such weights file",
             tmp_path / "four" / "best.keras": "expected a U-Net from RGB tiles",
             tmp_path / "junk" / "best.keras": "not a Keras model file",
             wrong / "model.weights.h5": "do not fit the U-Net of its run.json"}
    for weights, words in cases.items():
        code, _, err = _run(capsys, "predict", scene["image"], "--weights", weights,
                            "--out", tmp_path / "out", "--quiet")
        assert code == 1 and words in err and str(weights) in err, (weights, err)
        assert not (tmp_path / "out").exists()


def test_an_existing_output_folder_needs_overwrite(scene, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = _run(capsys, "predict", scene["image"], "--weights", scene["weights"],
                        "--out", out, "--quiet")
    assert code == 1 and "exists" in err and "--overwrite" in err and not any(out.iterdir())
    assert _run(capsys, "predict", scene["image"], "--weights", scene["weights"], "--out", out,
                "--quiet", "--overwrite")[0] == 0


@pytest.mark.parametrize("option, value, words", [
    ("--threshold", "1.5", "--threshold must be a number in [0, 1]"),
    ("--overlap", "128", "--overlap 128 must be smaller than the window of 128 px"),
    ("--batch-size", "0", "--batch-size must be a whole number >= 1"),
    ("--min-area", "-1", "--min-area must be a number >= 0"),
])
def test_bad_options_fail_before_anything_is_written(scene, tmp_path, capsys, option, value, words):
    out = tmp_path / "out"
    code, _, err = _run(capsys, "predict", scene["image"], "--weights", scene["weights"],
                        "--out", out, "--quiet", option, value)
    assert code == 1 and words in err, err
    assert not out.exists()
