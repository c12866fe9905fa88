"""Scores for building masks: confusion counts, Dice, IoU, precision, recall (lessons 2, 8).

Lesson 8 "Evaluation and error maps" explains them; lesson 2 "Class
imbalance" explains why accuracy alone misleads (a model that predicts no
building at all scores about 87 % accuracy).

A probability becomes "building" when it is **greater than** the threshold
(0.5 by default; exactly 0.5 is background, as rounding does). Masks
(``y_true``) hold 0 and 1. Every score comes from four counts of pixels::

    tp: building, predicted building     fp: background, predicted building
    fn: building, predicted background   tn: background, predicted background

    accuracy  = (tp + tn) / (tp + fp + fn + tn)
    precision = tp / (tp + fp)
    recall    = tp / (tp + fn)
    dice      = 2 tp / (2 tp + fp + fn)
    iou       = tp / (tp + fp + fn)

**Empty convention.** A ratio whose denominator is 0 is 1.0: when there is
no building to find and none is predicted, nothing went wrong. So an empty
mask predicted empty has Dice, IoU, precision and recall 1.0; a mask with
buildings predicted empty has precision 1.0 (no false alarm) but recall 0.0.

The scores come in two forms. The numpy functions are what grading and the
tests use. The Keras metric classes (``DatasetDice`` and friends) add the
four counts over **every batch of a dataset** and compute the score once at
the end: a dataset's Dice is ``2 sum(tp) / (2 sum(tp) + sum(fp) + sum(fn))``,
which is not the mean of the batches' Dice. Counts are int64, so no pixel is
lost to float32 rounding on large datasets. :func:`dice_metric` is the seed's
per-batch Dice, kept to show the difference.
"""
from __future__ import annotations

import numpy as np

from unet_course.backend import keras, ops
from unet_course.validate import probability

__all__ = [
    "confusion_counts",
    "scores_from_counts",
    "dice_score",
    "tile_dice",
    "iou_score",
    "precision_score",
    "recall_score",
    "accuracy_score",
    "error_map_masks",
    "THRESHOLDS",
    "choose_threshold",
    "dice_metric",
    "DatasetDice",
    "DatasetIoU",
    "DatasetPrecision",
    "DatasetRecall",
    "DatasetAccuracy",
    "dataset_metrics",
]


# --- numpy ----------------------------------------------------------------------


