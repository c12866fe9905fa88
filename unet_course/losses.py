"""Losses for building segmentation: BCE, weighted BCE, Dice, BCE + Dice (lesson 3).

Lesson 3 "BCE versus Dice" compares them; lesson 2 "Class imbalance"
explains why only about 13 % of pixels are buildings and what that does to
plain binary cross-entropy (BCE).

Each Keras loss takes ``(y_true, y_pred)`` tensors of building masks (0/1)
and sigmoid probabilities, and returns one number for the whole batch. Each
has a plain-numpy twin, ending in ``_np``, that computes the same number; the
tests hold the two together.

- **BCE** is the mean over all pixels of ``-(y log p + (1 - y) log(1 - p))``.
  Before the log, a probability is kept at least ``EPSILON`` away from 0 and
  1 (``log(0)`` is minus infinity), so a confident mistake costs
  ``-log(EPSILON)`` = 16.1, not infinity. The code floors ``p`` and ``1 - p``
  at ``EPSILON``. That is clipping ``p`` to ``[EPSILON, 1 - EPSILON]`` up
  to about ``EPSILON``, but float32 rounding of ``1 - EPSILON`` cannot move
  the floor, and a perfect prediction costs exactly 0.
- **Weighted BCE** multiplies the building term by ``pos_weight``; with
  :func:`positive_class_weight` both classes weigh the same in total.
- **Dice loss** is ``1 - (2 * sum(y * p) + smooth) / (sum(y) + sum(p) + smooth)``,
  summed over the whole batch as the seed did (not per image). ``smooth = 1``
  keeps it defined when the batch has no building and nothing is predicted.
- **BCE + Dice** (the seed's loss) adds the two.
"""
from __future__ import annotations

import numpy as np

from unet_course.backend import keras, ops

__all__ = [
    "EPSILON",
    "bce_loss",
    "WeightedBCE",
    "weighted_bce_loss",
    "dice_loss",
    "bce_dice_loss",
    "LOSSES",
    "get_loss",
    "bce_np",
    "weighted_bce_np",
    "dice_loss_np",
    "bce_dice_np",
    "positive_class_weight",
]

#: Smallest probability the log ever sees (Keras's own ``epsilon``).
EPSILON = 1e-7


# --- Keras losses ---------------------------------------------------------------


def _as_float(y_true, y_pred):
    """Both tensors as float32 (mixed precision may hand over float16)."""
    return ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")


def _safe_log(x):
    """``log(x)`` with ``x`` kept at least ``EPSILON``."""
    return ops.log(ops.maximum(x, EPSILON))


@keras.saving.register_keras_serializable(package="unet_course")
def bce_loss(y_true, y_pred):
    """Binary cross-entropy, averaged over every pixel of the batch.

    Lesson 3 "BCE versus Dice" explains it.

    Parameters
    ----------
    y_true : tensor
        Building masks, 0 or 1, e.g. ``(batch, H, W, 1)``.
    y_pred : tensor
        Building probabilities in [0, 1], the same shape.

    Returns
    -------
    scalar tensor
        ``mean(-(y log p + (1 - y) log(1 - p)))``, logs floored at ``log(EPSILON)``.
    """
    y_true, y_pred = _as_float(y_true, y_pred)
    per_pixel = y_true * _safe_log(y_pred) + (1.0 - y_true) * _safe_log(1.0 - y_pred)
    return -ops.mean(per_pixel)


