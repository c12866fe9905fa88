"""Checks of assignment 2, "Losses and metrics" (lessons 3 and 8).

Keras losses and the seed's Dice metric take ``(y_true, y_pred)`` tensors
and must run where Keras runs them: inside a compiled training step
(``tf.function``), where tensors are symbolic and numpy cannot see them. The
losses must also have a gradient. The numpy scores take arrays and a
threshold (a pixel is building when its probability is *greater than* the
threshold). Every value is compared with the package's numpy twins in
:mod:`unet_course.losses` and :mod:`unet_course.metrics`.

``DatasetDice``, a Keras metric that accumulates the Dice over batches, is
checked in :mod:`unet_course.grading.dataset_metric`.

Hidden checks use other shapes, other ``smooth`` values and thresholds, and
batches where the per-image mean and the batch-wide value differ.
"""
from __future__ import annotations

import numpy as np

from unet_course.grading.codec import TensorData
from unet_course.grading.common import Item, quiet
from unet_course.grading.dataset_metric import DATASET_DICE, check_DatasetDice  # noqa: F401
from unet_course.grading.messages import as_float, expect_array, expect_close, fail, show

__all__ = ["check_bce_loss", "check_dice_loss", "check_bce_dice_loss", "check_dice_metric",
           "check_iou_score", "check_precision_score", "check_recall_score",
           "check_error_map_masks", "check_DatasetDice"]

_L3 = 'lesson 3 "BCE versus Dice"'
_L8 = 'lesson 8 "Evaluation and error maps"'
_M = "unet_course.metrics."
_COUNTS = (_M + "confusion_counts", _M + "scores_from_counts", _M + "_keras_counts")

BCE = Item("bce_loss", ("unet_course.losses.bce_loss", "unet_course.losses.bce_np",
                        "unet_course.losses.weighted_bce_np"), _L3)
DICE = Item("dice_loss", ("unet_course.losses.dice_loss", "unet_course.losses.dice_loss_np"), _L3)
BCE_DICE = Item("bce_dice_loss", ("unet_course.losses.bce_dice_loss", "unet_course.losses.bce_dice_np"),
                _L3, stand_ins={"bce_loss": "unet_course.losses.bce_loss",
                                "dice_loss": "unet_course.losses.dice_loss"})
DICE_METRIC = Item("dice_metric", (_M + "dice_metric", _M + "dice_score", _M + "DatasetDice") + _COUNTS, _L8)
IOU = Item("iou_score", (_M + "iou_score", _M + "DatasetIoU") + _COUNTS, _L8)
PRECISION = Item("precision_score", (_M + "precision_score", _M + "DatasetPrecision") + _COUNTS, _L8)
RECALL = Item("recall_score", (_M + "recall_score", _M + "DatasetRecall") + _COUNTS, _L8)
ERROR_MAP = Item("error_map_masks", (_M + "error_map_masks",), _L8)

HINTS = {
    "bce_loss": "BCE is the mean over every pixel of -(y log p + (1 - y) log(1 - p)); keep p and "
                "1 - p at least 1e-7 before the log (ops.maximum or ops.clip)",
    "dice_loss": "Dice loss is 1 - (2 sum(y p) + smooth) / (sum(y) + sum(p) + smooth), each sum over "
                 "every pixel of the whole batch, on the probabilities themselves (no threshold)",
    "bce_dice_loss": "the seed's loss adds the two losses you wrote above, each on the same "
                     "y_true and y_pred, with equal weight",
    "dice_metric": "threshold first (building where y_pred > 0.5), count tp, fp, fn over the batch, "
                   "return 2 tp / (2 tp + fp + fn), and 1.0 when that denominator is 0",
    "iou_score": "IoU = tp / (tp + fp + fn), with building where y_prob > threshold; 1.0 when "
                 "tp + fp + fn is 0",
    "precision_score": "precision = tp / (tp + fp), with building where y_prob > threshold; 1.0 "
                       "when nothing is predicted (tp + fp = 0)",
    "recall_score": "recall = tp / (tp + fn), with building where y_prob > threshold; 1.0 when "
                    "there is no building (tp + fn = 0)",
    "error_map_masks": "a true positive is building in the truth and in the prediction, a "
                       "false positive building only in the prediction, a false negative only "
                       "in the truth, a true negative in neither; make both inputs bool first, "
                       "then combine them elementwise (and, not)",
}
#: Where a seed-style dice_metric meets the course's deliberate difference (lessons 3 and 8).
SEED_EMPTY_DICE = ("your metric gives 0 where nothing is predicted and there is no building, as "
                   "the seed's does (tf.math.divide_no_nan turns 0/0 into 0). The course "
                   "deliberately differs here: an empty tile predicted empty is a perfect "
                   "answer, so its Dice is 1 (lesson 8 explains why); return 1 when "
                   "2 tp + fp + fn is 0")
