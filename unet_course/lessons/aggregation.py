"""One Dice for a whole test set, or the mean of many: why they differ (lesson 8).

A Keras metric function such as the seed's ``dice_metric`` is computed on
each batch, and ``model.evaluate`` reports the mean of those per-batch
values. The test set's Dice is something else: the pixel counts of every tile
are added first and the ratio taken once,

    dataset Dice = 2 sum(TP) / (2 sum(TP) + sum(FP) + sum(FN)).

The mean of per-batch (or per-tile) Dice gives every batch the same weight,
however few building pixels it holds, so a batch with one small house
missed weighs as much as a batch of large, easy roofs. An empty batch scores
1.0 when nothing is predicted and 0.0 after a single false alarm. Lesson 8
"Evaluation and error maps" computes both; :mod:`unet_course.metrics` gives the
dataset-wide Keras metrics (``DatasetDice``) that training reports.

Examples
--------
>>> import numpy as np
>>> masks = np.array([[[1, 1, 1, 1]], [[1, 0, 0, 0]]])
>>> probs = np.array([[[0.9, 0.9, 0.9, 0.9]], [[0.1, 0.1, 0.1, 0.9]]])
>>> per_batch_dice(masks, probs, batch_size=1).tolist()    # 1.0 and 0.0
[1.0, 0.0]
>>> summary = dice_summary(masks, probs, batch_size=1)
>>> round(summary["mean_of_batches"], 3), round(summary["dataset"], 3)
(0.5, 0.8)
"""
from __future__ import annotations


import numpy as np
from matplotlib.figure import Figure

from unet_course.metrics import dice_score
from unet_course.validate import whole_number
from unet_course.viz import CATEGORICAL

__all__ = ["batch_slices", "per_batch_dice", "mean_batch_dice", "dice_summary", "plot_batch_dice"]


def _check_pair(masks, probs):
    masks, probs = np.asarray(masks), np.asarray(probs)
    if masks.shape != probs.shape or masks.ndim < 2:
        raise ValueError(
            f"masks and probs must have the same shape (N, H, W), got {masks.shape} and {probs.shape}"
        )
    return masks, probs


def batch_slices(n, batch_size):
    """Slices of consecutive batches over ``n`` tiles; the last may be smaller.

    Parameters
    ----------
    n : int
        Number of tiles.
    batch_size : int
        Tiles per batch.

    Returns
    -------
    list of slice
    """
    whole_number(n, "n", minimum=0)
    whole_number(batch_size, "batch_size")
    return [slice(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


def per_batch_dice(masks, probs, batch_size=8, threshold=0.5):
    """The Dice of each batch of consecutive tiles, as the seed's metric saw them.

    Parameters
    ----------
    masks : numpy.ndarray
        0/1 ``(N, H, W)``.
    probs : numpy.ndarray
        Building probabilities, the same shape.
    batch_size : int, default 8
    threshold : float, default 0.5

    Returns
    -------
    numpy.ndarray
        float64, one Dice per batch (1.0 for a batch with no building and
        none predicted).
    """
    masks, probs = _check_pair(masks, probs)
    return np.array([dice_score(masks[part], probs[part], threshold)
                     for part in batch_slices(len(masks), batch_size)])


def mean_batch_dice(masks, probs, batch_size=8, threshold=0.5):
    """The mean of :func:`per_batch_dice`: what ``model.evaluate`` reports for ``dice_metric``.

    Returns
    -------
    float
    """
    return float(np.mean(per_batch_dice(masks, probs, batch_size, threshold)))


def dice_summary(masks, probs, batch_size=8, threshold=0.5):
    """The dataset's Dice next to the means of per-batch and per-tile Dice.

    Returns
    -------
    dict
        ``dataset`` (counts summed first), ``mean_of_batches``,
        ``mean_of_tiles`` (floats) and ``batches`` (how many).
    """
    masks, probs = _check_pair(masks, probs)
    return {
        "dataset": dice_score(masks, probs, threshold),
        "mean_of_batches": mean_batch_dice(masks, probs, batch_size, threshold),
        "mean_of_tiles": mean_batch_dice(masks, probs, 1, threshold),
        "batches": len(batch_slices(len(masks), batch_size)),
    }


def plot_batch_dice(masks, probs, batch_size=8, threshold=0.5):
    """Each tile's and each batch's Dice against its building pixels (lesson 8).

    Left: one dot per tile; right: one dot per batch of ``batch_size`` tiles.
    Each panel has a dashed line for the mean of its dots and a solid line for
    the dataset's Dice. Tiles and batches with few building pixels scatter most.

    Returns
    -------
    matplotlib.figure.Figure
    """
    masks, probs = _check_pair(masks, probs)
    total = dice_score(masks, probs, threshold)
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, size, name in ((axes[0], 1, "tile"), (axes[1], batch_size, f"batch of {batch_size} tiles")):
        parts = batch_slices(len(masks), size)
        values = per_batch_dice(masks, probs, size, threshold)
        buildings = np.array([int(np.count_nonzero(masks[part])) for part in parts])
        ax.scatter(buildings, values, color=CATEGORICAL[0], s=14 if size == 1 else 30, zorder=3,
                   label=f"one {name}")
        ax.axhline(values.mean(), color=CATEGORICAL[1], ls="--", label=f"mean of the dots: {values.mean():.3f}")
        ax.axhline(total, color=CATEGORICAL[2], label=f"dataset Dice: {total:.3f}")
        ax.set_xlabel(f"building pixels in the {name.split(' of')[0]}")
        ax.set_title(f"Dice of each {name}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    axes[0].set_ylabel("Dice")
    axes[0].set_ylim(-0.05, 1.05)
    return fig
