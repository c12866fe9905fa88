"""Tests of unet_course.lessons.explorers, headless: the sliders drive the numbers."""
import numpy as np
import pytest

from unet_course.data import TileSet
from unet_course.lessons.explorers import (
    THRESHOLDS,
    loss_explorer,
    loss_values,
    square_mask,
    square_prediction,
    threshold_explorer,
)
from unet_course.lessons.thresholds import THRESHOLDS as CURVE_THRESHOLDS
from unet_course.lessons.thresholds import threshold_curve

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def plain_losses(y, p, eps=1e-7):
    """Independent numpy BCE, soft Dice loss (smooth 1) and their sum."""
    p_clip = np.clip(p, eps, 1 - eps)
    bce = -np.mean(y * np.log(p_clip) + (1 - y) * np.log(1 - p_clip))
    dice = 1 - (2 * np.sum(y * p) + 1) / (np.sum(y) + np.sum(p) + 1)
    return bce, dice, bce + dice


def test_scene_helpers():
    mask = square_mask(4, scene_size=10)
    assert mask.sum() == 16 and mask[3:7, 3:7].all()
    assert not square_mask(0, 10).any()
    assert square_mask(10, 10).all()
    pred = square_prediction(4, 0.9, 0.2, scene_size=10)
    assert set(np.unique(pred)) == {0.2, 0.9}
    with pytest.raises(ValueError, match="side"):
        square_mask(11, 10)
    with pytest.raises(ValueError, match="inside"):
        square_prediction(4, 1.5, 0.2)


def test_loss_explorer_values_follow_the_sliders():
    explorer = loss_explorer()
    truth, pred = explorer.scene()
    assert truth.sum() == 16 * 16
    np.testing.assert_allclose(list(explorer.values.values()), plain_losses(truth, pred), rtol=1e-6)
    assert "BCE" in explorer.text.value and "Dice loss" in explorer.text.value
    assert "unet-loss-values" in explorer.text._dom_classes
    assert bytes(explorer.image.value).startswith(PNG_SIGNATURE)

    before = dict(explorer.values)
    explorer.inside.value = 0.99
    assert explorer.values["bce"] < before["bce"] and explorer.values["dice"] < before["dice"]
    # missing a small building entirely: Dice loss near 1, BCE small
    explorer.building_size.value = 3
    explorer.predicted_size.value = 0
    explorer.outside.value = 0.01
    assert explorer.values["dice"] > 0.9
    assert explorer.values["bce"] < 0.2
    np.testing.assert_allclose(list(explorer.values.values()), plain_losses(*explorer.scene()), rtol=1e-6)
    assert f"{explorer.values['dice']:.3f}" in explorer.text.value


def test_perfect_and_inverted_predictions():
    truth = square_mask(8, 16)
    perfect = loss_values(truth, truth)
    assert perfect["bce"] < 1e-6 and perfect["dice"] == pytest.approx(0.0)
    inverted = loss_values(truth, 1 - truth)
    assert inverted["bce"] > 15 and inverted["dice"] == pytest.approx(1 - 1 / (64 + 192 + 1))


def tiles_and_probs(seed=0):
    rng = np.random.default_rng(seed)
    masks = (rng.random((3, 16, 16)) < 0.2).astype(np.uint8)
    images = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    probs = np.clip(masks * 0.6 + rng.random((3, 16, 16)) * 0.5, 0, 1).astype(np.float32)
    names = [f"synthetic_{i:05d}" for i in range(3)]
    origins = np.zeros((3, 2))
    return TileSet(images, masks, names, origins), probs


def plain_scores(masks, probs, t):
    y, p = masks.astype(bool), probs > t
    tp, fp, fn = np.sum(y & p), np.sum(~y & p), np.sum(y & ~p)
    ratio = lambda a, b: 1.0 if b == 0 else a / b  # noqa: E731
    return ratio(tp, tp + fp), ratio(tp, tp + fn), ratio(2 * tp, 2 * tp + fp + fn)


def test_threshold_explorer_scores_follow_the_slider():
    tiles, probs = tiles_and_probs()
    explorer = threshold_explorer(tiles, probs)
    assert explorer.threshold.min == pytest.approx(0.05) and explorer.threshold.max == pytest.approx(0.95)
    assert bytes(explorer.image.value).startswith(PNG_SIGNATURE)
    drawn = [bytes(explorer.image.value)]
    for t in (0.05, 0.5, 0.95):
        explorer.threshold.value = t
        got = (explorer.scores["precision"], explorer.scores["recall"], explorer.scores["dice"])
        np.testing.assert_allclose(got, plain_scores(tiles.masks, probs, t))
        assert f"{explorer.scores['dice']:.3f}" in explorer.text.value
        drawn.append(bytes(explorer.image.value))
    # each move of the threshold slider redraws the picture...
    assert len(set(drawn[1:])) == 3
    # ...and so does the tile slider: the picture becomes that of tile 2 at threshold 0.95
    explorer.tile.value = 2
    assert bytes(explorer.image.value) != drawn[-1]
    assert bytes(explorer.image.value) == bytes(threshold_explorer(tiles, probs, 0.95, tile=2).image.value)
    curve = threshold_curve(tiles.masks, probs)
    assert THRESHOLDS is CURVE_THRESHOLDS and len(curve["dice"]) == len(THRESHOLDS) == 19
    # recall can only fall as the threshold rises
    assert np.all(np.diff(curve["recall"]) <= 0)


def test_threshold_explorer_accepts_a_channel_and_rejects_bad_shapes():
    tiles, probs = tiles_and_probs()
    explorer = threshold_explorer(tiles, probs[..., None], threshold=0.3)
    assert explorer.scores["recall"] == pytest.approx(plain_scores(tiles.masks, probs, 0.3)[1])
    with pytest.raises(ValueError, match="probs must have the shape"):
        threshold_explorer(tiles, probs[:, :8])
    with pytest.raises(ValueError, match="tiles must be a TileSet"):
        threshold_explorer(tiles.masks, probs)
