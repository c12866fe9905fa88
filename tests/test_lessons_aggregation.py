"""Tests for unet_course.lessons.aggregation (lesson 8: dataset Dice versus the mean of per-batch Dice)."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from unet_course.lessons.aggregation import (
    batch_slices,
    dice_summary,
    mean_batch_dice,
    per_batch_dice,
    plot_batch_dice,
)
from unet_course.metrics import dice_metric


def plain_dice(mask, prob, threshold=0.5):
    """Dice written out with plain numpy; 1.0 when nothing is there and nothing predicted."""
    pred = prob > threshold
    truth = mask.astype(bool)
    tp = np.sum(pred & truth)
    denominator = 2 * tp + np.sum(pred & ~truth) + np.sum(~pred & truth)
    return 1.0 if denominator == 0 else 2 * tp / denominator


@pytest.fixture
def pair():
    rng = np.random.default_rng(5)
    masks = (rng.uniform(size=(11, 6, 6)) < rng.uniform(0, 0.4, size=(11, 1, 1))).astype(np.uint8)
    masks[3] = 0                       # an empty tile
    masks[4] = 1                       # an all-building tile
    probs = np.clip(masks * 0.6 + rng.uniform(0, 0.5, size=masks.shape), 0, 1).astype(np.float32)
    probs[3] = 0.1                     # empty, predicted empty
    return masks, probs


def test_batch_slices():
    assert batch_slices(5, 2) == [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert batch_slices(0, 8) == []
    with pytest.raises(ValueError, match="batch_size"):
        batch_slices(5, 0)


def test_per_batch_dice_against_plain_numpy(pair):
    masks, probs = pair
    expected = [plain_dice(masks[i:i + 4], probs[i:i + 4]) for i in range(0, 11, 4)]
    np.testing.assert_allclose(per_batch_dice(masks, probs, 4), expected)
    tiles = [plain_dice(m, p) for m, p in zip(masks, probs)]
    summary = dice_summary(masks, probs, batch_size=4)
    assert summary["mean_of_tiles"] == pytest.approx(np.mean(tiles))
    assert summary["mean_of_batches"] == pytest.approx(np.mean(expected))
    assert summary["dataset"] == pytest.approx(plain_dice(masks, probs))
    assert summary["batches"] == 3


def test_one_batch_is_the_dataset(pair):
    masks, probs = pair
    assert mean_batch_dice(masks, probs, batch_size=len(masks)) == pytest.approx(plain_dice(masks, probs))


def test_edge_cases_perfect_inverted_empty():
    masks = np.array([[[1, 0], [0, 0]], [[0, 0], [0, 0]]], dtype=np.uint8)
    assert mean_batch_dice(masks, masks.astype(float), 1) == 1.0          # perfect, empty tile = 1.0
    inverted = 1.0 - masks
    np.testing.assert_allclose(per_batch_dice(masks, inverted, 1), [0.0, 0.0])
    # a single false alarm on the empty tile drops its Dice from 1 to 0
    alarm = masks.astype(float)
    alarm[1, 0, 0] = 0.9
    np.testing.assert_allclose(per_batch_dice(masks, alarm, 1), [1.0, 0.0])
    assert dice_summary(masks, alarm, 1)["dataset"] == pytest.approx(2 / 3)


def test_mean_of_batches_is_what_keras_reports_for_the_seed_metric(pair):
    masks, probs = pair
    passthrough = keras.Sequential([keras.Input(probs.shape[1:] + (1,)), keras.layers.Identity()])
    passthrough.compile(loss="mse", metrics=[dice_metric])
    logs = passthrough.evaluate(probs[..., None], masks[..., None].astype(np.float32),
                                batch_size=4, verbose=0, return_dict=True)
    assert logs["dice_metric"] == pytest.approx(mean_batch_dice(masks, probs, 4), rel=1e-5)


def test_bad_shapes_and_plot(pair):
    masks, probs = pair
    with pytest.raises(ValueError, match="same shape"):
        per_batch_dice(masks, probs[:3])
    fig = plot_batch_dice(masks, probs, batch_size=4)
    tiles_ax, batches_ax = fig.axes
    assert len(tiles_ax.collections[0].get_offsets()) == 11
    assert len(batches_ax.collections[0].get_offsets()) == 3
    np.testing.assert_allclose(batches_ax.collections[0].get_offsets()[:, 1], per_batch_dice(masks, probs, 4))
    for ax in fig.axes:
        assert ax.lines[1].get_ydata()[0] == pytest.approx(plain_dice(masks, probs))