@keras.saving.register_keras_serializable(package="unet_course")
class WeightedBCE(keras.losses.Loss):
    """BCE whose building pixels count ``pos_weight`` times, as a Keras loss that saves with the model.

    A class rather than a closure, so that a model compiled with it and saved
    as ``.keras`` loads again with its ``pos_weight`` (``get_config``).
    """

    def __init__(self, pos_weight=1.0, name="weighted_bce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pos_weight = _check_pos_weight(pos_weight)

    def call(self, y_true, y_pred):
        """Per-pixel ``-(pos_weight * y log p + (1 - y) log(1 - p))``; Keras averages it."""
        y_true, y_pred = _as_float(y_true, y_pred)
        building = self.pos_weight * y_true * _safe_log(y_pred)
        background = (1.0 - y_true) * _safe_log(1.0 - y_pred)
        return -(building + background)

    def get_config(self):
        return {**super().get_config(), "pos_weight": self.pos_weight}


def weighted_bce_loss(pos_weight):
    """Make a BCE loss whose building pixels count ``pos_weight`` times.

    Lesson 2 "Class imbalance" and lesson 3 "BCE versus Dice" explain it;
    :func:`positive_class_weight` gives the weight that balances the classes.

    Parameters
    ----------
    pos_weight : float
        Weight of the building (positive) term, > 0. 1 gives plain BCE.

    Returns
    -------
    WeightedBCE
        ``loss(y_true, y_pred) -> scalar tensor``, the mean over all pixels of
        ``-(pos_weight * y log p + (1 - y) log(1 - p))``; a model compiled
        with it saves and loads with its weight.
    """
    return WeightedBCE(pos_weight)


@keras.saving.register_keras_serializable(package="unet_course")
def dice_loss(y_true, y_pred, smooth=1.0):
    """Soft Dice loss over the whole batch.

    Lesson 3 "BCE versus Dice" explains it. Probabilities are used as they
    are (no threshold), so the loss has a gradient.

    Parameters
    ----------
    y_true : tensor
        Building masks, 0 or 1.
    y_pred : tensor
        Building probabilities in [0, 1], the same shape.
    smooth : float, default 1.0
        Added to the numerator and the denominator.

    Returns
    -------
    scalar tensor
        ``1 - (2 * sum(y * p) + smooth) / (sum(y) + sum(p) + smooth)``, sums
        over every pixel of every image in the batch.
    """
    y_true, y_pred = _as_float(y_true, y_pred)
    overlap = ops.sum(y_true * y_pred)
    total = ops.sum(y_true) + ops.sum(y_pred)
    return 1.0 - (2.0 * overlap + smooth) / (total + smooth)


@keras.saving.register_keras_serializable(package="unet_course")
def bce_dice_loss(y_true, y_pred):
    """BCE plus soft Dice loss: the seed's loss.

    Lesson 3 "BCE versus Dice" explains why the sum helps: BCE gives every
    pixel a gradient, Dice keeps the rare building class from being ignored.

    Returns
    -------
    scalar tensor
        ``bce_loss(y_true, y_pred) + dice_loss(y_true, y_pred)``.
    """
    return bce_loss(y_true, y_pred) + dice_loss(y_true, y_pred)


#: The losses a lesson or the command line can ask for by name.
LOSSES = {"bce": bce_loss, "dice": dice_loss, "bce_dice": bce_dice_loss}


def get_loss(name_or_fn):
    """Return the loss called ``name_or_fn`` in :data:`LOSSES`, or the callable itself.

    Lesson 3 "BCE versus Dice" uses it to train the same U-Net with each loss.

    Parameters
    ----------
    name_or_fn : str or callable
        ``"bce"``, ``"dice"`` or ``"bce_dice"``, or a loss function.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.

    Examples
    --------
    >>> get_loss("bce_dice").__name__
    'bce_dice_loss'
    """
    if callable(name_or_fn):
        return name_or_fn
    if isinstance(name_or_fn, str) and name_or_fn in LOSSES:
        return LOSSES[name_or_fn]
    raise ValueError(
        f"unknown loss {name_or_fn!r}; expected one of {sorted(LOSSES)} or a "
        f"function loss(y_true, y_pred)"
    )


# --- numpy twins ----------------------------------------------------------------


def _as_arrays(y_true, y_pred):
    """Both inputs as float64 arrays of the same shape."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got {y_true.shape} and {y_pred.shape}"
        )
    return y_true, y_pred


def _check_pos_weight(pos_weight):
    """Return ``pos_weight`` as a float; raise ``ValueError`` unless finite and > 0."""
    try:
        value = float(pos_weight)
    except (TypeError, ValueError) as error:
        raise ValueError(f"pos_weight must be a number > 0, got {pos_weight!r}") from error
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"pos_weight must be a finite number > 0, got {pos_weight!r}")
    return value


def weighted_bce_np(y_true, y_pred, pos_weight):
    """Numpy twin of :func:`weighted_bce_loss` (lesson 3 "BCE versus Dice").

    Returns
    -------
    float
        Mean over all pixels of ``-(pos_weight * y log p + (1 - y) log(1 - p))``.
    """
    pos_weight = _check_pos_weight(pos_weight)
    y_true, y_pred = _as_arrays(y_true, y_pred)
    log_p = np.log(np.maximum(y_pred, EPSILON))
    log_not_p = np.log(np.maximum(1.0 - y_pred, EPSILON))
    return float(-np.mean(pos_weight * y_true * log_p + (1.0 - y_true) * log_not_p))


def bce_np(y_true, y_pred):
    """Numpy twin of :func:`bce_loss` (lesson 3 "BCE versus Dice").

    Returns
    -------
    float
        Mean over all pixels of ``-(y log p + (1 - y) log(1 - p))``.
    """
    return weighted_bce_np(y_true, y_pred, pos_weight=1.0)


def dice_loss_np(y_true, y_pred, smooth=1.0):
    """Numpy twin of :func:`dice_loss` (lesson 3 "BCE versus Dice").

    Returns
    -------
    float
        ``1 - (2 * sum(y * p) + smooth) / (sum(y) + sum(p) + smooth)``.
    """
    y_true, y_pred = _as_arrays(y_true, y_pred)
    overlap = np.sum(y_true * y_pred)
    total = np.sum(y_true) + np.sum(y_pred)
    return float(1.0 - (2.0 * overlap + smooth) / (total + smooth))


def bce_dice_np(y_true, y_pred):
    """Numpy twin of :func:`bce_dice_loss` (lesson 3 "BCE versus Dice")."""
    return bce_np(y_true, y_pred) + dice_loss_np(y_true, y_pred)


def positive_class_weight(masks):
    """Background pixels per building pixel: the weight that balances BCE.

    Lesson 2 "Class imbalance" explains it: with 13.4 % building pixels the
    weight is about 6.5, so the building pixels, all together, count as much
    as the background pixels.

    Parameters
    ----------
    masks : array-like of 0/1
        Building masks of any shape, e.g. ``TileSet.masks``.

    Returns
    -------
    float
        ``(number of 0 pixels) / (number of 1 pixels)``.

    Raises
    ------
    ValueError
        When ``masks`` holds values other than 0 and 1, or no building pixel.

    Examples
    --------
    >>> positive_class_weight([[0, 0, 0, 1]])
    3.0
    """
    masks = np.asarray(masks)
    if masks.size and not np.isin(masks, (0, 1)).all():
        raise ValueError(f"masks must hold only 0 and 1, got values {np.unique(masks)[:5]}")
    buildings = int(np.count_nonzero(masks))
    if buildings == 0:
        raise ValueError(
            "masks has no building pixel, so the positive-class weight is undefined; "
            "pass masks that contain buildings"
        )
    return (masks.size - buildings) / buildings