KERAS_HINT = ("Keras runs losses and metrics on symbolic tensors inside model.fit, where numpy "
              "cannot look at values: use keras.ops (ops.sum, ops.log, ops.cast, ops.where ...) "
              "instead of numpy, and no float() or .numpy()")


def _tensor(array):
    """A float32 tensor where the student's code runs (plain data until then)."""
    return TensorData(np.asarray(array, dtype=np.float32))


def _batch(seed, shape, share=0.3):
    """Random 0/1 masks and probabilities between 0.02 and 0.98, float32."""
    rng = np.random.default_rng(seed)
    y = (rng.random(shape) < share).astype(np.float32)
    p = rng.uniform(0.02, 0.98, shape).astype(np.float32)
    return y, p


def _loss_table(cases):
    """The stand-ins of ``bce_dice_loss`` as data: the package's BCE and Dice, value and gradient,
    for each ``(description, y, p)`` the check sends."""
    def table():
        from unet_course.backend import tf
        from unet_course.losses import bce_loss, dice_loss
        out = {}
        for name, loss in (("bce_loss", bce_loss), ("dice_loss", dice_loss)):
            entries = []
            for _, y, p in cases:
                yt, pt = tf.constant(y, tf.float32), tf.constant(p, tf.float32)
                with tf.GradientTape() as tape:
                    tape.watch(pt)
                    value = loss(yt, pt)
                entries.append((y, p, float(value), np.asarray(tape.gradient(value, pt))))
            out[name] = {"kind": "loss_table", "entries": entries}
        return out
    return table


def _keras_value(item, fn, y, p, shown, args=(), kwargs=None, stand_ins=None):
    """The value of a Keras loss or metric on tensors, as a float."""
    __tracebackhide__ = True
    result = item.call(fn, _tensor(y), _tensor(p), *args, shown=shown, stand_ins=stand_ins, **(kwargs or {}))
    return as_float(result, shown, HINTS[item.name])


def _in_training_step(item, fn, y, p, gradient, stand_ins=None):
    """Run ``fn`` inside ``tf.function`` (as model.fit does); check its gradient if asked."""
    __tracebackhide__ = True
    shown = f"{item.name}(y_true, y_pred) inside a compiled training step (tf.function)"
    out = item.call(fn, np.asarray(y, np.float32), np.asarray(p, np.float32), gradient,
                    procedure="training_step", shown=shown, hint=KERAS_HINT, stand_ins=stand_ins)
    value, grad = out["value"], out["gradient"]
    as_float(value, shown, HINTS[item.name])
    if gradient and (not isinstance(grad, np.ndarray) or not np.all(np.isfinite(grad))):
        fail(f"{shown} has no usable gradient with respect to y_pred",
             "a finite gradient", "None" if grad is None else "NaN or infinite values",
             hint="a loss must be computed from the probabilities with differentiable "
                  "operations: no threshold, no rounding, no casting of y_pred to 0/1")


