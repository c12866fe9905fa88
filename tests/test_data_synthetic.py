"""Synthetic aerial scenes (lessons 1 and 2)."""
from __future__ import annotations

import numpy as np
import pytest

from unet_course.data import DatasetError, synthetic_tile, synthetic_tiles
from unet_course.data import layout
from unet_course.data.raster import pixel_centres, rasterise_discs, rasterise_rectangles, shifted
from unet_course.data.synthetic import _roads, render_tile


def test_tile_is_deterministic_per_seed():
    image, mask = synthetic_tile(5, 64)
    assert image.dtype == np.uint8 and image.shape == (64, 64, 3)
    assert mask.dtype == np.uint8 and mask.shape == (64, 64) and set(np.unique(mask)) <= {0, 1}
    again = synthetic_tile(5, 64)
    assert np.array_equal(image, again[0]) and np.array_equal(mask, again[1])
    assert not np.array_equal(image, synthetic_tile(6, 64)[0])


def test_tiles_names_origins_and_independence_of_n():
    big, small = synthetic_tiles(20, 32, seed=3), synthetic_tiles(18, 32, seed=3)
    assert big.names[:3] == ["synthetic_00000", "synthetic_00001", "synthetic_00002"]
    assert np.array_equal(big.images[:18], small.images) and np.array_equal(big.masks[:18], small.masks)
    # 4 x 4 tiles a scene, 300 m a tile, scenes side by side
    assert big.origins[:5].tolist() == [[0, 0], [300, 0], [600, 0], [900, 0], [0, 300]]
    assert big.origins[16].tolist() == [1200, 0]
    assert len(np.unique(big.origins, axis=0)) == 20
    assert not np.array_equal(synthetic_tiles(4, 32, seed=4).images, big.images[:4])


def test_progress_bar(capsys):
    synthetic_tiles(3, 16, progress=True)
    assert "synthetic tiles" in capsys.readouterr().err


def test_class_balance_like_the_real_data():
    tiles = synthetic_tiles(320, 64, seed=0)
    per_tile = tiles.masks.reshape(len(tiles), -1).mean(axis=1)
    assert 0.10 <= tiles.building_fraction() <= 0.17          # the real data: 13.4 %
    assert 0.03 <= np.mean(per_tile == 0) <= 0.13             # the real data: 7 % without buildings
    assert per_tile.max() > 0.25                              # dense and commercial tiles exist


def test_a_small_tile_is_the_large_tile_at_lower_resolution():
    large, small = synthetic_tiles(16, 128, seed=1), synthetic_tiles(16, 64, seed=1)
    coverage = large.masks.reshape(16, 64, 2, 64, 2).mean(axis=(2, 4))
    agree = np.mean((coverage >= 0.5) == small.masks)
    assert agree > 0.95
    colour_large = large.images.reshape(16, -1, 3).mean(axis=1)
    colour_small = small.images.reshape(16, -1, 3).mean(axis=1)
    assert np.abs(colour_large - colour_small).max() < 6


def test_mask_is_the_footprint_including_roof_under_trees():
    hidden = 0
    for s in range(4):
        scene = layout.plan_scene(np.random.default_rng([11, s]), 2, 2)
        bare = {**scene, "trees": {k: v[:0] for k, v in scene["trees"].items()}}
        for cell in ((0, 0), (1, 1)):
            image, mask = render_tile(scene, cell, 128, np.random.default_rng(0))
            bare_image, bare_mask = render_tile(bare, cell, 128, np.random.default_rng(0))
            assert np.array_equal(mask, bare_mask)            # trees never change the label
            under_trees = np.any(image != bare_image, axis=-1) & (mask == 1)
            hidden += under_trees.sum()
    assert hidden > 50                                        # and they do hide some roof


def test_roads_share_roof_greys():
    scenes = [layout.plan_scene(np.random.default_rng([3, s]), 1, 1) for s in range(12)]
    near = 0
    for scene in scenes:
        image, mask = render_tile(scene, (0, 0), 128, np.random.default_rng(0))
        xs = pixel_centres(0.0, 128)
        road = _roads(scene["style"], xs, xs) & (mask == 0)
        road_grey = np.median(image[road].astype(float), axis=0)
        roofs = image[mask == 1].astype(float)
        near += np.sum(np.all(np.abs(roofs - road_grey) < 15, axis=1))
    assert near > 500                                        # roof pixels with a road's colour


def test_neighbouring_tiles_continue_each_other():
    tiles = synthetic_tiles(16, 128, seed=2)
    overlap = {"neighbour": [0, 0], "stranger": [0, 0]}        # building pixels: shared, either
    for row in range(4):
        for col in range(3):
            left = tiles.masks[row * 4 + col][:, -1] == 1
            for kind, other in (("neighbour", row * 4 + col + 1), ("stranger", (row * 4 + col + 6) % 16)):
                right = tiles.masks[other][:, 0] == 1
                overlap[kind][0] += (left & right).sum()
                overlap[kind][1] += (left | right).sum()
    # houses cut by a tile border continue in the tile next to it
    assert overlap["neighbour"][0] / overlap["neighbour"][1] > 0.4
    assert overlap["stranger"][0] / overlap["stranger"][1] < 0.1


def test_rasterisers_against_plain_point_tests():
    size = 32
    xs = pixel_centres(0.0, size)
    px, py = np.meshgrid(xs, xs)
    cx, cy, hu, hv, angle = (np.array(v, np.float32)
                             for v in ([100, 200], [60, 180], [30, 12], [10, 40], [0.5, 2.0]))
    idx, rows, cols, _, _ = rasterise_rectangles(cx, cy, hu, hv, angle, (0.0, 0.0), size)
    for k in range(2):
        u = (px - cx[k]) * np.cos(angle[k]) + (py - cy[k]) * np.sin(angle[k])
        v = (py - cy[k]) * np.cos(angle[k]) - (px - cx[k]) * np.sin(angle[k])
        expected = (np.abs(u) <= hu[k]) & (np.abs(v) <= hv[k])
        got = np.zeros((size, size), bool)
        got[rows[idx == k], cols[idx == k]] = True
        assert np.array_equal(got, expected) and expected.any()
    r = np.array([20.0, 7.0], np.float32)
    idx, rows, cols, _, _ = rasterise_discs(cx, cy, r, (0.0, 0.0), size)
    for k in range(2):
        got = np.zeros((size, size), bool)
        got[rows[idx == k], cols[idx == k]] = True
        assert np.array_equal(got, (px - cx[k]) ** 2 + (py - cy[k]) ** 2 <= r[k] ** 2)
    grid = np.arange(12).reshape(3, 4) > 5
    assert np.array_equal(shifted(grid, 1, -1), np.pad(grid, ((0, 1), (1, 0)))[1:, :-1])


@pytest.mark.parametrize("call, name", [
    (lambda: synthetic_tile(-1), "seed=-1"), (lambda: synthetic_tile(1.5), "seed=1.5"),
    (lambda: synthetic_tile(1, 0), "size=0"), (lambda: synthetic_tiles(0), "n=0"),
])
def test_bad_arguments(call, name):
    argument = name.split("=")[0]
    with pytest.raises(DatasetError, match=f"^{argument} must be a whole number >= "):
        call()
