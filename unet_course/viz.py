"""Figures: tiles, error maps, probability maps, training curves (lessons 1, 7 and 8).

Every function returns a :class:`matplotlib.figure.Figure` and never calls
``plt.show()``: a notebook displays the returned figure, a script saves it
with ``fig.savefig("name.png")``. The figures are made without ``pyplot``, so
they work under any backend (also headless) and are not kept alive by it.

Error-map colours come from Paul Tol's *high-contrast* scheme, made to stay
distinct with every common colour-vision deficiency and in greyscale (dark
blue, medium red, light yellow): true positives blue, false positives red,
false negatives yellow, true negatives the image itself in grey. Colour is never
the only cue: false positives are also hatched, and the true buildings are
outlined, so an error map reads in greyscale and for every reader.
:data:`CATEGORICAL` is the course's palette for categories (lines, bars, map
classes): Okabe and Ito's colours, ordered so that any first few stay apart
under the common colour-vision deficiencies (``tests/test_accessibility.py``
simulates them and measures the colour differences).
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib import patheffects
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from unet_course.metrics import error_map_masks, tile_dice
from unet_course.rundir import read_history
from unet_course.validate import probability

__all__ = [
    "mark_error_cues", "CATEGORICAL", "ERROR_COLOURS", "ERROR_LABELS", "FP_HATCH", "show_tiles", "error_map", "error_legend_handles", "plot_error_maps",
    "plot_probability_maps", "plot_training_curves",
]

#: RGB colour of each outcome (Paul Tol's high-contrast scheme); "tn" keeps the grey image.
ERROR_COLOURS = {"tp": (0x00, 0x44, 0x88), "fp": (0xBB, 0x55, 0x66), "fn": (0xDD, 0xAA, 0x33)}
#: Hatching drawn over false positives in :func:`plot_error_maps`: the cue that is not colour.
FP_HATCH = "////"
#: Okabe-Ito colours for categories, in the order figures take them (blue, orange, black, sky blue,
#: vermillion, grey): any of its first n stay distinguishable with deuteranopia, protanopia, tritanopia.
CATEGORICAL = ("#0072B2", "#E69F00", "#000000", "#56B4E9", "#D55E00", "#999999")
ERROR_LABELS = {
    "tp": "true positive: building found",
    "fp": "false positive: false alarm",
    "fn": "false negative: building missed",
    "tn": "true negative: background (grey image)",
}


def _as_uint8_image(image):
    """An RGB image as uint8: uint8 stays, floats in [0, 1] are scaled to 0..255."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {image.shape}")
    if image.dtype == np.uint8:
        return image
    return np.clip(np.round(image.astype(np.float64) * 255), 0, 255).astype(np.uint8)


def _grey(image):
    """Luma (ITU-R BT.601) of an RGB uint8 image, repeated over 3 channels, as float."""
    luma = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return np.repeat(luma[..., None], 3, axis=-1)


def error_map(image, y_true, y_pred, alpha=0.7):
    """Colour each pixel by its outcome: TP, FP, FN over a grey copy of the image.

    Lesson 8 "Evaluation and error maps". A coloured pixel is
    ``(1 - alpha) * grey + alpha * colour`` with the colours of
    :data:`ERROR_COLOURS`; true negatives keep the grey image.

    Parameters
    ----------
    image : numpy.ndarray
        RGB ``(H, W, 3)``, uint8 0..255 or float in [0, 1].
    y_true : numpy.ndarray
        0/1 building mask ``(H, W)``.
    y_pred : numpy.ndarray
        Thresholded prediction ``(H, W)``, 0/1 or bool.
    alpha : float, default 0.7
        Opacity of the colours (1.0 hides the image under them).

    Returns
    -------
    numpy.ndarray
        uint8 ``(H, W, 3)``.
    """
    image = _as_uint8_image(image)
    outcome = error_map_masks(y_true, y_pred)
    if outcome["tp"].shape != image.shape[:2]:
        raise ValueError(f"masks are {outcome['tp'].shape} but the image is {image.shape[:2]}")
    probability(alpha, "alpha")
    grey = _grey(image)
    out = grey.copy()
    for key, colour in ERROR_COLOURS.items():
        where = outcome[key]
        out[where] = (1 - alpha) * grey[where] + alpha * np.array(colour, dtype=np.float64)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _pick(tiles, n, indices):
    """The tile indices to show: ``indices``, or the first ``n``."""
    chosen = list(range(min(n, len(tiles)))) if indices is None else [int(i) for i in indices]
    if not chosen:
        raise ValueError("nothing to show: the tile set is empty or no index was given")
    return chosen