def _loss_cases(hidden):
    """``(description, y, p)`` batches of shape (B, H, W, 1)."""
    if hidden:
        y, p = _batch(11, (3, 8, 6, 1), 0.2)
        unequal_y = np.zeros((2, 6, 6, 1), np.float32)
        unequal_y[0] = 1.0
        unequal_y[1, 0, 0] = 1.0
        unequal_p = np.full((2, 6, 6, 1), 0.3, np.float32)
        return [("a random batch of shape (3, 8, 6, 1)", y, p),
                ("a batch of 2 tiles, one all building, one with a single building pixel",
                 unequal_y, unequal_p)]
    y = np.zeros((2, 4, 4, 1), np.float32)
    y[0, :2, :2] = 1.0
    y[1, 3, :] = 1.0
    p = np.where(y > 0, 0.8, 0.1).astype(np.float32)
    p[0, 0, 0] = 0.3
    p[1, 0, 0] = 0.6
    return [("a batch of 2 tiles of 4x4, most pixels predicted right", y, p)]


def _check_loss(item, fn, hidden, reference, extra=()):
    """Compare a Keras loss with its numpy twin on each case, then run it in a training step."""
    __tracebackhide__ = True
    item.start(fn)
    cases = _loss_cases(hidden)
    stand_ins = _loss_table(cases)
    for description, y, p in cases:
        shown = f"{item.name}(y_true, y_pred) on {description}"
        expect_close(shown, _keras_value(item, fn, y, p, shown, stand_ins=stand_ins), reference(y, p), 1e-4,
                     HINTS[item.name])
    for description, y, p, expected, tol in extra:
        shown = f"{item.name}(y_true, y_pred) on {description}"
        expect_close(shown, _keras_value(item, fn, y, p, shown), expected, tol, HINTS[item.name])
    y, p = cases[0][1:]
    _in_training_step(item, fn, y, p, gradient=True, stand_ins=stand_ins)


def _edge_masks():
    y = np.zeros((2, 4, 4, 1), np.float32)
    y[:, 1:3, 1:3] = 1.0
    return y


@quiet
def check_bce_loss(bce_loss, hidden=False):
    """Grade ``bce_loss(y_true, y_pred)``: mean binary cross-entropy (lesson 3)."""
    __tracebackhide__ = True
    from unet_course.losses import bce_np
    y = _edge_masks()
    extra = [("a perfect prediction (y_pred == y_true)", y, y, 0.0, 1e-4),
             ("a confident mistake everywhere (y_pred == 1 - y_true): -log(1e-7) per pixel",
              y, 1.0 - y, 16.118, 0.5)]
    _check_loss(BCE, bce_loss, hidden, bce_np, extra)


@quiet
def check_dice_loss(dice_loss, hidden=False):
    """Grade ``dice_loss(y_true, y_pred, smooth=1.0)``: soft Dice over the batch (lesson 3)."""
    __tracebackhide__ = True
    from unet_course.losses import dice_loss_np
    y = _edge_masks()
    empty = np.zeros_like(y)
    extra = [("a perfect prediction (y_pred == y_true)", y, y, 0.0, 1e-5),
             ("an empty mask predicted empty (smooth keeps it defined)", empty, empty, 0.0, 1e-5)]
    _check_loss(DICE, dice_loss, hidden, dice_loss_np, extra)
    if hidden:
        y, p = _batch(12, (2, 5, 9, 1), 0.25)
        for args, kwargs in (((0.5,), {}), ((), {"smooth": 2.0})):
            smooth = args[0] if args else kwargs["smooth"]
            shown = (f"dice_loss(y_true, y_pred, {'smooth=' if kwargs else ''}{smooth}) "
                     f"on a random batch of shape (2, 5, 9, 1)")
            expect_close(shown, _keras_value(DICE, dice_loss, y, p, shown, args, kwargs),
                         dice_loss_np(y, p, smooth=smooth), 1e-4, HINTS["dice_loss"])


