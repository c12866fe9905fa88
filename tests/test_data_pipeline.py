"""The tf.data pipeline and paired augmentation (lessons 1 and 9)."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from unet_course.data import DatasetError, TileSet, augment_pair, make_dataset, scale_image


def _tiles(n=10, size=16, seed=0):
    """Tiles whose mask can be read back from the image: band 0 is 76 off a building, 178 on it."""
    rng = np.random.default_rng(seed)
    masks = (rng.random((n, size, size)) < 0.3).astype(np.uint8)
    masks[:, 0, :3] = 1                                      # an asymmetric mark: every flip and turn shows
    images = rng.integers(0, 256, (n, size, size, 3)).astype(np.uint8)
    images[..., 0] = np.where(masks == 1, 178, 76)
    return TileSet(images, masks, [f"t{i}" for i in range(n)], np.zeros((n, 2)))


def _mask_from_image(image):
    band = image[..., 0]
    return (band > (band.min() + band.max()) / 2).astype(np.float32)


def test_scale_image_numpy_and_tensor():
    pixels = np.array([0, 51, 255], np.uint8)
    assert scale_image(pixels).dtype == np.float32
    assert scale_image(pixels).tolist() == pytest.approx([0.0, 0.2, 1.0])
    tensor = scale_image(tf.constant(pixels))
    assert tensor.dtype == tf.float32 and tensor.numpy().tolist() == pytest.approx([0.0, 0.2, 1.0])


def test_dataset_shapes_types_and_order_without_shuffle():
    tiles = _tiles(10)
    batches = list(make_dataset(tiles, batch_size=4, shuffle=False))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    images, masks = batches[0]
    assert images.dtype == tf.float32 and images.shape == (4, 16, 16, 3)
    assert masks.dtype == tf.float32 and masks.shape == (4, 16, 16, 1)
    assert np.allclose(images.numpy(), tiles.images[:4] / 255.0)
    assert np.array_equal(masks.numpy()[..., 0], tiles.masks[:4])
    uncached = list(make_dataset(tiles, batch_size=4, shuffle=False, cache=False))
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(batches, uncached))


def test_shuffle_is_reproducible_and_changes_every_epoch():
    tiles = _tiles(12)

    def first_pixels(ds):
        return np.concatenate([img.numpy()[:, 5, 5, 1] for img, _ in ds])

    a, b = make_dataset(tiles, 4, seed=1), make_dataset(tiles, 4, seed=1)
    epoch1, epoch2 = first_pixels(a), first_pixels(a)
    assert np.array_equal(epoch1, first_pixels(b))            # same seed, same order
    assert not np.array_equal(epoch1, epoch2)                 # a new order in the next epoch
    assert np.allclose(np.sort(epoch1), np.sort(tiles.images[:, 5, 5, 1] / 255.0))   # every tile once


def test_augment_pair_moves_image_and_mask_together():
    tiles = _tiles(1, 16)
    image = tf.constant(tiles.images[0] / 255.0, tf.float32)
    mask = tf.constant(tiles.masks[0][..., None], tf.float32)
    seen = set()
    for seed in range(40):
        aug_image, aug_mask = (t.numpy() for t in augment_pair(image, mask, (seed, 7)))
        assert aug_image.shape == (16, 16, 3) and aug_mask.shape == (16, 16, 1)
        assert 0.0 <= aug_image.min() and aug_image.max() <= 1.0
        assert set(np.unique(aug_mask)) <= {0.0, 1.0}
        assert np.array_equal(_mask_from_image(aug_image), aug_mask[..., 0])
        seen.add(aug_mask.tobytes())
        again = augment_pair(image, mask, (seed, 7))[0].numpy()
        assert np.array_equal(again, aug_image)              # a pure function of the seed
    # independent check: the outcomes are among the 8 flips/turns of the square, and most of them occur
    dihedral = {np.rot90(m, k).tobytes() for m in (tiles.masks[0], tiles.masks[0][:, ::-1]) for k in range(4)}
    as_float = {np.frombuffer(s, np.float32).reshape(16, 16).astype(np.uint8).tobytes() for s in seen}
    assert as_float <= dihedral and len(as_float) >= 6


def test_brightness_and_contrast_stay_in_range_on_extreme_images():
    image = tf.constant(np.where(np.arange(64).reshape(8, 8, 1) % 2, 1.0, 0.0) * np.ones(3), tf.float32)
    mask = tf.zeros((8, 8, 1))
    changed = 0
    for seed in range(20):
        out, out_mask = augment_pair(image, mask, (seed, 1))
        assert 0.0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 1.0
        assert float(tf.reduce_max(out_mask)) == 0.0
        changed += not np.allclose(np.sort(out.numpy().ravel()), np.sort(image.numpy().ravel()))
    assert changed >= 15


def test_augmented_dataset_keeps_pairs_consistent_and_varies_by_epoch():
    tiles = _tiles(8, 16, seed=3)
    ds = make_dataset(tiles, batch_size=4, augment=True, seed=5)
    epochs = []
    for _ in range(2):
        images, masks = (np.concatenate(parts) for parts in zip(*[(i.numpy(), m.numpy()) for i, m in ds]))
        assert images.shape == (8, 16, 16, 3) and masks.shape == (8, 16, 16, 1)
        assert 0.0 <= images.min() and images.max() <= 1.0 and set(np.unique(masks)) <= {0.0, 1.0}
        for image, mask in zip(images, masks):
            assert np.array_equal(_mask_from_image(image), mask[..., 0])
        epochs.append(masks)
    assert not np.array_equal(epochs[0], epochs[1])
    same = make_dataset(tiles, batch_size=4, augment=True, seed=5)
    assert np.array_equal(np.concatenate([m.numpy() for _, m in same]), epochs[0])


def test_make_dataset_bad_input():
    with pytest.raises(DatasetError, match="expected a TileSet"):
        make_dataset(np.zeros((2, 4, 4, 3)))
    empty = TileSet(np.zeros((0, 4, 4, 3), np.uint8), np.zeros((0, 4, 4), np.uint8), [], np.zeros((0, 2)))
    with pytest.raises(DatasetError, match="empty TileSet"):
        make_dataset(empty)
    with pytest.raises(DatasetError, match="batch_size must be a whole number >= 1, got 0"):
        make_dataset(_tiles(2), batch_size=0)
