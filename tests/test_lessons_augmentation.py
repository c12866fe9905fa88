"""Tests for unet_course.lessons.augmentation (lesson 9: seeing and checking data augmentation)."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from unet_course.lessons.augmentation import (
    DIHEDRAL,
    augmented_examples,
    compare_scores,
    dihedral,
    matching_transform,
    plot_augmented_pairs,
    plot_validation_curves,
)


def tf_transform(array, name):
    """The same transform written with the tf.image calls augment_pair uses."""
    tensor = tf.constant(array)
    if name.startswith("flip"):
        tensor = tf.image.flip_left_right(tensor)
    turns = {"rot90": 1, "rot180": 2, "rot270": 3}.get(name.split("+")[-1], 0)
    return tf.image.rot90(tensor, turns).numpy()


@pytest.fixture
def tile():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    mask = (rng.uniform(size=(16, 16)) < 0.3).astype(np.uint8)
    return image, mask


@pytest.mark.parametrize("name", DIHEDRAL)
def test_dihedral_matches_tf_image(name):
    array = np.arange(5 * 5 * 2, dtype=np.float32).reshape(5, 5, 2)
    np.testing.assert_array_equal(dihedral(array, name), tf_transform(array, name))


def test_dihedral_gives_eight_different_results_and_rejects_bad_input():
    array = np.arange(9).reshape(3, 3)
    assert len({dihedral(array, name).tobytes() for name in DIHEDRAL}) == 8
    with pytest.raises(ValueError, match="name"):
        dihedral(array, "rot45")
    with pytest.raises(ValueError, match="dimensions"):
        dihedral(np.arange(3), "flip")


@pytest.mark.parametrize("name", DIHEDRAL)
def test_matching_transform_sees_through_brightness_and_contrast(tile, name):
    image = tile[0].astype(np.float64) / 255
    changed = np.clip((dihedral(image, name) - 0.5) * 1.15 + 0.5 + 0.05, 0, 1)
    found, correlation = matching_transform(image, changed)
    assert found == name and correlation > 0.95


def test_matching_transform_edge_cases():
    flat = np.zeros((4, 4))
    assert matching_transform(flat, flat) == ("identity", 0.0)
    with pytest.raises(ValueError, match="square"):
        matching_transform(np.zeros((4, 5)), np.zeros((4, 5)))


def test_augmented_examples_move_mask_with_image(tile):
    image, mask = tile
    examples = augmented_examples(image, mask, seeds=range(6))
    assert len(examples) == 6
    for aug_image, aug_mask in examples:
        name, correlation = matching_transform(image / 255.0, aug_image)
        assert correlation > 0.95
        np.testing.assert_array_equal(dihedral(mask, name), aug_mask)
        assert aug_image.min() >= 0 and aug_image.max() <= 1
    again = augmented_examples(image, mask, seeds=range(6))
    for (a, _), (b, _) in zip(examples, again):
        np.testing.assert_array_equal(a, b)          # a pure function of the seed
    with pytest.raises(ValueError, match="same size"):
        augmented_examples(image, mask[:8], seeds=[0])


def test_plot_augmented_pairs(tile):
    fig = plot_augmented_pairs(*tile, seeds=range(3))
    assert len(fig.axes) == 8
    assert fig.axes[0].get_title() == "original"
    assert all(title.split(": ")[1] in DIHEDRAL for title in (ax.get_title() for ax in fig.axes[1:4]))


def test_compare_scores_table():
    a = {"accuracy": 0.9, "precision": 0.5, "recall": 0.6, "dice": 0.55, "iou": 0.38}
    b = dict(a, dice=0.60, recall=0.7)
    lines = compare_scores({"without": a, "with": b}).splitlines()
    assert lines[0].split() == ["score", "without", "with", "change"]
    dice_row = next(line for line in lines if line.startswith("dice"))
    assert dice_row.split() == ["dice", "55.0", "%", "60.0", "%", "+5.0", "pt"]
    with pytest.raises(ValueError, match="two runs"):
        compare_scores({"only": a})
    with pytest.raises(ValueError, match="lacks"):
        compare_scores({"a": a, "b": {"dice": 0.1}})


def test_plot_validation_curves_marks_the_best_epoch():
    histories = {"x": {"val_loss": [1.0, 0.5, 0.7], "val_dice": [0.1, 0.4, 0.3]},
                 "y": {"val_loss": [0.9, 0.8], "val_dice": [0.2, 0.1]}}
    fig = plot_validation_curves(histories)
    loss_ax, dice_ax = fig.axes
    assert loss_ax.lines[1].get_xdata()[0] == 2 and loss_ax.lines[1].get_ydata()[0] == 0.5
    assert dice_ax.lines[3].get_xdata()[0] == 1 and dice_ax.lines[3].get_ydata()[0] == 0.2
    with pytest.raises(ValueError, match="val_dice"):
        plot_validation_curves({"z": {"val_loss": [1.0]}})
