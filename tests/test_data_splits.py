"""Random and spatial block splits (lesson 2)."""
from __future__ import annotations

import numpy as np
import pytest

from unet_course.data import DatasetError, random_split, spatial_block_split, synthetic_tiles
from unet_course.data.splits import split_sizes


def _check_partition(parts, n):
    joined = np.concatenate(parts)
    assert len(joined) == n and np.array_equal(np.sort(joined), np.arange(n))
    for part in parts:
        assert part.dtype == np.int64 and np.array_equal(part, np.sort(part))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 10, 96, 100, 101, 500])
def test_random_split_is_a_partition_with_the_right_sizes(n):
    parts = random_split(n, (0.7, 0.15, 0.15), seed=3)
    _check_partition(parts, n)
    sizes = [len(p) for p in parts]
    # independent rule: each size is the exact share rounded down or up, and they add up to n
    for size, share in zip(sizes, (0.7, 0.15, 0.15)):
        assert np.floor(share * n) <= size <= np.ceil(share * n)
    assert sizes == split_sizes(n).tolist()


def test_random_split_sizes_of_the_seed():
    assert [len(p) for p in random_split(100)] == [70, 15, 15]
    assert [len(p) for p in random_split(3347)] == [2343, 502, 502]


def test_random_split_is_deterministic_per_seed():
    a, b, c = random_split(200, seed=7), random_split(200, seed=7), random_split(200, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("fractions", [(0.7, 0.2, 0.2), (0.5, 0.5), (1.2, -0.1, -0.1)])
def test_bad_fractions(fractions):
    with pytest.raises(DatasetError, match="fractions=.*sum to 1"):
        random_split(10, fractions)


def test_random_split_rejects_bad_n():
    with pytest.raises(DatasetError, match="n must be a whole number >= 0, got -1"):
        random_split(-1)


def _grid_origins(columns, rows, step=300.0):
    return np.array([(c * step, r * step) for r in range(rows) for c in range(columns)], np.float64)


def test_no_block_straddles_splits():
    origins = _grid_origins(20, 20)
    parts = spatial_block_split(origins, block_size=1200.0, seed=1)
    _check_partition(parts, len(origins))
    split_of = np.empty(len(origins), int)
    for s, part in enumerate(parts):
        split_of[part] = s
    blocks = {}
    for i, (x, y) in enumerate(origins):                      # independent block key
        blocks.setdefault((int(x // 1200), int(y // 1200)), set()).add(split_of[i])
    assert len(blocks) == 25 and all(len(s) == 1 for s in blocks.values())
    sizes = np.array([len(p) for p in parts]) / len(origins)
    assert np.allclose(sizes, (0.7, 0.15, 0.15), atol=0.08)


def test_spatial_split_sizes_near_targets_with_small_blocks():
    origins = _grid_origins(30, 30)
    parts = spatial_block_split(origins, block_size=300.0, seed=2)
    assert [len(p) for p in parts] == [630, 135, 135]


def test_spatial_split_is_deterministic_and_keeps_splits_non_empty():
    origins = _grid_origins(12, 4)                            # only 3 blocks of 4 x 4 tiles
    for seed in range(10):
        parts = spatial_block_split(origins, seed=seed)
        assert all(len(p) == 16 for p in parts)
    a, b = spatial_block_split(_grid_origins(16, 16), seed=5), spatial_block_split(_grid_origins(16, 16), seed=5)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    train_only = spatial_block_split(origins, fractions=(1.0, 0.0, 0.0))
    assert [len(p) for p in train_only] == [48, 0, 0]


def test_spatial_split_keeps_each_synthetic_scene_together():
    tiles = synthetic_tiles(96, 16, seed=0)
    parts = spatial_block_split(tiles.origins)
    for s, part in enumerate(parts):
        scenes = {int(name.split("_")[1]) // 16 for name in np.array(tiles.names)[part]}
        for other in parts[s + 1:]:
            assert not scenes & {int(name.split("_")[1]) // 16 for name in np.array(tiles.names)[other]}
    assert [len(p) for p in parts] == [64, 16, 16]


def test_spatial_split_bad_input():
    with pytest.raises(DatasetError, match=r"origins have shape \(3,\); expected \(N, 2\)"):
        spatial_block_split(np.zeros(3))
    with pytest.raises(DatasetError, match="block_size=0"):
        spatial_block_split(np.zeros((3, 2)), block_size=0)
