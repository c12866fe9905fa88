"""Recipes: the seed's (the default) and best-laptop, each change checked on smoke-sized data."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import unet_course
from unet_course import recipes
from unet_course.backend import keras
from unet_course.cli import build_parser
from unet_course.data import Splits, resize_tiles, synthetic_tiles
from unet_course.footprints.scene import SOURCE_TILE, training_scale
from unet_course.model import build_unet
from unet_course.train import train_unet

SMOKE = replace(unet_course.profile("smoke"), image_size=32, epochs=2)


def test_recipes_are_named_and_the_seed_is_the_default():
    assert recipes.get_recipe() is recipes.SEED == recipes.get_recipe("seed")
    assert recipes.get_recipe("best-laptop") is recipes.BEST_LAPTOP
    seed = recipes.SEED
    assert not (seed.full_resolution or seed.augment or seed.batch_norm or seed.flips)
    assert seed.schedule == "seed"
    with pytest.raises(ValueError, match="unknown recipe 'fast'; expected one of seed, best-laptop"):
        recipes.get_recipe("fast")
    with pytest.raises(ValueError, match="schedule 'linear'"):
        recipes.get_recipe(replace(seed, schedule="linear"))
    assert build_parser().parse_args(["train", "--out", "x"]).recipe == "seed"
    assert build_parser().parse_args(["evaluate", "--out", "x", "--recipe", "best-laptop"]).recipe == "best-laptop"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--out", "x", "--recipe", "fast"])


def test_quarter_tiles_cover_every_pixel_once():
    tiles = synthetic_tiles(2, size=64, seed=1)
    quarters = recipes.quarter_tiles(tiles, 32)
    assert quarters.images.shape == (8, 32, 32, 3) and quarters.names[1] == f"{tiles.names[0]}_r0c1"
    assert np.array_equal(quarters.images[1], tiles.images[0, :32, 32:])
    assert np.array_equal(quarters.masks[6], tiles.masks[1, 32:, :32])
    assert quarters.masks.sum() == tiles.masks.sum()
    with pytest.raises(ValueError, match="64 px cannot be cut into 48 px"):
        recipes.quarter_tiles(tiles, 48)


def test_cosine_schedule_reaches_zero_at_the_last_step():
    assert recipes.recipe_schedule(recipes.SEED, 1e-3, 100) is None        # compile_unet's own
    cosine = recipes.recipe_schedule(replace(recipes.SEED, schedule="cosine"), 1e-3, 100)
    for step in (0, 25, 50, 100):
        assert float(cosine(step)) == pytest.approx(0.5e-3 * (1 + np.cos(np.pi * step / 100)), abs=1e-9)


def test_batch_norm_is_an_option_beside_the_seed_network():
    plain = build_unet((32, 32, 3), filters=4)
    normed = build_unet((32, 32, 3), filters=4, batch_norm=True)
    kinds = [type(layer).__name__ for layer in normed.layers]
    assert "BatchNormalization" not in [type(layer).__name__ for layer in plain.layers]
    assert kinds.count("BatchNormalization") == 18                     # two per block, nine blocks
    conv_filters = [layer.filters for layer in normed.layers
                    if type(layer).__name__ == "Conv2D" and layer.kernel_size == (3, 3)]
    # each BatchNorm adds gamma, beta, moving mean and variance per filter; nothing else changes
    assert normed.count_params() == plain.count_params() + 4 * sum(conv_filters)
    momenta = {layer.momentum for layer in normed.layers if type(layer).__name__ == "BatchNormalization"}
    assert momenta == {0.99}                                            # Keras' default
    settled = build_unet((32, 32, 3), filters=4, batch_norm=0.9)
    assert {layer.momentum for layer in settled.layers
            if type(layer).__name__ == "BatchNormalization"} == {0.9}
    assert settled.count_params() == normed.count_params()
    for bad in (1.5, 0, "yes"):
        with pytest.raises(ValueError, match="batch_norm must be True, False or a momentum between 0 and 1"):
            build_unet((32, 32, 3), filters=4, batch_norm=bad)


def test_flips_at_test_time_average_the_four_flips():
    tiles = synthetic_tiles(3, size=32, seed=2)
    model = build_unet((32, 32, 3), filters=4)
    images = tiles.images.astype(np.float32) / 255
    expected = np.mean([np.flip(model.predict(np.flip(images, axes), verbose=0)[..., 0], axes)
                        for axes in ((), (1,), (2,), (1, 2))], axis=0)
    probs = recipes.predict_with_recipe(replace(recipes.SEED, flips=True), model, tiles, batch_size=2)
    assert probs.shape == (3, 32, 32)
    assert np.allclose(probs, expected, atol=1e-5)
    plain = recipes.predict_with_recipe(recipes.SEED, model, tiles, batch_size=2)
    assert np.allclose(plain, model.predict(images, verbose=0)[..., 0], atol=1e-5)


def test_best_laptop_and_every_change_train(tmp_path):
    best = recipes.BEST_LAPTOP                         # the seed's, with three changes measured in the README
    assert (best.epochs, best.batch_norm, best.full_resolution) == (30, 0.9, True)
    assert replace(best, name="seed", summary=recipes.SEED.summary, epochs=None, batch_norm=False,
                   full_resolution=False) == recipes.SEED
    crop = replace(best, name="crop")
    tiles = synthetic_tiles(12, size=64, seed=3)                      # twice the profile's 32 px
    data = Splits(tiles.subset(np.arange(8)), tiles.subset(np.arange(8, 10)), tiles.subset(np.arange(10, 12)))
    crops, val = recipes.recipe_datasets(crop, recipes.recipe_splits(crop, data, SMOKE), SMOKE)
    images, masks = next(iter(crops))
    assert images.shape == (8, 32, 32, 3) and masks.shape == (8, 32, 32, 1)
    assert next(iter(val))[0].shape == (8, 32, 32, 3)                # 2 tiles, 4 quarters each
    everything = replace(crop, name="everything", batch_norm=0.9, schedule="cosine", epochs=1, loss="dice")
    result = train_unet(SMOKE, tmp_path / "run", data=data, verbose=0, recipe=everything)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["recipe"] == "everything" and info["status"] == "finished"
    assert info["max_epochs"] == info["epochs_run"] == 1                 # the recipe's epochs win
    assert info["loss"] == "dice"                                        # the recipe's loss
    # crops at the tiles' own resolution: prediction resamples scenes by 64 / 256, not 32 / 256
    assert info["data_tile_size"] == 64 and training_scale(tmp_path / "run") == 64 / SOURCE_TILE
    assert result.model.input_shape == (None, 32, 32, 3)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in result.model.layers)
    schedule = result.model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay) and schedule.decay_steps == 1
    with pytest.raises(ValueError, match="training tiles are 32x32 pixels but profile 'smoke' expects 64x64"):
        half = Splits(*(resize_tiles(t.subset(np.arange(2)), 32)
                        for t in (data.train, data.validation, data.test)))
        train_unet(SMOKE, tmp_path / "small", verbose=0, recipe=crop, data=half)
