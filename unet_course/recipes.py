"""Recipes: the seed's way to train, and what gets further at a laptop's budget (docs/real-data.md, lesson 9).

A recipe is everything :func:`unet_course.train.train_unet` does besides the
profile's sizes: which pixels the network sees, how they are augmented, the
learning-rate schedule, whether the network normalises its activations, and
how the trained model predicts. Two are named:

- ``"seed"``: the seed's recipe exactly (the default of every lesson). The
  laptop profile shrinks the 256 px tiles to 128 px (half the ground
  resolution) and the seed's learning rate barely decays in a short run
  (0.9 per 1,000 batches: 2 % over the laptop's 160).
- ``"best-laptop"``: what measured best on the 32 real validation tiles
  at the laptop budget (``benchmarks/bench_recipes.py``, table in
  docs/real-data.md and lesson 9): BatchNorm with momentum 0.9 between every 3x3
  convolution and its relu (``build_unet(batch_norm=0.9)``: the seed's
  layers otherwise), random 128 px crops of the tiles at their full ground
  resolution instead of tiles shrunk to 128 px, and up to 30 epochs instead
  of the laptop profile's 10 (early stopping still on). Validation Dice
  0.68 and building F1 57 % (medians over 5 seeds) against the seed's
  recipe's 0.43 and 17 % (3 seeds); a run took 2-3.5 min on 2 shared cores.
  BatchNorm with Keras' momentum 0.99 failed: its moving averages had not
  settled in the run's ~160 batches. A cosine learning rate to zero,
  augmentation, the Dice loss alone and flips at test time did worse or no
  better, so they stay options and are not in it.

Every change is one field of :class:`Recipe`, so the benchmark can try them
one at a time (``dataclasses.replace(SEED, augment=True)``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

# TensorFlow and the data pipeline are imported where they are used, so that
# ``unet-course --help`` can list the recipes without loading TensorFlow.

__all__ = ["Recipe", "RECIPES", "SEED", "BEST_LAPTOP", "get_recipe", "data_profile",
           "quarter_tiles", "recipe_splits", "recipe_datasets", "recipe_schedule",
           "predict_with_recipe", "steps_per_run", "SCHEDULES"]

SCHEDULES = ("seed", "cosine")


@dataclass(frozen=True)
class Recipe:
    """How to train and predict, beyond the profile's sizes (see the module docstring).

    Attributes
    ----------
    name, summary : str
        The ``--recipe`` name and one line saying what it does.
    full_resolution : bool
        Load the tiles at twice the profile's size (the laptop profile: 256 px,
        the seed's ground resolution), train on random crops of the profile's
        size, validate and test on the tiles cut into quarters.
    augment : bool
        The course's :func:`unet_course.data.augment_pair` on every training tile (lesson 9).
    schedule : {"seed", "cosine"}
        The seed's exponential decay, or a cosine decay to zero over the run.
    batch_norm : bool or float
        ``build_unet(..., batch_norm=...)``: BatchNorm before every relu; True
        with Keras' momentum 0.99, a number for that momentum.
    loss : str, optional
        The loss (``"bce"``, ``"dice"``, ``"bce_dice"``) instead of the seed's
        BCE + Dice (a ``loss`` argument of ``train_unet`` wins).
    flips : bool
        Test-time augmentation: average the probabilities of the tile and its
        three flips (left-right, up-down, both).
    epochs : int, optional
        Most epochs, instead of the profile's (an ``epochs`` argument wins).
    """

    name: str
    summary: str
    full_resolution: bool = False
    augment: bool = False
    schedule: str = "seed"
    batch_norm: bool | float = False
    flips: bool = False
    epochs: int | None = None
    loss: str | None = None


SEED = Recipe("seed", "the seed's recipe exactly")
BEST_LAPTOP = Recipe("best-laptop", "BatchNorm (momentum 0.9), crops at full resolution, 30 epochs",
                     full_resolution=True, batch_norm=0.9, epochs=30)
RECIPES = {recipe.name: recipe for recipe in (SEED, BEST_LAPTOP)}


def get_recipe(recipe=None) -> Recipe:
    """A :class:`Recipe` from itself, its name, or None (the seed's)."""
    if recipe is None:
        return SEED
    if isinstance(recipe, Recipe):
        if recipe.schedule not in SCHEDULES:
            raise ValueError(f"recipe {recipe.name!r}: schedule {recipe.schedule!r}; "
                             f"expected one of {', '.join(SCHEDULES)}")
        return recipe
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; expected one of {', '.join(RECIPES)}")
    return RECIPES[recipe]


def data_profile(recipe, prof):
    """The profile to load tiles with: twice the tile size for a full-resolution recipe."""
    recipe = get_recipe(recipe)
    return replace(prof, image_size=2 * prof.image_size) if recipe.full_resolution else prof


def quarter_tiles(tiles, size: int):
    """Cut every ``S x S`` tile into ``(S / size) ** 2`` tiles of ``size`` pixels, row by row.

    Names get ``_r<row>c<col>``; origins stay the parent tile's.
    """
    from unet_course.data import TileSet

    n, side = len(tiles), tiles.images.shape[1]
    if side % size:
        raise ValueError(f"tiles of {side} px cannot be cut into {size} px tiles")
    k = side // size
    images = tiles.images.reshape(n, k, size, k, size, 3).transpose(0, 1, 3, 2, 4, 5)
    masks = tiles.masks.reshape(n, k, size, k, size).transpose(0, 1, 3, 2, 4)
    names = [f"{name}_r{r}c{c}" for name in tiles.names for r in range(k) for c in range(k)]
    return TileSet(images.reshape(-1, size, size, 3), masks.reshape(-1, size, size), names,
                   np.repeat(tiles.origins, k * k, axis=0))


def recipe_splits(recipe, splits, prof):
    """The splits a recipe trains on: unchanged, or validation and test cut to the profile's size."""
    from unet_course.data import Splits

    if not get_recipe(recipe).full_resolution:
        return splits
    return Splits(splits.train, quarter_tiles(splits.validation, prof.image_size),
                  quarter_tiles(splits.test, prof.image_size), note=splits.note)


def _crop_batches(ds, size, seed):
    """Crop every batch of ``(images, masks)`` at one random window of ``size`` pixels."""
    from unet_course.backend import tf

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2, drop_remainder=True)

    def crop(pair, window_seed):
        both = tf.concat(pair, axis=-1)
        shape = tf.concat([tf.shape(both)[:1], [size, size, tf.shape(both)[-1]]], axis=0)
        both = tf.image.stateless_random_crop(both, shape, window_seed)
        return both[..., :3], both[..., 3:]

    return tf.data.Dataset.zip((ds, seeds)).map(crop, num_parallel_calls=tf.data.AUTOTUNE)


