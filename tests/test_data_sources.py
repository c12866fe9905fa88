"""From a source string to train / validation / test tiles (lesson 1)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from unet_course import profile
from unet_course.data import DatasetError, Splits, TileSet, load_data, resize_tiles
from unet_course.data.sources import parse_source

SMALL = replace(profile("smoke"), n_tiles=40, image_size=32, seed=3)


def test_parse_source():
    assert parse_source("synthetic") == ("synthetic", None)
    kind, path = parse_source("tiles:/data/mass tiles")
    assert kind == "tiles" and str(path) == "/data/mass tiles"
    assert parse_source("massachusetts:data/cache")[0] == "massachusetts"


@pytest.mark.parametrize("source", ["synthetc", "tiles", "tiles:", "s3://bucket", "synthetic:x", 42])
def test_bad_source_string_is_named(source):
    with pytest.raises(DatasetError, match=rf"data source {source!r}: expected one of synthetic, tiles:PATH"):
        load_data(source, SMALL)


def test_synthetic_random_split():
    data = load_data("synthetic", SMALL)
    assert isinstance(data, Splits)
    assert [len(data.train), len(data.validation), len(data.test)] == [28, 6, 6]
    assert data.train.images.shape[1:] == (32, 32, 3)
    names = data.train.names + data.validation.names + data.test.names
    assert sorted(names) == [f"synthetic_{i:05d}" for i in range(40)]
    again = load_data(None, SMALL)                            # None: the profile's own source
    assert again.test.names == data.test.names and np.array_equal(again.test.images, data.test.images)


def test_synthetic_spatial_split_keeps_blocks_apart():
    prof = replace(SMALL, n_tiles=96)
    data = load_data("synthetic", prof, split="spatial")
    blocks = [{tuple(b) for b in np.floor(part.origins / 1200)} for part in (data.train, data.validation, data.test)]
    assert not (blocks[0] & blocks[1]) and not (blocks[0] & blocks[2]) and not (blocks[1] & blocks[2])
    assert [len(data.train), len(data.validation), len(data.test)] == [64, 16, 16]
    with pytest.raises(DatasetError, match="split='blocks'"):
        load_data("synthetic", prof, split="blocks")


def test_source_from_the_environment(monkeypatch, tile_layout):
    rng = np.random.default_rng(0)
    for split in ("training", "validation", "test"):
        root = tile_layout(split, 100, 200, rng.integers(0, 256, (64, 64, 3)).astype(np.float32),
                           (rng.random((64, 64)) < 0.5).astype(np.float32))
    monkeypatch.setenv("UNET_COURSE_DATA", f"tiles:{root}")
    data = load_data(prof=replace(profile("smoke"), image_size=32))
    assert [len(data.train), len(data.validation), len(data.test)] == [1, 1, 1]
    assert data.train.images.shape == (1, 32, 32, 3) and data.train.names == ["image_100_200"]


def test_massachusetts_source_keeps_official_splits(official_layout):
    rng = np.random.default_rng(1)
    for split, name in (("train", "a"), ("valid", "b"), ("test", "c")):
        root = official_layout(split, name, rng.integers(0, 250, (300, 300, 3)).astype(np.uint8),
                               (rng.random((300, 300)) < 0.2).astype(np.uint8))
    data = load_data(f"massachusetts:{root}", replace(SMALL, image_size=64))
    assert data.validation.names[0].startswith("b_") and data.test.names[0].startswith("c_")
    assert data.train.images.shape == (4, 64, 64, 3)


def _blocks(part, size=1200.0):
    return {tuple(b) for b in np.floor(part.origins / size)}


def test_tiles_source_honours_the_spatial_split(tile_layout):
    """Pooled from the three folders, then dealt out by 1200 m blocks: no block in two splits."""
    rng = np.random.default_rng(4)
    folders = ("training", "validation", "test")
    for n, (x, y) in enumerate((x, y) for y in (0, 1500, 3000) for x in range(0, 3600, 300)):
        root = tile_layout(folders[n % 3], x, y, rng.integers(0, 256, (16, 16, 3)).astype(np.float32),
                           (rng.random((16, 16)) < 0.3).astype(np.float32))
    prof = replace(SMALL, image_size=16)
    own = load_data(f"tiles:{root}", prof)
    assert [len(own.train), len(own.validation), len(own.test)] == [12, 12, 12]
    assert _blocks(own.train) & _blocks(own.test)                # the folders' split mixes blocks
    data = load_data(f"tiles:{root}", prof, split="spatial")
    parts = (data.train, data.validation, data.test)
    blocks = [_blocks(part) for part in parts]
    assert not (blocks[0] & blocks[1]) and not (blocks[0] & blocks[2]) and not (blocks[1] & blocks[2])
    assert sorted(sum((part.names for part in parts), [])) == sorted(
        own.train.names + own.validation.names + own.test.names)
    assert len(data.train) > len(data.validation) > 0 and len(data.test) > 0
    before = {name: image for part in (own.train, own.validation, own.test)
              for name, image in zip(part.names, part.images)}
    for part in parts:                                            # images travel with their names
        for name, image, mask in zip(part.names, part.images, part.masks):
            assert np.array_equal(before[name], image) and mask.shape == (16, 16)


def test_massachusetts_source_honours_the_spatial_split(official_layout):
    rng = np.random.default_rng(5)
    for split, name in (("train", "a"), ("valid", "b"), ("test", "c")):
        root = official_layout(split, name, rng.integers(0, 250, (600, 600, 3)).astype(np.uint8),
                               (rng.random((600, 600)) < 0.2).astype(np.uint8))
    prof = replace(SMALL, image_size=32)
    own = load_data(f"massachusetts:{root}", prof)
    data = load_data(f"massachusetts:{root}", prof, split="spatial")
    blocks = [_blocks(part) for part in (data.train, data.validation, data.test)]
    assert not (blocks[0] & blocks[1]) and not (blocks[0] & blocks[2]) and not (blocks[1] & blocks[2])
    assert sorted(data.train.names + data.validation.names + data.test.names) == sorted(
        own.train.names + own.validation.names + own.test.names)


def test_missing_folder_sources(tmp_path):
    with pytest.raises(DatasetError, match=r"nowhere is not a folder; expected the tiles data"):
        load_data(f"tiles:{tmp_path / 'nowhere'}", SMALL)
    with pytest.raises(DatasetError, match=r"download_massachusetts"):
        load_data(f"massachusetts:{tmp_path / 'nowhere'}", SMALL)


def test_resize_tiles_against_block_means():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (3, 8, 8, 3)).astype(np.uint8)
    masks = (rng.random((3, 8, 8)) < 0.4).astype(np.uint8)
    masks[0] = 0
    masks[1] = 1
    tiles = TileSet(images, masks, ["a", "b", "c"], np.arange(6).reshape(3, 2))
    small = resize_tiles(tiles, 4)
    block_mean = images.reshape(3, 4, 2, 4, 2, 3).astype(np.float64).mean(axis=(2, 4))
    assert np.abs(small.images.astype(float) - block_mean).max() <= 0.5 + 1e-6
    coverage = masks.reshape(3, 4, 2, 4, 2).mean(axis=(2, 4))
    assert np.array_equal(small.masks, (coverage >= 0.5).astype(np.uint8))   # the threshold rule
    assert small.masks[0].max() == 0 and small.masks[1].min() == 1
    assert small.names == tiles.names and np.array_equal(small.origins, tiles.origins)
    assert resize_tiles(tiles, 8) is tiles
    large = resize_tiles(tiles, 16)
    assert large.images.shape == (3, 16, 16, 3) and set(np.unique(large.masks)) <= {0, 1}
    with pytest.raises(DatasetError, match="size must be a whole number >= 1, got 0"):
        resize_tiles(tiles, 0)


def test_tiles_without_a_test_folder_are_scored_on_validation_and_say_so(tile_layout, capsys):
    rng = np.random.default_rng(1)
    for split, x in (("training", 100), ("validation", 900)):
        root = tile_layout(split, x, 200, rng.integers(0, 256, (32, 32, 3)).astype(np.float32),
                           (rng.random((32, 32)) < 0.5).astype(np.float32))
    prof = replace(profile("smoke"), image_size=32)
    data = load_data(f"tiles:{root}", prof)
    assert data.test.names == data.validation.names == ["image_900_200"]
    assert "no test/ folder" in data.note and "validation" in data.note
    assert "Note:" in capsys.readouterr().out
    with pytest.raises(DatasetError, match=r"tiles/test/images is not a folder"):
        load_data(f"tiles:{root}", prof, without_test="error")
    with pytest.raises(DatasetError, match=r"without_test='skip'"):
        load_data(f"tiles:{root}", prof, without_test="skip")
    assert load_data(f"tiles:{root}", prof, split="spatial").note == ""