@quiet
def check_bce_dice_loss(bce_dice_loss, hidden=False):
    """Grade ``bce_dice_loss(y_true, y_pred)``: the seed's loss, BCE + Dice (lesson 3).

    The package's ``bce_loss`` and ``dice_loss`` stand in for the notebook's
    while it is checked, so only the sum is graded here.
    """
    __tracebackhide__ = True
    from unet_course.losses import bce_dice_np
    _check_loss(BCE_DICE, bce_dice_loss, hidden, bce_dice_np)


@quiet
def check_dice_metric(dice_metric, hidden=False):
    """Grade ``dice_metric(y_true, y_pred)``: the seed's thresholded Dice of one batch (lesson 8)."""
    __tracebackhide__ = True
    DICE_METRIC.start(dice_metric)
    y = _edge_masks()
    p = np.where(y > 0, 0.9, 0.2).astype(np.float32)
    p[0, 1, 1] = 0.5          # exactly 0.5 is background
    p[1, 0, 0] = 0.7          # a false positive
    empty = np.zeros_like(y)
    cases = [("a batch of 2 tiles; one building pixel at exactly 0.5, one false positive", y, p),
             ("an empty mask predicted empty (1.0 by convention)", empty, empty + 0.1),
             ("buildings, nothing predicted", y, empty + 0.2)]
    if hidden:
        yr, pr = _batch(13, (4, 16, 16, 1), 0.15)
        cases = [("a random batch of shape (4, 16, 16, 1)", yr, pr),
                 ("empty masks, everything predicted building", np.zeros_like(yr), pr * 0 + 0.9)]
    for description, yt, pt in cases:
        shown = f"dice_metric(y_true, y_pred) on {description}"
        expected = _numpy_dice(yt, pt)
        value = _keras_value(DICE_METRIC, dice_metric, yt, pt, shown)
        if sum(_counts(yt, pt)) == 0 and abs(value) < 1e-6:
            fail(shown, "1 (the course's convention for 0/0)", value, hint=SEED_EMPTY_DICE)
        expect_close(shown, value, expected, 1e-5, HINTS["dice_metric"])
    _in_training_step(DICE_METRIC, dice_metric, y, p, gradient=False)


def _counts(y, p, threshold=0.5):
    y = np.asarray(y).astype(bool)
    predicted = np.asarray(p) > threshold
    return (np.sum(y & predicted), np.sum(~y & predicted), np.sum(y & ~predicted))


def _ratio(numerator, denominator):
    return 1.0 if denominator == 0 else numerator / denominator


def _numpy_dice(y, p):
    tp, fp, fn = _counts(y, p)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _score_cases(hidden):
    """``(description, y_true, y_prob, args, kwargs)`` for the numpy scores."""
    if hidden:
        y, p = _batch(14, (3, 9, 7), 0.3)
        ones = np.ones((2, 5, 5), np.uint8)
        return [("random masks of shape (3, 9, 7), threshold=0.3", y.astype(np.uint8), p, (), {"threshold": 0.3}),
                ("random masks of shape (3, 9, 7), threshold 0.7 (by position)", y.astype(np.uint8), p, (0.7,), {}),
                ("all-building masks, predicted all background", ones, ones * 0.1, (), {}),
                ("empty masks, predicted all background", ones * 0, ones * 0.1, (), {})]
    y = np.array([1, 1, 0, 0, 1, 0], np.uint8)
    p = np.array([0.9, 0.2, 0.7, 0.1, 0.5, 0.5])
    empty = np.zeros((2, 3), np.uint8)
    return [(f"y_true = {show(y)}, y_prob = {show(p)}", y, p, (), {}),
            ("an empty mask predicted empty", empty, empty + 0.1, (), {}),
            ("a mask with buildings, predicted empty", np.ones((2, 3), np.uint8), empty + 0.1, (), {}),
            ("an empty mask, everything predicted building", empty, empty + 0.9, (), {})]


