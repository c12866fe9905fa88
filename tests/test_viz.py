"""Figures of lessons 1, 7 and 8: error-map colours pixel by pixel, PNG output."""
from __future__ import annotations

import csv

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

from unet_course import viz
from unet_course.data import TileSet

TP, FP, FN = (np.array(viz.ERROR_COLOURS[key], dtype=float) for key in ("tp", "fp", "fn"))


def luma(rgb):
    """Independent greyscale: ITU-R BT.601 weights, pixel by pixel."""
    rgb = np.asarray(rgb, dtype=float)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def hand_made():
    """2x2 image; top-left TP, top-right FN, bottom-left FP, bottom-right TN."""
    image = np.array([[[200, 10, 10], [10, 200, 10]], [[10, 10, 200], [120, 120, 120]]], np.uint8)
    y_true = np.array([[1, 1], [0, 0]], np.uint8)
    y_pred = np.array([[1, 0], [1, 0]], np.uint8)
    return image, y_true, y_pred


def tiles_with_blocks(n=3, size=64):
    """Tiles whose left half is building; predictions cover the top-left quadrant only."""
    rng = np.random.default_rng(0)
    images = rng.integers(60, 200, size=(n, size, size, 3), dtype=np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    masks[:, :, : size // 2] = 1
    probs = np.zeros((n, size, size), np.float32)
    probs[:, : size // 2, : size // 2] = 0.9
    probs[:, size // 2 :, size // 2 :] = 0.8  # false alarm in the bottom-right quadrant
    names = [f"synthetic_{i:05d}" for i in range(n)]
    return TileSet(images, masks, names, np.zeros((n, 2))), probs


def test_opaque_error_map_has_the_outcome_colours():
    image, y_true, y_pred = hand_made()
    out = viz.error_map(image, y_true, y_pred, alpha=1.0)
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[0, 0], TP)
    np.testing.assert_array_equal(out[0, 1], FN)
    np.testing.assert_array_equal(out[1, 0], FP)
    np.testing.assert_array_equal(out[1, 1], [120, 120, 120])  # TN: the grey image


def test_default_error_map_blends_colour_over_grey_image():
    image, y_true, y_pred = hand_made()
    alpha = 0.7
    out = viz.error_map(image, y_true, y_pred).astype(int)
    grey = luma(image)
    for (row, col), colour in (((0, 0), TP), ((0, 1), FN), ((1, 0), FP)):
        expected = np.round((1 - alpha) * grey[row, col] + alpha * colour)
        np.testing.assert_allclose(out[row, col], expected, atol=1)
    np.testing.assert_allclose(out[1, 1], np.round(grey[1, 1]), atol=1)


def test_error_map_accepts_float_images_and_bool_predictions():
    image, y_true, y_pred = hand_made()
    from_float = viz.error_map(image / 255.0, y_true, y_pred.astype(bool))
    np.testing.assert_array_equal(from_float, viz.error_map(image, y_true, y_pred))


def test_perfect_and_inverted_predictions():
    image = np.full((4, 4, 3), 90, np.uint8)
    mask = np.zeros((4, 4), np.uint8)
    mask[:2] = 1
    perfect = viz.error_map(image, mask, mask, alpha=1.0)
    assert (perfect[:2] == TP).all() and (perfect[2:] == 90).all()
    inverted = viz.error_map(image, mask, 1 - mask, alpha=1.0)
    assert (inverted[:2] == FN).all() and (inverted[2:] == FP).all()


def test_colours_stay_apart_in_greyscale():
    """Tol's high-contrast scheme is readable without colour: lumas at least 50 apart."""
    lumas = sorted(luma(colour) for colour in (TP, FP, FN))
    assert min(np.diff(lumas)) > 50


def test_error_map_rejects_mismatched_shapes():
    image, y_true, y_pred = hand_made()
    with pytest.raises(ValueError, match="same shape"):
        viz.error_map(image, y_true, y_pred[:1])
    with pytest.raises(ValueError, match="image"):
        viz.error_map(np.zeros((3, 3, 3), np.uint8), y_true, y_pred)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        viz.error_map(image[..., 0], y_true, y_pred)


def test_plot_error_maps_draws_error_map_and_legend(tmp_path):
    tiles, probs = tiles_with_blocks()
    fig = viz.plot_error_maps(tiles, probs, indices=[2, 0])
    assert isinstance(fig, Figure)
    shown = fig.axes[2].images[0].get_array()
    np.testing.assert_array_equal(shown, viz.error_map(tiles.images[2], tiles.masks[2], probs[2] > 0.5))
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels == [viz.ERROR_LABELS["tp"], viz.ERROR_LABELS["fp"] + " (hatched)", viz.ERROR_LABELS["fn"],
                      viz.ERROR_LABELS["tn"], "outline: true building"]
    assert fig.axes[2].get_title() == "error map, Dice 0.50"  # tp 1/4, fp 1/4, fn 1/4 of the tile
    path = tmp_path / "error_maps.png"
    fig.savefig(path, dpi=60)
    saved = (matplotlib.image.imread(path)[..., :3] * 255).round()
    for colour in (TP, FP, FN):  # each outcome colour is really in the picture
        blended = np.round(0.3 * luma(tiles.images).mean() + 0.7 * colour)
        closest = np.abs(saved - blended).max(axis=-1).min()
        assert closest < 45, f"no pixel near {blended} in the saved PNG"


def test_probability_maps_and_gallery_save_to_png(tmp_path):
    tiles, probs = tiles_with_blocks()
    for name, fig in {
        "probs.png": viz.plot_probability_maps(tiles, probs, n=2),
        "tiles.png": viz.show_tiles(tiles, n=3),
    }.items():
        fig.savefig(tmp_path / name, dpi=50)
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = viz.plot_probability_maps(tiles, probs, n=2)
    np.testing.assert_array_equal(fig.axes[2].images[0].get_array(), probs[0])
    assert fig.axes[2].images[0].get_clim() == (0, 1)
    with pytest.raises(ValueError, match="nothing to show"):
        viz.show_tiles(tiles, indices=[])


def write_history(path, rows):
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["epoch", "dice", "loss", "val_dice", "val_loss"])
        writer.writerows(rows)


def test_training_curves_from_dict_and_csv(tmp_path):
    history = {"loss": [0.9, 0.6, 0.5, 0.55], "val_loss": [1.0, 0.7, 0.8, 0.9],
               "dice": [0.2, 0.4, 0.5, 0.55], "val_dice": [0.1, 0.3, 0.35, 0.3]}
    fig = viz.plot_training_curves(history)
    loss_ax, dice_ax = fig.axes
    np.testing.assert_array_equal(loss_ax.lines[1].get_ydata(), history["val_loss"])
    np.testing.assert_array_equal(dice_ax.lines[0].get_ydata(), history["dice"])
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), [1, 2, 3, 4])
    assert loss_ax.lines[-1].get_xdata()[0] == 2  # best epoch: lowest validation loss
    path = tmp_path / "history.csv"
    write_history(path, [[e, history["dice"][e], history["loss"][e], history["val_dice"][e],
                          history["val_loss"][e]] for e in range(4)])
    from_csv = viz.plot_training_curves(path)
    np.testing.assert_allclose(from_csv.axes[1].lines[1].get_ydata(), history["val_dice"])
    from_csv.savefig(tmp_path / "curves.png", dpi=50)
    assert (tmp_path / "curves.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="loss"):
        viz.plot_training_curves({"val_loss": [1.0]})
