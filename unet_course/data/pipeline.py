"""The tf.data input pipeline: scale, cache, shuffle, augment, batch, prefetch.

Lesson 1, "Aerial tiles and masks", builds the pipeline; lesson 9, "Data
augmentation", switches on :func:`augment_pair`. Augmentation must move the
image and its mask together: a flip or a 90 degree rotation applied to one
and not the other teaches the model to draw buildings where there are none.
Brightness and contrast change the image only, and masks stay 0/1.
"""
from __future__ import annotations

import numpy as np

from unet_course.backend import tf
from unet_course.data.errors import DatasetError
from unet_course.data.tiles import TileSet
from unet_course.validate import whole_number

BRIGHTNESS = 0.1               # added to the [0, 1] image, up to +-
CONTRAST = (0.8, 1.2)          # factor around each image's mean


def scale_image(image):
    """Scale 0-255 pixel values to float32 in [0, 1] (lesson 1).

    Accepts a numpy array (returns numpy) or a tensor (returns a tensor), so
    the same function serves notebooks and the tf.data pipeline.
    """
    if isinstance(image, np.ndarray):
        return image.astype(np.float32) / np.float32(255.0)
    return tf.cast(image, tf.float32) / 255.0


def augment_pair(image, mask, seed):
    """Randomly flip, rotate, brighten and re-contrast one tile (lesson 9).

    The same random flip and quarter turn go to ``image`` and ``mask``;
    brightness and contrast change the image only. The result is a pure
    function of ``seed`` (stateless random ops).

    Parameters
    ----------
    image : tf.Tensor
        float32 ``(H, W, 3)`` in [0, 1].
    mask : tf.Tensor
        float32 ``(H, W, 1)`` of 0/1.
    seed : tf.Tensor or tuple
        Two integers for ``tf.random.stateless_*``.

    Returns
    -------
    image, mask : tf.Tensor
        The image still in [0, 1], the mask still 0/1, same shapes.
    """
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
    seeds = tf.random.experimental.stateless_split(seed, num=5)
    flip = tf.random.stateless_uniform([], seeds[0]) < 0.5
    image = tf.cond(flip, lambda: tf.image.flip_left_right(image), lambda: image)
    mask = tf.cond(flip, lambda: tf.image.flip_left_right(mask), lambda: mask)
    square = image.shape[0] is not None and image.shape[0] == image.shape[1]
    if square:                                               # quarter turns keep a square tile's shape
        turns = tf.random.stateless_uniform([], seeds[1], 0, 4, dtype=tf.int32)
        image, mask = tf.image.rot90(image, turns), tf.image.rot90(mask, turns)
    else:
        flip_ud = tf.random.stateless_uniform([], seeds[1]) < 0.5
        image = tf.cond(flip_ud, lambda: tf.image.flip_up_down(image), lambda: image)
        mask = tf.cond(flip_ud, lambda: tf.image.flip_up_down(mask), lambda: mask)
    delta = tf.random.stateless_uniform([], seeds[2], -BRIGHTNESS, BRIGHTNESS)
    factor = tf.random.stateless_uniform([], seeds[3], *CONTRAST)
    mean = tf.reduce_mean(image)
    image = tf.clip_by_value((image - mean) * factor + mean + delta, 0.0, 1.0)
    return image, mask


def _to_float(image, mask):
    return scale_image(image), tf.cast(mask, tf.float32)[..., tf.newaxis]


def make_dataset(tiles: TileSet, batch_size: int = 8, shuffle: bool = True, augment: bool = False,
                 cache: bool = True, seed: int = 42) -> tf.data.Dataset:
    """Build the training or evaluation input pipeline for a :class:`TileSet` (lesson 1).

    Steps, in the seed's order: scale images to [0, 1] and masks to float;
    cache; shuffle (a new order every epoch, reproducible from ``seed``);
    augment (new random transforms every epoch, lesson 9); batch; prefetch.

    Parameters
    ----------
    tiles : TileSet
        Images uint8 ``(N, H, W, 3)`` and masks uint8 ``(N, H, W)``.
    batch_size : int
        Tiles per batch; the last batch may be smaller.
    shuffle : bool
        Shuffle tiles every epoch (training); keep the order for evaluation.
    augment : bool
        Apply :func:`augment_pair` to every tile.
    cache : bool
        Keep the scaled tiles in memory after the first epoch.
    seed : int
        Seed for the shuffle order and the augmentations.

    Returns
    -------
    tf.data.Dataset
        Yields ``(images float32 (B, H, W, 3) in [0, 1], masks float32 (B, H, W, 1))``.
    """
    if not isinstance(tiles, TileSet):
        raise DatasetError(f"make_dataset got {type(tiles).__name__}; expected a TileSet")
    if len(tiles) == 0:
        raise DatasetError("make_dataset got an empty TileSet; expected at least one tile")
    whole_number(batch_size, "batch_size", error=DatasetError)
    ds = tf.data.Dataset.from_tensor_slices((tiles.images, tiles.masks))
    ds = ds.map(_to_float, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(tiles), seed=seed, reshuffle_each_iteration=True)
    if augment:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        seeds = seeds.batch(2, drop_remainder=True)             # two integers per tile
        ds = tf.data.Dataset.zip((ds, seeds))
        ds = ds.map(lambda pair, s: augment_pair(pair[0], pair[1], s),
                    num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(int(batch_size)).prefetch(tf.data.AUTOTUNE)