def _grid(rows, cols, size=2.6):
    """A Figure with a rows x cols grid of axes (always 2-D) without ticks."""
    fig = Figure(figsize=(cols * size, rows * size), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def show_tiles(tiles, n=4, indices=None):
    """A gallery: images above, their building masks below (lesson 1).

    Parameters
    ----------
    tiles : unet_course.data.TileSet
        Tiles with ``images``, ``masks`` and ``names``.
    n : int, default 4
        How many of the first tiles to show (ignored when ``indices`` is given).
    indices : sequence of int, optional
        Which tiles to show.

    Returns
    -------
    matplotlib.figure.Figure
    """
    chosen = _pick(tiles, n, indices)
    fig, axes = _grid(2, len(chosen))
    for col, i in enumerate(chosen):
        axes[0, col].imshow(tiles.images[i])
        axes[0, col].set_title(tiles.names[i], fontsize=8)
        axes[1, col].imshow(tiles.masks[i], cmap="gray", vmin=0, vmax=1)
        axes[1, col].set_title(f"buildings {100 * tiles.masks[i].mean():.1f} %", fontsize=8)
    axes[0, 0].set_ylabel("image")
    axes[1, 0].set_ylabel("mask")
    return fig


#: A white line with a black rim: visible on dark and on light pixels alike.
_OUTLINE_STROKE = [patheffects.withStroke(linewidth=2.2, foreground="black")]


def error_legend_handles():
    """Legend entries for :func:`error_map` colours, the hatching and the outline (lesson 8)."""
    handles = [Patch(facecolor=np.array(ERROR_COLOURS[key]) / 255, edgecolor="black",
                     hatch=FP_HATCH if key == "fp" else None,
                     label=ERROR_LABELS[key] + (" (hatched)" if key == "fp" else ""))
               for key in ERROR_COLOURS]
    return handles + [Patch(facecolor="0.6", edgecolor="0.3", label=ERROR_LABELS["tn"]),
                      Line2D([], [], color="white", linewidth=1.2, path_effects=_OUTLINE_STROKE,
                             label="outline: true building")]


def mark_error_cues(ax, y_true, y_pred):
    """Hatch the false positives and outline the true buildings on an error map's axes (lesson 8)."""
    outcome = error_map_masks(y_true, y_pred)
    if outcome["fp"].any():
        ax.contourf(outcome["fp"].astype(float), levels=[0.5, 1.5], colors="none", hatches=[FP_HATCH])
    truth = np.asarray(y_true).astype(float)
    if 0 < truth.sum() < truth.size:
        outline = ax.contour(truth, levels=[0.5], colors="white", linewidths=0.8)
        outline.set_path_effects(_OUTLINE_STROKE)


def plot_error_maps(tiles, probs, threshold=0.5, n=4, indices=None):
    """Image, true mask and error map of some tiles, with a legend (lesson 8).

    Parameters
    ----------
    tiles : unet_course.data.TileSet
        The tiles ``probs`` were predicted for.
    probs : numpy.ndarray
        Building probabilities ``(N, H, W)``.
    threshold : float, default 0.5
        Probability above which a pixel counts as building.
    n : int, default 4
        How many of the first tiles (ignored when ``indices`` is given).
    indices : sequence of int, optional
        Which tiles, e.g. ``worst_tiles(tiles.masks, probs)``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    chosen = _pick(tiles, n, indices)
    fig, axes = _grid(len(chosen), 3)
    dices = tile_dice(np.asarray(tiles.masks)[chosen], np.asarray(probs)[chosen], threshold)
    for row, (i, dice) in enumerate(zip(chosen, dices)):
        predicted = np.asarray(probs[i]) > threshold
        axes[row, 0].imshow(tiles.images[i])
        axes[row, 0].set_ylabel(tiles.names[i], fontsize=8)
        axes[row, 1].imshow(tiles.masks[i], cmap="gray", vmin=0, vmax=1)
        axes[row, 2].imshow(error_map(tiles.images[i], tiles.masks[i], predicted))
        mark_error_cues(axes[row, 2], tiles.masks[i], predicted)
        axes[row, 2].set_title(f"error map, Dice {dice:.2f}", fontsize=9)
    axes[0, 0].set_title("image")
    axes[0, 1].set_title("true mask")
    fig.legend(handles=error_legend_handles(), loc="outside lower center", ncols=2, fontsize=8)
    return fig


def plot_probability_maps(tiles, probs, n=4, indices=None):
    """Image, true mask and predicted probability of some tiles (lesson 8).

    Probabilities use the perceptually uniform, colour-blind-friendly
    ``viridis`` colour map from 0 (dark) to 1 (yellow), with a colour bar.

    Parameters
    ----------
    tiles : unet_course.data.TileSet
        The tiles ``probs`` were predicted for.
    probs : numpy.ndarray
        Building probabilities ``(N, H, W)``.
    n : int, default 4
        How many of the first tiles (ignored when ``indices`` is given).
    indices : sequence of int, optional
        Which tiles.

    Returns
    -------
    matplotlib.figure.Figure
    """
    chosen = _pick(tiles, n, indices)
    fig, axes = _grid(len(chosen), 3)
    for row, i in enumerate(chosen):
        axes[row, 0].imshow(tiles.images[i])
        axes[row, 0].set_ylabel(tiles.names[i], fontsize=8)
        axes[row, 1].imshow(tiles.masks[i], cmap="gray", vmin=0, vmax=1)
        shown = axes[row, 2].imshow(probs[i], cmap="viridis", vmin=0, vmax=1)
    axes[0, 0].set_title("image")
    axes[0, 1].set_title("true mask")
    axes[0, 2].set_title("building probability")
    fig.colorbar(shown, ax=axes[:, 2], shrink=0.8)
    return fig


def _history_dict(history):
    """A history dict from a dict, a Keras ``History`` or a ``history.csv`` path."""
    if hasattr(history, "history"):
        return {"epoch": list(history.epoch), **history.history}
    if isinstance(history, dict):
        return history
    return read_history(history)


def plot_training_curves(history):
    """Loss and Dice per epoch, training against validation (lesson 7).

    The best epoch (lowest validation loss) is marked: the one
    ``EarlyStopping(restore_best_weights=True)`` and ``best.keras`` keep.

    Parameters
    ----------
    history : dict, keras.callbacks.History, str or pathlib.Path
        ``{"loss": [...], "val_loss": [...], "dice": [...], "val_dice": [...]}``
        (``TrainResult.history``), what ``model.fit`` returned, or a ``history.csv``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    history = _history_dict(history)
    if not history.get("loss"):
        raise ValueError(f"history has no 'loss' values; got keys {sorted(history)}")
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, key, title in ((axes[0], "loss", "loss"), (axes[1], "dice", "Dice")):
        for prefix, label, style in (("", "training", "-o"), ("val_", "validation", "-s")):
            if history.get(prefix + key):
                ax.plot(epochs, history[prefix + key], style, label=label, markersize=4)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
        ax.grid(alpha=0.3)
    if history.get("val_loss") and np.isfinite(history["val_loss"]).any():
        best = int(np.nanargmin(history["val_loss"])) + 1
        for ax in axes:
            ax.axvline(best, color="0.5", linestyle="--", label=f"best epoch ({best})")
    for ax in axes:
        ax.legend(fontsize=8)
    return fig
