"""Interactive explorers for lessons 3 and 8 (ipywidgets 8 + matplotlib).

- :func:`loss_explorer` (lesson 3 "BCE versus Dice"): a hand-made scene with
  one square building and a square prediction. Sliders move the predicted
  probability inside and outside the predicted square, its size and the true
  building's size; the three losses are recomputed and drawn at each move.
- :func:`threshold_explorer` (lesson 8 "Evaluation and error maps"): a
  threshold slider from 0.05 to 0.95 over a model's probabilities; precision,
  recall and Dice over all tiles and the error map of one tile follow it.

Both return an ipywidgets box whose sliders and text are attributes, so a
notebook cell, a test and a browser all drive the same object. Figures are
rendered to PNG by matplotlib's Agg backend and shown in an
``ipywidgets.Image``, so they need no front-end plotting extension and the
explorers also work headless (in CI, the numbers are simply recomputed).
The text of the losses and scores carries the CSS classes
``unet-loss-values`` and ``unet-threshold-scores``; the browser test reads it.

Examples
--------
>>> explorer = loss_explorer()
>>> before = explorer.values["dice"]
>>> explorer.predicted_size.value = 0
>>> explorer.values["dice"] > before
True
"""
from __future__ import annotations

import io

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from unet_course.lessons.thresholds import THRESHOLDS, threshold_curve
from unet_course.losses import bce_dice_np, bce_np, dice_loss_np
from unet_course.metrics import confusion_counts, scores_from_counts
from unet_course.validate import probability, whole_number
from unet_course.viz import CATEGORICAL, error_legend_handles, error_map, mark_error_cues

__all__ = [
    "square_mask",
    "square_prediction",
    "loss_values",
    "LossExplorer",
    "loss_explorer",
    "ThresholdExplorer",
    "threshold_explorer",
]

#: Names of the losses the loss explorer shows, in the order it shows them.
LOSS_NAMES = {"bce": "BCE", "dice": "Dice loss", "bce_dice": "BCE + Dice"}