def _binary_mask(y_true, name="y_true"):
    """``y_true`` as a bool array; raise ``ValueError`` unless it holds only 0 and 1."""
    y_true = np.asarray(y_true)
    if y_true.size and not np.isin(y_true, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1, got values {np.unique(y_true)[:5]}")
    return y_true.astype(bool)


def _drop_channel(array):
    """``(..., H, W, 1)`` -> ``(..., H, W)``, so masks and predictions line up."""
    return array[..., 0] if array.ndim >= 3 and array.shape[-1] == 1 else array


def _matching(y_true, y_other, name):
    """Check that two arrays have the same shape (a trailing channel of 1 aside)."""
    y_true, y_other = _drop_channel(y_true), _drop_channel(y_other)
    if y_true.shape != y_other.shape:
        raise ValueError(
            f"y_true and {name} must have the same shape, got {y_true.shape} and {y_other.shape}"
        )
    return y_true, y_other


def _ratio(numerator, denominator):
    """``numerator / denominator``, and 1.0 when the denominator is 0 (the empty convention)."""
    return 1.0 if denominator == 0 else numerator / denominator


def confusion_counts(y_true, y_prob, threshold=0.5):
    """Count true/false positives and negatives, pixel by pixel.

    Lesson 8 "Evaluation and error maps" explains them.

    Parameters
    ----------
    y_true : array-like of 0/1
        Building masks, e.g. ``(N, H, W)``.
    y_prob : array-like of float
        Building probabilities, the same shape (a trailing channel of 1 is allowed).
    threshold : float, default 0.5
        A pixel is predicted building when its probability is greater than this.

    Returns
    -------
    dict
        ``{"tp": int, "fp": int, "fn": int, "tn": int}``.

    Examples
    --------
    >>> confusion_counts([1, 1, 0, 0], [0.9, 0.2, 0.7, 0.1])
    {'tp': 1, 'fp': 1, 'fn': 1, 'tn': 1}
    """
    y_true, y_prob = _matching(_binary_mask(y_true), np.asarray(y_prob), "y_prob")
    predicted = y_prob > threshold
    return {
        "tp": int(np.count_nonzero(y_true & predicted)),
        "fp": int(np.count_nonzero(~y_true & predicted)),
        "fn": int(np.count_nonzero(y_true & ~predicted)),
        "tn": int(np.count_nonzero(~y_true & ~predicted)),
    }


def scores_from_counts(counts):
    """Accuracy, precision, recall, Dice and IoU from confusion counts.

    Lesson 8 "Evaluation and error maps" explains them. A ratio whose
    denominator is 0 is 1.0 (see the module docstring).

    Parameters
    ----------
    counts : dict
        ``{"tp", "fp", "fn", "tn"}``, as :func:`confusion_counts` returns.

    Returns
    -------
    dict
        ``{"accuracy", "precision", "recall", "dice", "iou"}`` as floats.

    Examples
    --------
    >>> scores_from_counts({"tp": 3, "fp": 1, "fn": 0, "tn": 4})["dice"]
    0.8571428571428571
    """
    tp, fp, fn, tn = (int(counts[key]) for key in ("tp", "fp", "fn", "tn"))
    return {
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "dice": _ratio(2 * tp, 2 * tp + fp + fn),
        "iou": _ratio(tp, tp + fp + fn),
    }


def dice_score(y_true, y_prob, threshold=0.5):
    """Dice = 2 tp / (2 tp + fp + fn) of the thresholded prediction (lesson 8)."""
    return scores_from_counts(confusion_counts(y_true, y_prob, threshold))["dice"]


def tile_dice(masks, probs, threshold=0.5):
    """Dice of each tile on its own: :func:`dice_score` tile by tile (lesson 8).

    A tile with no building and none predicted scores 1.0. Lesson 8 ranks
    the worst tiles with it; the error-map figure writes it in each title.

    Returns
    -------
    numpy.ndarray
        float64 ``(N,)``.
    """
    return np.array([dice_score(mask, prob, threshold) for mask, prob in zip(masks, probs)])


def iou_score(y_true, y_prob, threshold=0.5):
    """Intersection over union = tp / (tp + fp + fn) (lesson 8)."""
    return scores_from_counts(confusion_counts(y_true, y_prob, threshold))["iou"]


def precision_score(y_true, y_prob, threshold=0.5):
    """Precision = tp / (tp + fp): how many predicted buildings are buildings (lesson 8)."""
    return scores_from_counts(confusion_counts(y_true, y_prob, threshold))["precision"]


def recall_score(y_true, y_prob, threshold=0.5):
    """Recall = tp / (tp + fn): how many buildings were found (lesson 8)."""
    return scores_from_counts(confusion_counts(y_true, y_prob, threshold))["recall"]


def accuracy_score(y_true, y_prob, threshold=0.5):
    """Accuracy = (tp + tn) / all pixels.

    Lesson 2 "Class imbalance" shows why it flatters: predicting no building
    at all is right on every background pixel.
    """
    return scores_from_counts(confusion_counts(y_true, y_prob, threshold))["accuracy"]


def error_map_masks(y_true, y_pred_binary):
    """Where the prediction is a true/false positive/negative, as four bool masks.

    Lesson 8 "Evaluation and error maps" colours them over the image
    (``unet_course.viz.error_map``). Exactly one mask is True at each pixel.

    Parameters
    ----------
    y_true : array-like of 0/1
        Building mask, e.g. ``(H, W)``.
    y_pred_binary : array-like of 0/1 or bool
        Thresholded prediction, the same shape.

    Returns
    -------
    dict
        ``{"tp", "fp", "fn", "tn"}``, bool arrays of the shape of ``y_true``
        (a trailing channel of 1 dropped).
    """
    y_true, predicted = _matching(
        _binary_mask(y_true), _binary_mask(y_pred_binary, "y_pred_binary"), "y_pred_binary"
    )
    return {
        "tp": y_true & predicted,
        "fp": ~y_true & predicted,
        "fn": y_true & ~predicted,
        "tn": ~y_true & ~predicted,
    }


#: The thresholds the course tries: 0.05, 0.10, ..., 0.95 (:func:`choose_threshold`,
#: lesson 8's curve and its slider).
THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))


