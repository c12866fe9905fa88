"""Precision, recall and Dice as the threshold moves, drawn once (lesson 8).

A U-Net outputs probabilities; a pixel counts as building when its
probability is above a threshold, 0.5 by default. Raising the threshold keeps
only the confident pixels: fewer false alarms (precision up) and more missed
buildings (recall down). Lesson 8 "Evaluation and error maps" explores this
with the slider of :func:`unet_course.lessons.explorers.threshold_explorer` and with
the static figure of :func:`plot_threshold_curve`, both built on
:func:`threshold_curve`.

A threshold chosen on the test tiles flatters the test score; choose it on
the validation tiles (:func:`best_threshold`) and report the test score at
that threshold.

Examples
--------
>>> curve = {"threshold": [0.3, 0.5, 0.7], "dice": [0.70, 0.74, 0.72]}
>>> best_threshold(curve)
(0.5, 0.74)
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from unet_course.metrics import THRESHOLDS, confusion_counts, scores_from_counts

__all__ = ["THRESHOLDS", "threshold_curve", "best_threshold", "plot_threshold_curve"]

_SCORES = ("precision", "recall", "dice")


def _check_curve(curve, keys):
    missing = [key for key in ("threshold", *keys) if key not in curve]
    if missing:
        raise ValueError(
            f"curve lacks {missing}; pass what threshold_curve returns"
        )
    lengths = {len(curve[key]) for key in ("threshold", *keys)}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"curve columns must be non-empty and of equal length, got lengths {sorted(lengths)}")


def threshold_curve(masks, probs, thresholds=THRESHOLDS):
    """Precision, recall and Dice over all pixels at each threshold (lesson 8).

    Parameters
    ----------
    masks : array_like of 0/1, shape (N, H, W)
    probs : array_like of float, same shape
    thresholds : sequence of float, default :data:`THRESHOLDS`

    Returns
    -------
    dict of numpy.ndarray
        ``"threshold"``, ``"precision"``, ``"recall"``, ``"dice"``, one
        value per threshold (a pixel is building when ``prob > threshold``).
    """
    rows = [scores_from_counts(confusion_counts(masks, probs, t)) for t in thresholds]
    curve = {"threshold": np.asarray(thresholds, dtype=float)}
    for key in ("precision", "recall", "dice"):
        curve[key] = np.array([row[key] for row in rows])
    return curve


def best_threshold(curve, score="dice"):
    """The threshold with the highest ``score`` (the lowest such threshold on ties).

    Parameters
    ----------
    curve : dict
        ``threshold`` and ``score`` columns (see
        :func:`threshold_curve`).
    score : str, default "dice"

    Returns
    -------
    (float, float)
        The threshold and its score.
    """
    _check_curve(curve, (score,))
    values = np.asarray(curve[score], dtype=np.float64)
    best = int(np.argmax(values))
    return float(curve["threshold"][best]), float(values[best])


def plot_threshold_curve(curve, threshold=0.5, chosen=None, title=None):
    """Precision, recall and Dice against the threshold (lesson 8).

    Parameters
    ----------
    curve : dict
        What :func:`threshold_curve` returns.
    threshold : float, default 0.5
        The default threshold, drawn as a grey line.
    chosen : float, optional
        Another threshold to mark (for example :func:`best_threshold` on the
        validation tiles), drawn dashed.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_curve(curve, _SCORES)
    fig = Figure(figsize=(7.5, 3.8), layout="constrained")
    ax = fig.subplots()
    x = np.asarray(curve["threshold"], dtype=np.float64)
    for key, marker in zip(_SCORES, ("o", "s", "^")):
        ax.plot(x, curve[key], marker=marker, markersize=4, label=key)
    ax.axvline(threshold, color="0.5", lw=1, label=f"threshold {threshold:.2f}")
    if chosen is not None:
        ax.axvline(chosen, color="black", ls="--", lw=1, label=f"chosen {chosen:.2f}")
    ax.set_xlabel("threshold (a pixel is building when its probability is above it)")
    ax.set_ylabel("score over all pixels")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "The precision-recall trade-off")
    return fig