def _png(figure, dpi=80):
    """Render a matplotlib Figure to PNG bytes (Agg, no pyplot, no display)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


# --- lesson 3: the loss explorer ------------------------------------------------


def square_mask(side, scene_size=64):
    """A ``scene_size`` square scene with one centred square building.

    Lesson 3 "BCE versus Dice" uses it as the true mask of its hand-made
    predictions.

    Parameters
    ----------
    side : int
        Side of the building in pixels, ``0 <= side <= scene_size``
        (0: no building).
    scene_size : int, default 64
        Side of the scene in pixels.

    Returns
    -------
    numpy.ndarray of float64, shape (scene_size, scene_size)
        1.0 on the building, 0.0 elsewhere.
    """
    if whole_number(side, "side", minimum=0) > scene_size:
        raise ValueError(f"side must be at most scene_size={scene_size}, got {side!r}")
    mask = np.zeros((scene_size, scene_size))
    start = (scene_size - side) // 2
    mask[start:start + side, start:start + side] = 1.0
    return mask


def square_prediction(side, inside, outside, scene_size=64):
    """A hand-made prediction: probability ``inside`` on a centred square, ``outside`` elsewhere.

    Parameters
    ----------
    side : int
        Side of the predicted square in pixels (0: predict no building).
    inside, outside : float
        Predicted building probabilities, in [0, 1].
    scene_size : int, default 64
        Side of the scene in pixels.

    Returns
    -------
    numpy.ndarray of float64, shape (scene_size, scene_size)
    """
    inside, outside = probability(inside, "inside"), probability(outside, "outside")
    square = square_mask(side, scene_size)
    return np.where(square > 0, float(inside), float(outside))


def loss_values(y_true, y_pred):
    """BCE, Dice loss and BCE + Dice of one prediction (the package's numpy losses).

    Returns
    -------
    dict
        ``{"bce": float, "dice": float, "bce_dice": float}``.
    """
    return {
        "bce": bce_np(y_true, y_pred),
        "dice": dice_loss_np(y_true, y_pred),
        "bce_dice": bce_dice_np(y_true, y_pred),
    }


class LossExplorer(widgets.VBox):
    """Sliders, loss text and a figure for one hand-made prediction (lesson 3).

    Attributes
    ----------
    inside, outside : ipywidgets.FloatSlider
        Predicted probability inside and outside the predicted square.
    predicted_size, building_size : ipywidgets.IntSlider
        Sides in pixels of the predicted square and of the true building.
    text : ipywidgets.HTML
        The three loss values, readable (CSS class ``unet-loss-values``).
    image : ipywidgets.Image
        The figure: true building, prediction, loss bars.
    values : dict
        The current ``loss_values`` of the scene.
    """

    def __init__(self, scene_size=64, building_size=16, predicted_size=16,
                 inside=0.8, outside=0.1):
        def slider(kind, description, value, low, high, step):
            return kind(value=value, min=low, max=high, step=step, description=description,
                        continuous_update=False, style={"description_width": "initial"})

        inside_slider = slider(widgets.FloatSlider, "p inside", inside, 0.01, 0.99, 0.01)
        outside_slider = slider(widgets.FloatSlider, "p outside", outside, 0.01, 0.99, 0.01)
        predicted = slider(widgets.IntSlider, "predicted size", predicted_size, 0, scene_size, 1)
        building = slider(widgets.IntSlider, "building size", building_size, 1, scene_size, 1)
        text = widgets.HTML()
        text.add_class("unet-loss-values")
        image = widgets.Image(format="png")
        super().__init__([
            widgets.HBox([inside_slider, outside_slider]),
            widgets.HBox([predicted, building]),
            text,
            image,
        ])
        self.scene_size = scene_size
        self.inside, self.outside = inside_slider, outside_slider
        self.predicted_size, self.building_size = predicted, building
        self.text, self.image = text, image
        self.values = {}
        for control in (inside_slider, outside_slider, predicted, building):
            control.observe(self.update, names="value")
        self.update()

    def scene(self):
        """The current true mask and prediction, as two arrays."""
        truth = square_mask(self.building_size.value, self.scene_size)
        prediction = square_prediction(self.predicted_size.value, self.inside.value,
                                       self.outside.value, self.scene_size)
        return truth, prediction

    def update(self, change=None):
        """Recompute the losses and redraw (called at every slider move)."""
        truth, prediction = self.scene()
        self.values = loss_values(truth, prediction)
        share = truth.mean()
        parts = " &nbsp;|&nbsp; ".join(
            f"<b>{LOSS_NAMES[key]}</b> = {value:.3f}" for key, value in self.values.items()
        )
        self.text.value = (f"<span style='font-size:1.15em'>{parts}</span>"
                           f" &nbsp; (building pixels: {share:.1%})")
        self.image.value = _png(self.figure(truth, prediction))

    def figure(self, truth, prediction):
        """True building, predicted probabilities and the three losses as bars."""
        figure = Figure(figsize=(10, 3.2), layout="constrained")
        axes = figure.subplots(1, 3, width_ratios=[1, 1.25, 1.3])
        axes[0].imshow(truth, cmap="gray", vmin=0, vmax=1)
        axes[0].set_title("true building")
        shown = axes[1].imshow(prediction, cmap="viridis", vmin=0, vmax=1)
        if truth.any():
            axes[1].contour(truth, levels=[0.5], colors="white", linewidths=1)
        axes[1].set_title("prediction (white: true outline)")
        figure.colorbar(shown, ax=axes[1], label="building probability")
        for ax in axes[:2]:
            ax.set_xticks([])
            ax.set_yticks([])
        names = [LOSS_NAMES[key] for key in self.values]
        heights = list(self.values.values())
        bars = axes[2].bar(names, heights, color=CATEGORICAL[:3], edgecolor="black")
        axes[2].bar_label(bars, fmt="%.3f")
        axes[2].axhline(1.0, color="gray", linestyle=":", linewidth=1)
        axes[2].set_ylim(0, max(1.1, 1.2 * max(heights)))
        axes[2].set_title("loss (dotted: the Dice loss's maximum)")
        return figure


def loss_explorer(**settings):
    """Move a hand-made prediction and watch BCE, Dice loss and BCE + Dice (lesson 3).

    Parameters
    ----------
    **settings
        Starting values passed to :class:`LossExplorer`: ``scene_size``
        (64), ``building_size`` (16), ``predicted_size`` (16), ``inside``
        (0.8), ``outside`` (0.1).

    Returns
    -------
    LossExplorer
        Display it (last line of a cell) to get the sliders; it also works
        headless: set ``explorer.inside.value`` and read ``explorer.values``.
    """
    return LossExplorer(**settings)


# --- lesson 8: the threshold explorer -------------------------------------------


def _probabilities_like(tiles, probs):
    """``probs`` as float (N, H, W) matching ``tiles.masks``, or raise ``ValueError``."""
    masks = np.asarray(getattr(tiles, "masks", None) if tiles is not None else None)
    if masks.ndim != 3 or not hasattr(tiles, "images"):
        raise ValueError("tiles must be a TileSet (images (N, H, W, 3), masks (N, H, W))")
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim == 4 and probs.shape[-1] == 1:
        probs = probs[..., 0]
    if probs.shape != masks.shape:
        raise ValueError(
            f"probs must have the shape of tiles.masks {masks.shape} (one probability "
            f"per pixel, e.g. from evaluate.predict_probabilities), got {probs.shape}"
        )
    if len(masks) == 0:
        raise ValueError("tiles is empty: the threshold explorer needs at least one tile")
    return probs


class ThresholdExplorer(widgets.VBox):
    """Threshold and tile sliders, scores text and an error map (lesson 8).

    Attributes
    ----------
    threshold : ipywidgets.FloatSlider
        From 0.05 to 0.95 in steps of 0.05.
    tile : ipywidgets.IntSlider
        Which tile's error map is drawn.
    text : ipywidgets.HTML
        Precision, recall and Dice over all tiles (CSS class ``unet-threshold-scores``).
    image : ipywidgets.Image
        The error map of the tile beside the score curves.
    scores : dict
        Current ``accuracy``, ``precision``, ``recall``, ``dice``, ``iou`` over all tiles.
    curve : dict
        :func:`threshold_curve` of the tiles, computed once.
    """

    def __init__(self, tiles, probs, threshold=0.5, tile=0):
        probs = _probabilities_like(tiles, probs)
        count = len(probs)
        threshold_slider = widgets.FloatSlider(
            value=threshold, min=float(THRESHOLDS[0]), max=float(THRESHOLDS[-1]), step=0.05,
            description="threshold", continuous_update=False, readout_format=".2f",
        )
        tile_slider = widgets.IntSlider(value=tile, min=0, max=count - 1, description="tile",
                                        continuous_update=False)
        text = widgets.HTML()
        text.add_class("unet-threshold-scores")
        image = widgets.Image(format="png")
        super().__init__([widgets.HBox([threshold_slider, tile_slider]), text, image])
        self.tiles, self.probs = tiles, probs
        self.threshold, self.tile = threshold_slider, tile_slider
        self.text, self.image = text, image
        self.curve = threshold_curve(tiles.masks, probs)
        self.scores = {}
        for control in (threshold_slider, tile_slider):
            control.observe(self.update, names="value")
        self.update()

    def update(self, change=None):
        """Recompute the scores at the current threshold and redraw."""
        t = float(self.threshold.value)
        counts = confusion_counts(self.tiles.masks, self.probs, t)
        self.scores = scores_from_counts(counts)
        s = self.scores
        self.text.value = (
            f"<span style='font-size:1.15em'>threshold {t:.2f}: "
            f"<b>precision</b> = {s['precision']:.3f} &nbsp;|&nbsp; "
            f"<b>recall</b> = {s['recall']:.3f} &nbsp;|&nbsp; "
            f"<b>Dice</b> = {s['dice']:.3f}</span> &nbsp; (all {len(self.probs)} tiles)"
        )
        self.image.value = _png(self.figure(t))

    def figure(self, t):
        """Error map of the chosen tile beside precision, recall and Dice per threshold."""
        index = int(self.tile.value)
        predicted = (self.probs[index] > t).astype(np.uint8)
        coloured = error_map(self.tiles.images[index], self.tiles.masks[index], predicted)
        figure = Figure(figsize=(10, 4.6), layout="constrained")
        left, right = figure.subplots(1, 2)
        left.imshow(coloured)
        mark_error_cues(left, self.tiles.masks[index], predicted)
        left.set_xticks([])
        left.set_yticks([])
        name = self.tiles.names[index] if getattr(self.tiles, "names", None) else str(index)
        left.set_title(f"tile {index}: {name}", fontsize=10)
        figure.legend(handles=error_legend_handles(), loc="outside lower center", ncols=2,
                      fontsize=8)
        for key, colour, marker in zip(("precision", "recall", "dice"), CATEGORICAL, ("o", "s", "^")):
            right.plot(self.curve["threshold"], self.curve[key], marker=marker, markersize=3, color=colour,
                       label=key)
        right.axvline(t, color="black", linestyle="--", linewidth=1)
        right.set_xlabel("threshold")
        right.set_ylim(0, 1.02)
        right.set_title("all tiles")
        right.legend()
        return figure


def threshold_explorer(tiles, probs, threshold=0.5, tile=0):
    """Move the decision threshold and watch precision, recall, Dice and an error map (lesson 8).

    Parameters
    ----------
    tiles : unet_course.data.TileSet
        The tiles the probabilities belong to (images and true masks).
    probs : array_like of float, shape (N, H, W) or (N, H, W, 1)
        Building probabilities, e.g. ``evaluate.predict_probabilities(model, tiles)``.
    threshold : float, default 0.5
        Starting threshold.
    tile : int, default 0
        Index of the tile whose error map is drawn first.

    Returns
    -------
    ThresholdExplorer
        Display it to get the sliders; headless, set ``explorer.threshold.value``
        and read ``explorer.scores``.

    Raises
    ------
    ValueError
        When ``tiles`` is not a TileSet or ``probs`` does not match its masks.
    """
    return ThresholdExplorer(tiles, probs, threshold=threshold, tile=tile)