def choose_threshold(y_true, y_prob, thresholds=THRESHOLDS):
    """The threshold with the highest Dice over all pixels, chosen on validation tiles.

    Lesson 8 "Evaluation and error maps": a threshold chosen on the test tiles
    flatters the test score, so choose it on the validation tiles and report
    the test score at that threshold. The Dice is the dataset's, from the
    counts of every pixel together (as :class:`DatasetDice`), not the mean of
    per-tile scores. On a tie the lowest threshold wins.

    Parameters
    ----------
    y_true : array-like of 0/1
        Validation masks, e.g. ``(N, H, W)``.
    y_prob : array-like of float
        The model's probabilities for them, the same shape (a trailing channel of 1 allowed).
    thresholds : sequence of float, default :data:`THRESHOLDS`
        Candidates in [0, 1]; a pixel is building when its probability is greater.

    Returns
    -------
    float
        The chosen threshold.

    Examples
    --------
    >>> choose_threshold([1, 1, 0, 0], [0.9, 0.35, 0.3, 0.1], thresholds=(0.2, 0.32, 0.5))
    0.32
    """
    candidates = [probability(t, "thresholds (each)") for t in np.ravel(np.asarray(thresholds, dtype=object))]
    if not candidates:
        raise ValueError("thresholds is empty; expected at least one threshold in [0, 1]")
    y_true, y_prob = _matching(_binary_mask(y_true), np.asarray(y_prob), "y_prob")
    building = np.sort(y_prob[y_true], axis=None)
    background = np.sort(y_prob[~y_true], axis=None)
    best, best_dice = None, -1.0
    for threshold in sorted(candidates):
        tp = building.size - np.searchsorted(building, threshold, side="right")
        fp = background.size - np.searchsorted(background, threshold, side="right")
        fn = building.size - tp
        dice = _ratio(2 * tp, 2 * tp + fp + fn)
        if dice > best_dice:
            best, best_dice = threshold, dice
    return best


# --- Keras ----------------------------------------------------------------------


def _keras_ratio(numerator, denominator):
    """Keras version of :func:`_ratio`: 1.0 where the denominator is 0."""
    numerator = ops.cast(numerator, "float64")
    denominator = ops.cast(denominator, "float64")
    safe = ops.where(denominator > 0, denominator, ops.ones_like(denominator))
    return ops.cast(ops.where(denominator > 0, numerator / safe, 1.0), "float32")


def _keras_counts(y_true, y_pred, threshold):
    """tp, fp, fn, tn of one batch as int64 tensors."""
    actual = ops.cast(y_true, "float32") > 0.5
    predicted = ops.cast(y_pred, "float32") > threshold

    def count(condition):
        return ops.sum(ops.cast(condition, "int64"))

    not_actual, not_predicted = ops.logical_not(actual), ops.logical_not(predicted)
    return (
        count(ops.logical_and(actual, predicted)),
        count(ops.logical_and(not_actual, predicted)),
        count(ops.logical_and(actual, not_predicted)),
        count(ops.logical_and(not_actual, not_predicted)),
    )


@keras.saving.register_keras_serializable(package="unet_course")
def dice_metric(y_true, y_pred):
    """The seed's Dice metric: thresholded at 0.5, computed on one batch.

    Lesson 8 "Evaluation and error maps" shows why the mean of these per-batch
    values is not the dataset's Dice (use :class:`DatasetDice` for that).
    Empty convention: 1.0 when the batch has no building and none is predicted.

    Returns
    -------
    scalar tensor
        ``2 tp / (2 tp + fp + fn)`` of this batch.
    """
    tp, fp, fn, _ = _keras_counts(y_true, y_pred, 0.5)
    return _keras_ratio(2 * tp, 2 * tp + fp + fn)