def _check_score(item, fn, hidden, formula):
    """Compare a numpy score with ``formula(tp, fp, fn)`` on each case."""
    __tracebackhide__ = True
    item.start(fn)
    for description, y, p, args, kwargs in _score_cases(hidden):
        threshold = args[0] if args else kwargs.get("threshold", 0.5)
        call = ", ".join(["y_true", "y_prob"] + [repr(a) for a in args]
                         + [f"{k}={v!r}" for k, v in kwargs.items()])
        shown = f"{item.name}({call}) with {description}"
        value = as_float(item.call(fn, y, p, *args, shown=shown, **kwargs), shown, HINTS[item.name])
        expect_close(shown, value, formula(*_counts(y, p, threshold)), 1e-6, HINTS[item.name])


@quiet
def check_iou_score(iou_score, hidden=False):
    """Grade ``iou_score(y_true, y_prob, threshold=0.5)``: tp / (tp + fp + fn) (lesson 8)."""
    __tracebackhide__ = True
    _check_score(IOU, iou_score, hidden, lambda tp, fp, fn: _ratio(tp, tp + fp + fn))


@quiet
def check_precision_score(precision_score, hidden=False):
    """Grade ``precision_score(y_true, y_prob, threshold=0.5)``: tp / (tp + fp) (lesson 8)."""
    __tracebackhide__ = True
    _check_score(PRECISION, precision_score, hidden, lambda tp, fp, fn: _ratio(tp, tp + fp))


@quiet
def check_recall_score(recall_score, hidden=False):
    """Grade ``recall_score(y_true, y_prob, threshold=0.5)``: tp / (tp + fn) (lesson 8)."""
    __tracebackhide__ = True
    _check_score(RECALL, recall_score, hidden, lambda tp, fp, fn: _ratio(tp, tp + fn))


@quiet
def check_error_map_masks(error_map_masks, hidden=False):
    """Grade ``error_map_masks(y_true, y_pred_binary)``: four bool masks, one True per pixel (lesson 8)."""
    __tracebackhide__ = True
    ERROR_MAP.start(error_map_masks)
    if hidden:
        rng = np.random.default_rng(15)
        y = (rng.random((3, 9, 7)) < 0.3).astype(np.uint8)
        cases = [("random masks of shape (3, 9, 7), a bool prediction", y, rng.random(y.shape) < 0.4),
                 ("random masks of shape (3, 9, 7), a uint8 prediction", y,
                  (rng.random(y.shape) < 0.5).astype(np.uint8))]
    else:
        y = np.array([[1, 1], [0, 0]], np.uint8)
        cases = [(f"y_true = {show(y)}, y_pred_binary = [[1, 0], [1, 0]]", y,
                  np.array([[1, 0], [1, 0]], np.uint8))]
    for description, yt, pred in cases:
        shown = f"error_map_masks(y_true, y_pred_binary) with {description}"
        got = ERROR_MAP.call(error_map_masks, yt, pred, shown=shown)
        if not isinstance(got, dict) or set(got) != {"tp", "fp", "fn", "tn"}:
            fail(f"{shown} should return a dict with the keys 'tp', 'fp', 'fn', 'tn'",
                 "{'tp': ..., 'fp': ..., 'fn': ..., 'tn': ...}", got, hint=HINTS["error_map_masks"])
        truth, predicted = yt.astype(bool), np.asarray(pred).astype(bool)
        expected = {"tp": truth & predicted, "fp": ~truth & predicted,
                    "fn": truth & ~predicted, "tn": ~truth & ~predicted}
        for key in ("tp", "fp", "fn", "tn"):
            expect_array(f"{shown}, key {key!r}", got[key], expected[key],
                         HINTS["error_map_masks"], dtype=bool)