def recipe_datasets(recipe, splits, prof, augment=False):
    """``(train_ds, val_ds)`` of :func:`unet_course.data.make_dataset`, as the recipe says."""
    from unet_course.data import make_dataset

    recipe = get_recipe(recipe)
    train = make_dataset(splits.train, prof.batch_size, shuffle=True,
                         augment=augment or recipe.augment, seed=prof.seed)
    if recipe.full_resolution:
        train = _crop_batches(train, prof.image_size, prof.seed)
    return train, make_dataset(splits.validation, prof.batch_size, shuffle=False)


def recipe_schedule(recipe, initial, steps):
    """The learning rate: None for the seed's (``compile_unet`` makes it), or a cosine to 0 over ``steps``."""
    from unet_course.backend import keras

    if get_recipe(recipe).schedule == "seed":
        return None
    return keras.optimizers.schedules.CosineDecay(float(initial), max(int(steps), 1))


def steps_per_run(n_train, prof, epochs):
    """Batches in a run of ``epochs`` epochs over ``n_train`` tiles."""
    return int(epochs) * math.ceil(n_train / prof.batch_size)


def predict_with_recipe(recipe, model, tiles, batch_size=8):
    """Building probabilities of ``tiles``; with ``flips``, averaged over the tile and its flips."""
    from unet_course.data import TileSet
    from unet_course.evaluate import predict_probabilities

    if not get_recipe(recipe).flips:
        return predict_probabilities(model, tiles, batch_size)
    total = 0.0
    for rows, cols in ((False, False), (False, True), (True, False), (True, True)):
        images = tiles.images[:, ::-1] if rows else tiles.images
        images = images[:, :, ::-1] if cols else images
        flipped = TileSet(np.ascontiguousarray(images), tiles.masks, tiles.names, tiles.origins)
        probs = predict_probabilities(model, flipped, batch_size)
        probs = probs[:, ::-1] if rows else probs
        total = total + (probs[:, :, ::-1] if cols else probs)
    return (total / 4).astype(np.float32)