def _keras_scores(tp, fp, fn, tn):
    """Keras version of :func:`scores_from_counts`."""
    return {
        "accuracy": _keras_ratio(tp + tn, tp + fp + fn + tn),
        "precision": _keras_ratio(tp, tp + fp),
        "recall": _keras_ratio(tp, tp + fn),
        "dice": _keras_ratio(2 * tp, 2 * tp + fp + fn),
        "iou": _keras_ratio(tp, tp + fp + fn),
    }


class _DatasetScore(keras.metrics.Metric):
    """Adds tp, fp, fn, tn (int64) over every batch, then computes one score from the sums.

    A subclass names the score (``score_key``, also its default name).
    """

    score_key = "dice"

    def __init__(self, threshold=0.5, name=None, dtype=None):
        super().__init__(name=name or self.score_key, dtype=dtype)
        self.threshold = probability(threshold, "threshold")
        self.tp = self.add_variable((), initializer="zeros", dtype="int64", name="tp")
        self.fp = self.add_variable((), initializer="zeros", dtype="int64", name="fp")
        self.fn = self.add_variable((), initializer="zeros", dtype="int64", name="fn")
        self.tn = self.add_variable((), initializer="zeros", dtype="int64", name="tn")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add this batch's four counts to the running totals."""
        if sample_weight is not None:
            raise ValueError(f"metric {self.name!r} counts pixels and takes no sample_weight")
        tp, fp, fn, tn = _keras_counts(y_true, y_pred, self.threshold)
        self.tp.assign_add(tp)
        self.fp.assign_add(fp)
        self.fn.assign_add(fn)
        self.tn.assign_add(tn)

    def result(self):
        """The score of the summed counts (1.0 for a zero denominator)."""
        return _keras_scores(self.tp, self.fp, self.fn, self.tn)[self.score_key]

    def get_config(self):
        return {"threshold": self.threshold, "name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="unet_course")
class DatasetDice(_DatasetScore):
    """Dice over a whole dataset: 2 sum(tp) / (2 sum(tp) + sum(fp) + sum(fn)) (lesson 8)."""

    score_key = "dice"


@keras.saving.register_keras_serializable(package="unet_course")
class DatasetIoU(_DatasetScore):
    """IoU over a whole dataset: sum(tp) / (sum(tp) + sum(fp) + sum(fn)) (lesson 8)."""

    score_key = "iou"


@keras.saving.register_keras_serializable(package="unet_course")
class DatasetPrecision(_DatasetScore):
    """Precision over a whole dataset: sum(tp) / (sum(tp) + sum(fp)) (lesson 8)."""

    score_key = "precision"


@keras.saving.register_keras_serializable(package="unet_course")
class DatasetRecall(_DatasetScore):
    """Recall over a whole dataset: sum(tp) / (sum(tp) + sum(fn)) (lesson 8)."""

    score_key = "recall"


@keras.saving.register_keras_serializable(package="unet_course")
class DatasetAccuracy(_DatasetScore):
    """Pixel accuracy over a whole dataset (lesson 2 "Class imbalance", lesson 8)."""

    score_key = "accuracy"


def dataset_metrics(threshold=0.5):
    """The five dataset-wide metrics ``compile_unet`` tracks (lesson 8).

    Returns
    -------
    list of keras.metrics.Metric
        Dice, IoU, precision, recall and accuracy, named ``"dice"``,
        ``"iou"``, ``"precision"``, ``"recall"`` and ``"accuracy"``.
    """
    return [
        DatasetDice(threshold),
        DatasetIoU(threshold),
        DatasetPrecision(threshold),
        DatasetRecall(threshold),
        DatasetAccuracy(threshold),
    ]
