"""Whole-scene inference: windows, blending, seams, resampling, nodata, bounded memory (lesson 10)."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import rasterio

from unet_course.footprints import FootprintError, FootprintWarning
from unet_course.footprints.inference import (blend_weights, predict_array, predict_scene,
                                              predict_tiles, window_starts)

from _footprints import known_buildings, paint, red_threshold_model, write_rgb

ROOT = Path(__file__).resolve().parents[1]

#: Windowed versus whole-image probabilities of the seam test, 32 px or more from the border.
SEAM_TOLERANCE = 1e-3


def test_window_starts_cover_the_length_with_the_overlap():
    for length, window, overlap in [(512, 64, 16), (1500, 256, 64), (257, 256, 0), (256, 256, 64)]:
        starts = window_starts(length, window, overlap)
        assert starts[0] == 0 and starts[-1] == length - window
        assert np.all(np.diff(starts) <= window - overlap)          # every gap shares >= overlap
        covered = np.zeros(length, bool)
        for s in starts:
            covered[s:s + window] = True
        assert covered.all()


def test_window_starts_refuse_a_short_image_and_a_bad_overlap():
    with pytest.raises(FootprintError, match="smaller than one window of 256 px"):
        window_starts(200, 256, 64, "the image height")
    with pytest.raises(FootprintError, match="overlap"):
        window_starts(512, 64, 64)


def test_blend_weights_match_a_raised_cosine_written_out():
    window, overlap = 16, 4
    weights = blend_weights(window, overlap)
    side = np.empty(window)
    for i in range(window):
        distance = min(i + 0.5, window - 0.5 - i)
        side[i] = 1.0 if distance >= overlap else 0.5 - 0.5 * np.cos(np.pi * distance / overlap)
    np.testing.assert_allclose(weights, np.outer(side, side), rtol=1e-6)
    assert weights.min() > 0 and weights[8, 8] == 1
    assert np.all(blend_weights(8, 0) == 1)


@pytest.fixture(scope="module")
def unet_pair():
    """An untrained 64 px U-Net and the same weights on a 512 px input (a whole-image pass)."""
    import keras

    from unet_course.model import build_unet
    keras.utils.set_random_seed(3)
    small = build_unet((64, 64, 3), filters=4)
    whole = build_unet((512, 512, 3), filters=4)
    whole.set_weights(small.get_weights())
    return small, whole


def test_windowed_prediction_matches_one_whole_pass_away_from_the_border(unet_pair):
    from unet_course.data import synthetic_tile

    small, whole = unet_pair
    image = np.concatenate([np.concatenate([synthetic_tile(s, 256)[0] for s in (r, r + 1)], axis=1)
                            for r in (0, 2)], axis=0)            # 512 x 512
    reference = np.asarray(whole(image[None].astype(np.float32) / 255.0))[0, ..., 0]
    inner = (slice(32, -32), slice(32, -32))
    blended = predict_array(small, image, overlap=32)
    seams = predict_array(small, image, overlap=0)
    blended_error = np.abs(blended - reference)[inner].max()
    seam_error = np.abs(seams - reference)[inner].max()
    assert blended_error < SEAM_TOLERANCE, blended_error
    assert seam_error > 5 * blended_error, (seam_error, blended_error)   # the seams are real


def test_predict_tiles_is_the_scene_code_on_one_window_each(unet_pair):
    from unet_course.data import synthetic_tile

    small, _ = unet_pair
    tiles = np.stack([synthetic_tile(s, 128)[0] for s in range(3)])
    by_tile = predict_tiles(small, tiles, scale=0.5)
    assert by_tile.shape == (3, 128, 128)
    for tile, probs in zip(tiles, by_tile):
        np.testing.assert_allclose(predict_array(small, tile, scale=0.5), probs, atol=1e-5)


def test_resampling_to_the_training_resolution_keeps_the_source_grid():
    model = red_threshold_model(64)
    image, mask = paint(known_buildings())
    for scale in (1.0, 0.5, 0.25):
        probs = predict_array(model, image, scale=scale)
        assert probs.shape == mask.shape
        agree = np.mean((probs > 0.5) == (mask == 1))
        assert agree > (0.9999 if scale == 1 else 0.99), (scale, agree)


def test_scene_outputs_are_on_the_source_grid_tiled_and_compressed(tmp_path):
    model = red_threshold_model(64)
    image, mask = paint(known_buildings())
    path = write_rgb(tmp_path / "scene.tif", image)
    stats = predict_scene(model, path, tmp_path / "p.tif", tmp_path / "m.tif", scale=0.5,
                          progress=False)
    with rasterio.open(path) as source:
        grid = (source.crs, source.transform, source.shape)
    for name, dtype in (("p.tif", "float32"), ("m.tif", "uint8")):
        with rasterio.open(tmp_path / name) as out:
            assert (out.crs, out.transform, out.shape) == grid
            assert out.dtypes[0] == dtype and out.profile["tiled"]
            assert out.compression.name.lower() == "deflate"
            assert out.block_shapes[0] == (256, 256)
    with rasterio.open(tmp_path / "m.tif") as out:
        written = out.read(1)
    assert stats["building_pixels"] == int(written.sum())
    assert np.mean(written == mask) > 0.99
    np.testing.assert_array_equal(written, predict_array(model, image, scale=0.5) > 0.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tif", "p.tif", "scene.tif"]


def test_nodata_pixels_are_predicted_as_no_building_and_said_so(tmp_path):
    model = red_threshold_model(64)
    image, _ = paint(known_buildings())
    image[:, :100] = 0                       # a strip without data, with a roof partly in it
    image[30:70, 20:80, 0] = 235
    path = write_rgb(tmp_path / "holes.tif", image, nodata=0)
    with pytest.warns(FootprintWarning, match="have no data; they are predicted as no building"):
        stats = predict_scene(model, path, tmp_path / "p.tif", tmp_path / "m.tif", progress=False)
    with rasterio.open(tmp_path / "p.tif") as out:
        probs = out.read(1)
    nodata = np.all(image == 0, axis=-1)
    assert stats["nodata_pixels"] == int(nodata.sum())
    assert np.all(probs[nodata] == 0)
    assert probs[30:70, 20:80][~nodata[30:70, 20:80]].min() > 0.5


class _Crashing:
    """A model that fails on its third batch (a crash in the middle of a scene)."""

    def __init__(self, model):
        self.model, self.calls = model, 0
        self.input_shape = model.input_shape

    def predict_on_batch(self, x):
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("out of memory")
        return self.model.predict_on_batch(x)


def test_a_crash_leaves_no_half_written_file(tmp_path):
    image, _ = paint(known_buildings())
    path = write_rgb(tmp_path / "scene.tif", image)
    with pytest.raises(RuntimeError, match="out of memory"):
        predict_scene(_Crashing(red_threshold_model(64)), path, tmp_path / "p.tif",
                      tmp_path / "m.tif", batch_size=2, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["scene.tif"]


_MEMORY_SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[2])
    from _footprints import red_threshold_model
    from unet_course.footprints.inference import predict_scene

    def status(key):
        with open("/proc/self/status") as lines:
            return int(next(l for l in lines if l.startswith(key)).split()[1]) / 1024

    model = red_threshold_model(256)
    model.predict_on_batch(__import__("numpy").zeros((16, 256, 256, 3), "float32"))
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")                 # restart the peak (VmHWM) from the current size
    base = status("VmRSS:")
    predict_scene(model, sys.argv[1], sys.argv[1] + ".p.tif", sys.argv[1] + ".m.tif",
                  batch_size=16, progress=False)
    print(json.dumps({"base_mb": base, "peak_mb": status("VmHWM:")}))
""")


