"""The official Massachusetts layout: tiling, no-data tiles, split names (lesson 1)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import write_raster
from unet_course.data import DatasetError, cut_tiles, load_massachusetts
from unet_course.data.massachusetts import nodata_fraction, tile_starts


def _scene(rng, size=600, white_cols=0):
    image = rng.integers(0, 250, (size, size, 3)).astype(np.uint8)
    if white_cols:
        image[:, size - white_cols:] = 255                   # no-data strip on the right
    mask = (rng.random((size, size)) < 0.15).astype(np.uint8)
    return image, mask


@pytest.mark.parametrize("length, tile, expected", [
    (1500, 256, [0, 249, 498, 746, 995, 1244]),
    (512, 256, [0, 256]),
    (600, 256, [0, 172, 344]),
    (256, 256, [0]),
])
def test_tile_starts_cover_the_side(length, tile, expected):
    starts = tile_starts(length, tile)
    assert starts.tolist() == expected
    covered = np.zeros(length, bool)
    for s in starts:
        covered[s:s + tile] = True
    assert covered.all() and starts[-1] + tile == length


def test_tile_starts_rejects_short_sides():
    with pytest.raises(DatasetError, match="shorter than tile_size=256"):
        tile_starts(200, 256)


def test_cut_tiles_copies_the_right_pixels():
    rng = np.random.default_rng(0)
    image, mask = _scene(rng, 600)
    tiles, masks, offsets = cut_tiles(image, mask, 256)
    assert tiles.shape == (9, 256, 256, 3) and masks.shape == (9, 256, 256)
    assert offsets.tolist()[:4] == [[0, 0], [0, 172], [0, 344], [172, 0]]
    for t, m, (r, c) in zip(tiles, masks, offsets):
        assert np.array_equal(t, image[r:r + 256, c:c + 256])
        assert np.array_equal(m, mask[r:r + 256, c:c + 256])
    with pytest.raises(DatasetError, match=r"expected \(H, W, 3\) and \(H, W\)"):
        cut_tiles(image, mask[:10], 256)


def test_nodata_fraction_counts_pixels_white_in_all_bands():
    tiles = np.zeros((2, 4, 4, 3), np.uint8)
    tiles[0, :2] = 255                                       # half white
    tiles[1, :, :, :2] = 255                                 # two bands only: not no-data
    assert nodata_fraction(tiles).tolist() == [0.5, 0.0]


def test_load_drops_nodata_tiles_and_keeps_split_names(official_layout):
    rng = np.random.default_rng(1)
    image_a, mask_a = _scene(rng, 600, white_cols=300)      # right 300 columns: no-data
    image_b, mask_b = _scene(rng, 600)
    official_layout("train", "22678915_15", image_a, mask_a)
    root = official_layout("train", "22678930_15", image_b, mask_b)
    official_layout("valid", "22978945_15", image_b, mask_b)
    tiles = load_massachusetts(root, "train", tile_size=256)
    # independent count: a tile starting at column c is white in columns >= 300
    white_share = {0: 0.0, 172: (428 - 300) / 256, 344: 1.0}
    kept_a = sum(white_share[c] <= 0.5 for r in (0, 172, 344) for c in (0, 172, 344))
    assert len(tiles) == kept_a + 9 == 6 + 9
    assert tiles.names[0] == "22678915_15_0000_0000" and "22678915_15_0000_0344" not in tiles.names
    assert tiles.images.dtype == np.uint8 and tiles.masks.dtype == np.uint8
    assert set(np.unique(tiles.masks)) <= {0, 1}
    i = tiles.names.index("22678930_15_0172_0344")
    assert np.array_equal(tiles.images[i], image_b[172:428, 344:600])
    assert np.array_equal(tiles.masks[i], mask_b[172:428, 344:600])
    # images are placed far apart when they are not georeferenced
    a, b = tiles.origins[0], tiles.origins[tiles.names.index("22678930_15_0000_0000")]
    assert b[0] - a[0] >= 10_000
    valid = load_massachusetts(root, "valid")
    assert len(valid) == 9 and valid.names[0].startswith("22978945_15")
    strict = load_massachusetts(root, "train", max_nodata=0.0)
    assert len(strict) == 3 + 9


def test_georeferenced_origins_are_lower_left_corners(official_layout):
    image, mask = _scene(np.random.default_rng(2), 512)
    root = official_layout("test", "23429020_15", image, mask, georeferenced=True)
    tiles = load_massachusetts(root, "test")
    # conftest writes x0 = 226586 m, y0 = 898571 m, 1.171875 m pixels
    assert tiles.origins[0] == pytest.approx([226586.0, 898571.0 - 256 * 1.171875])
    assert tiles.origins[3] == pytest.approx([226586.0 + 300.0, 898571.0 - 600.0])


def test_bad_input_names_file_and_expectation(official_layout, tmp_path):
    rng = np.random.default_rng(3)
    image, mask = _scene(rng, 300)
    with pytest.raises(DatasetError, match=r"train[/\\]sat is not a folder"):
        load_massachusetts(tmp_path, "train")
    root = official_layout("train", "a", image, mask)
    with pytest.raises(DatasetError, match="'validation'.*valid"):
        load_massachusetts(root, "validation")
    (root / "train/map/a.tif").unlink()
    with pytest.raises(DatasetError, match=r"a.tiff has no building map: expected .*a.tif"):
        load_massachusetts(root)
    write_raster(root / "train/map/a.tif", mask[None, :200, :200] * 255, "uint8", False)
    with pytest.raises(DatasetError, match=r"a.tif is 200x200 pixels; expected 300x300"):
        load_massachusetts(root)
    write_raster(root / "train/map/a.tif", mask[None] * 255, "uint8", False)
    write_raster(root / "train/sat/a.tiff", np.zeros((4, 300, 300)), "uint8", False)
    with pytest.raises(DatasetError, match=r"a.tiff has 4 band\(s\); expected 3"):
        load_massachusetts(root)
    (root / "train/sat/a.tiff").write_bytes(b"MM\x00*garbage")
    with pytest.raises(DatasetError, match=r"a.tiff could not be read"):
        load_massachusetts(root)
    (root / "train/sat/a.tiff").unlink()
    with pytest.raises(DatasetError, match=r"holds no .tiff images"):
        load_massachusetts(root)
    white = np.full((300, 300, 3), 255, np.uint8)
    root = official_layout("test", "b", white, mask)
    with pytest.raises(DatasetError, match="no-data"):
        load_massachusetts(root, "test")
