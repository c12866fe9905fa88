"""The seed's tile layout, label rules and TileSet (lesson 1)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import write_raster
from unet_course.data import LABEL_RULES, DatasetError, TileSet, binarize_label, load_tiles, read_tile_pair


def _pair(rng, size=32):
    image = rng.integers(0, 256, (size, size, 3)).astype(np.float32)
    label = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], (size, size)).astype(np.float32)
    return image, label


def test_label_rules_against_plain_comparisons():
    label = np.array([0.0, 0.25, 0.4999, 0.5, 0.75, 0.9999, 1.0], np.float32)
    assert LABEL_RULES == ("threshold", "truncate")
    assert binarize_label(label).tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert binarize_label(label, "truncate").tolist() == [0, 0, 0, 0, 0, 0, 1]
    # truncate is what astype(uint8) did in the seed
    assert np.array_equal(binarize_label(label, "truncate"), label.astype(np.uint8))
    assert binarize_label(label).dtype == np.uint8


@pytest.mark.parametrize("label", [np.zeros((4, 4)), np.ones((4, 4))])
def test_label_rules_agree_on_empty_and_full_labels(label):
    assert np.array_equal(binarize_label(label, "threshold"), binarize_label(label, "truncate"))
    assert np.array_equal(binarize_label(label), label.astype(np.uint8))


def test_unknown_label_rule_names_the_rule():
    with pytest.raises(DatasetError, match="'round'.*threshold"):
        binarize_label(np.zeros(3), "round")


def test_load_tiles_reads_layout_and_parses_origins(tile_layout):
    rng = np.random.default_rng(0)
    pairs = {(100, 200): _pair(rng), (400, 200): _pair(rng), (100, -500): _pair(rng)}
    for (x, y), (image, label) in pairs.items():
        root = tile_layout("training", x, y, image, label)
    for rule in LABEL_RULES:
        tiles = load_tiles(root, "training", rule)
        assert tiles.names == ["image_100_-500", "image_100_200", "image_400_200"]
        assert tiles.images.dtype == np.uint8 and tiles.images.shape == (3, 32, 32, 3)
        assert tiles.masks.dtype == np.uint8 and tiles.masks.shape == (3, 32, 32)
        assert tiles.origins.tolist() == [[100, -500], [100, 200], [400, 200]]
        for i, name in enumerate(tiles.names):
            x, y = (int(v) for v in name.split("_")[1:])
            image, label = pairs[(x, y)]
            assert np.array_equal(tiles.images[i], image.astype(np.uint8))
            expected = label >= 0.5 if rule == "threshold" else label == 1.0
            assert np.array_equal(tiles.masks[i], expected.astype(np.uint8))


def test_read_tile_pair_returns_float32_bands_last(tile_layout):
    image, label = _pair(np.random.default_rng(1), 16)
    root = tile_layout("test", 1, 2, image, label)
    got_image, got_label = read_tile_pair(root / "test/images/image_1_2.tif", root / "test/labels/label_1_2.tif")
    assert got_image.dtype == np.float32 and got_image.shape == (16, 16, 3)
    assert got_label.dtype == np.float32 and got_label.shape == (16, 16)
    assert np.array_equal(got_image, image) and np.array_equal(got_label, label)


def test_real_sample_tiles(real_sample):
    images = sorted((real_sample / "training" / "images").glob("image_*.tif"))
    assert len(images) == 8
    label_path = real_sample / "training/labels" / images[0].name.replace("image_", "label_")
    image, label = read_tile_pair(images[0], label_path)
    assert image.shape == (256, 256, 3) and label.shape == (256, 256)
    assert np.array_equal(image, np.round(image)) and image.min() >= 0 and image.max() <= 255
    assert 0 <= label.min() and label.max() <= 1
    threshold, truncate = (load_tiles(real_sample, "training", rule) for rule in LABEL_RULES)
    assert len(threshold) == 8 and threshold.images.shape == (8, 256, 256, 3)
    assert threshold.origins[0].tolist() == [226586.0, 898271.0]
    per_tile = threshold.masks.reshape(8, -1).mean(axis=1)
    assert per_tile.min() == 0.0 and 0.25 < per_tile.max() < 0.40      # from 0 % to about a third
    # the rules differ exactly on the fractional pixels in [0.5, 1)
    differ = threshold.masks != truncate.masks
    assert differ.any() and np.all(truncate.masks <= threshold.masks)
    assert threshold.building_fraction() > truncate.building_fraction()


def test_tileset_subset_len_and_fraction():
    masks = np.zeros((4, 2, 2), np.uint8)
    masks[1] = 1
    masks[3, 0, 0] = 1
    tiles = TileSet(np.zeros((4, 2, 2, 3), np.uint8), masks, list("abcd"), np.arange(8).reshape(4, 2))
    assert len(tiles) == 4 and tiles.building_fraction() == pytest.approx(5 / 16)
    part = tiles.subset([3, 1])
    assert part.names == ["d", "b"] and part.origins.tolist() == [[6, 7], [2, 3]]
    assert part.building_fraction() == pytest.approx(5 / 8)
    with pytest.raises(DatasetError, match="expected"):
        TileSet(np.zeros((2, 2, 2, 3), np.uint8), np.zeros((2, 3, 2), np.uint8), ["a", "b"], np.zeros((2, 2)))


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match=r"training[/\\]images is not a folder"):
        load_tiles(tmp_path, "training")


def test_unknown_split_and_rule(tile_layout):
    root = tile_layout("training", 1, 2, *_pair(np.random.default_rng(2)))
    with pytest.raises(DatasetError, match="'train'.*training"):
        load_tiles(root, "train")
    with pytest.raises(DatasetError, match="'ceil'"):
        load_tiles(root, "training", "ceil")


def test_image_without_label(tile_layout):
    root = tile_layout("training", 1, 2, *_pair(np.random.default_rng(3)))
    (root / "training/labels/label_1_2.tif").unlink()
    with pytest.raises(DatasetError, match=r"image_1_2.tif has no label: expected .*label_1_2.tif"):
        load_tiles(root)


def test_label_of_another_size(tile_layout):
    image, _ = _pair(np.random.default_rng(4), 32)
    root = tile_layout("training", 1, 2, image, np.zeros((16, 16), np.float32))
    with pytest.raises(DatasetError, match=r"label_1_2.tif is 16x16 pixels; expected 32x32"):
        load_tiles(root)


def test_tiles_of_different_sizes(tile_layout):
    rng = np.random.default_rng(5)
    tile_layout("training", 1, 2, *_pair(rng, 32))
    root = tile_layout("training", 3, 4, *_pair(rng, 16))
    with pytest.raises(DatasetError, match=r"image_3_4.tif is 16x16 pixels; expected 32x32"):
        load_tiles(root)


def test_corrupt_tiff(tile_layout):
    root = tile_layout("training", 1, 2, *_pair(np.random.default_rng(6)))
    (root / "training/images/image_1_2.tif").write_bytes(b"II*\x00 this is not a tiff")
    with pytest.raises(DatasetError, match=r"image_1_2.tif could not be read"):
        load_tiles(root)


def test_wrong_band_counts(tile_layout, tmp_path):
    image, label = _pair(np.random.default_rng(7))
    root = tile_layout("training", 1, 2, image, label)
    write_raster(root / "training/images/image_1_2.tif", image[None, :, :, 0])
    with pytest.raises(DatasetError, match=r"image_1_2.tif has 1 band\(s\); expected 3"):
        load_tiles(root)
    write_raster(root / "training/images/image_1_2.tif", np.transpose(image, (2, 0, 1)))
    write_raster(root / "training/labels/label_1_2.tif", np.stack([label] * 3))
    with pytest.raises(DatasetError, match=r"label_1_2.tif has 3 band\(s\); expected 1"):
        load_tiles(root)


def test_values_out_of_range_and_bad_names(tile_layout):
    image, label = _pair(np.random.default_rng(8))
    root = tile_layout("training", 1, 2, image, label * 255)
    with pytest.raises(DatasetError, match=r"label_1_2.tif holds values outside \[0, 1\]"):
        load_tiles(root)
    root = tile_layout("validation", "north", 2, image, label)
    with pytest.raises(DatasetError, match=r"image_north_2.tif does not follow .*image_<x>_<y>.tif"):
        load_tiles(root, "validation")