def _noise_geotiff(path, side):
    """An RGB GeoTIFF of random pixels, written strip by strip."""
    from _footprints import CRS, TRANSFORM
    rng = np.random.default_rng(side)
    with rasterio.open(path, "w", driver="GTiff", width=side, height=side, count=3, dtype="uint8",
                       crs=CRS, transform=TRANSFORM, tiled=True) as out:
        for row in range(0, side, 500):
            strip = rng.integers(0, 256, (3, 500, side), dtype=np.uint8)
            out.write(strip, window=rasterio.windows.Window(0, row, side, 500))
    return path


@pytest.mark.slow
def test_memory_stays_bounded_as_the_scene_grows(tmp_path):
    """Peak RSS, measured in a fresh process, barely grows from a 2,000² to a 4,000² scene.

    The peak is the kernel's ``VmHWM``, restarted just before the prediction
    (``ru_maxrss`` would carry the high-water mark of the test process over).
    Holding the 4,000² scene's image, probabilities and weights in memory would
    add at least 4,000² x 11 bytes = 176 MB over the 2,000² one (132 MB more).
    """
    growth = {}
    for side in (2000, 4000):
        path = _noise_geotiff(tmp_path / f"noise{side}.tif", side)
        done = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(path), str(ROOT / "tests")],
                              capture_output=True, text=True, timeout=300,
                              env={**__import__("os").environ, "PYTHONPATH": str(ROOT),
                                   "MALLOC_ARENA_MAX": "2"})   # fewer per-thread arenas: less noise
        assert done.returncode == 0, done.stderr[-2000:]
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        growth[side] = measured["peak_mb"] - measured["base_mb"]
    assert growth[4000] - growth[2000] < 60, growth    # holding the scene would add >= 132 MB
