"""The check of assignment 2's Keras metric: a Dice that accumulates over batches (lesson 8).

``DatasetDice(threshold=0.5, name="dice")`` is a ``keras.metrics.Metric``
whose ``update_state`` adds a batch's pixel counts and whose ``result`` is
the Dice of all counts so far. The check feeds it batches whose per-batch
Dice average differs from the dataset's Dice, resets it, and runs it inside
``model.evaluate`` (a compiled graph, as in training), comparing every value
with the counts computed here in numpy.
"""
from __future__ import annotations

import numpy as np

from unet_course.grading.common import Item, quiet
from unet_course.grading.messages import as_float, close, expect_close, fail

__all__ = ["check_DatasetDice"]

_L8 = 'lesson 8 "Evaluation and error maps"'
_M = "unet_course.metrics."
DATASET_DICE = Item("DatasetDice", (_M + "DatasetDice", _M + "_DatasetScore", _M + "_keras_counts",
                                    _M + "_keras_ratio", _M + "confusion_counts"), _L8)

HINT = ("keep three running totals (true positives, false positives, false negatives) in "
        "metric variables made in __init__; update_state thresholds the batch (building where "
        "y_pred > threshold) and adds its counts; result computes 2 tp / (2 tp + fp + fn) from "
        "the totals, and 1 when that denominator is 0")
HINT_MEAN = ("your result is the mean of the batches' Dice. A dataset's Dice is not that: add "
             "the batches' tp, fp and fn first and compute one Dice from the sums (a batch with "
             "one building pixel must not weigh as much as a batch full of buildings)")
HINT_GRAPH = ("Keras runs metrics inside a compiled graph during fit and evaluate: use keras.ops "
              "(or tf) operations on the tensors and the variables' assign_add, no numpy, "
              "float() or .numpy()")


def _dice(batches, threshold):
    """Dice of all pixels of all ``(y, p)`` batches together, and the mean of the batches' Dice."""
    def counts(y, p):
        y, predicted = y.astype(bool), p > threshold
        return (np.sum(y & predicted), np.sum(~y & predicted), np.sum(y & ~predicted))

    def dice(tp, fp, fn):
        return 1.0 if 2 * tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)

    per_batch = [counts(y, p) for y, p in batches]
    total = np.sum(per_batch, axis=0)
    return dice(*total), float(np.mean([dice(*c) for c in per_batch]))


def _batches(hidden):
    """Batches of (B, H, W, 1) masks and probabilities whose mean Dice is not the dataset Dice."""
    full = np.ones((2, 8, 8, 1), np.float32)
    one = np.zeros((2, 8, 8, 1), np.float32)
    one[0, 3, 3] = 1.0
    empty = np.zeros((1, 8, 8, 1), np.float32)
    batches = [(full, np.where(full > 0, 0.9, 0.1).astype(np.float32)),      # all found
               (one, np.full_like(one, 0.2)),                                 # the one pixel missed
               (empty, np.full_like(empty, 0.3))]                             # nothing, nothing
    if hidden:
        rng = np.random.default_rng(17)
        y = (rng.random((3, 12, 10, 1)) < 0.25).astype(np.float32)
        p = np.clip(0.5 * y + rng.random(y.shape) * 0.6, 0, 1).astype(np.float32)
        batches = [(y[:2], p[:2]), (y[2:], p[2:])] + batches[1:]
    return batches


def _make(cls, shown, *args, **kwargs):
    """A new metric ``cls(*args)`` where the student's code runs; its name and handle."""
    __tracebackhide__ = True
    made = DATASET_DICE.call(cls, *args, procedure="new_metric", shown=shown, **kwargs)
    if not made["metric"]:
        fail(f"{shown} should make a keras.metrics.Metric", "a keras.metrics.Metric",
             made["got"], hint="the class inherits from keras.metrics.Metric and calls "
                               "super().__init__(name=name, **kwargs)")
    return made["handle"]


def _method(cls, metric, name, shown, *args, hint=None):
    __tracebackhide__ = True
    return DATASET_DICE.call(cls, metric, name, *args, procedure="method", shown=shown, hint=hint)


def _feed(cls, metric, batches, shown):
    """Update the metric with every batch eagerly; return its result as a float."""
    __tracebackhide__ = True
    for y, p in batches:
        _method(cls, metric, "update_state", f"{shown}.update_state(y_true, y_pred)", y, p, hint=HINT)
    result = _method(cls, metric, "result", f"{shown}.result()", hint=HINT)
    return as_float(result, f"{shown}.result()", HINT)


def _expect(shown, got, batches, threshold, what):
    __tracebackhide__ = True
    want, mean = _dice(batches, threshold)
    if not close(got, want, 1e-5) and close(got, mean, 1e-5):
        fail(f"{shown} after {what}", f"{want:.6g} (the Dice of all their pixels)",
             f"{got:.6g} (the mean of the batches' Dice)", hint=HINT_MEAN)
    expect_close(f"{shown} after {what}", got, want, 1e-5, HINT)


def _in_evaluate(cls, batches, threshold, shown):
    """Run a fresh metric inside ``model.evaluate`` on an identity model (one compiled graph)."""
    __tracebackhide__ = True
    y = np.concatenate([b[0] for b in batches if b[0].shape[1:] == batches[0][0].shape[1:]])
    p = np.concatenate([b[1] for b in batches if b[1].shape[1:] == batches[0][1].shape[1:]])
    out = DATASET_DICE.call(cls, threshold, y, p, procedure="metric_in_evaluate",
                            shown=f"model.evaluate(...) with metrics=[{shown}]", hint=HINT_GRAPH)
    result, name = out["result"], out["name"]
    value = result.get(name) if isinstance(result, dict) else None
    if value is None:
        fail(f"model.evaluate(...) with metrics=[{shown}]", f"a value named {name!r}",
             sorted(result) if isinstance(result, dict) else result, hint=HINT)
    batches = [(y[i:i + 2], p[i:i + 2]) for i in range(0, len(y), 2)]
    _expect(f"{shown} inside model.evaluate (batches of 2)", as_float(value, shown, HINT), batches,
            threshold, f"{len(y)} tiles")


@quiet
def check_DatasetDice(DatasetDice, hidden=False):  # noqa: N802, N803 - the class's own name
    """Grade ``class DatasetDice(keras.metrics.Metric)``: a Dice of every pixel of every batch (lesson 8).

    Visible: three batches fed eagerly (one all building, one with a single
    missed pixel, one empty), then ``reset_state()`` and one batch again.
    Hidden: other thresholds (by keyword and by position), random batches,
    and the metric inside ``model.evaluate``.
    """
    __tracebackhide__ = True
    from unet_course.metrics import _DatasetScore
    DATASET_DICE.start(DatasetDice)
    if isinstance(DatasetDice, type) and issubclass(DatasetDice, _DatasetScore):  # self-check mode
        DATASET_DICE._shortcut(_M + "DatasetDice")
    batches = _batches(hidden)
    cases = [((), {}, 0.5)] if not hidden else [((), {"threshold": 0.3}, 0.3), ((0.7,), {}, 0.7)]
    for args, kwargs, threshold in cases:
        call = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        shown = f"DatasetDice({call})"
        metric = _make(DatasetDice, shown, *args, **kwargs)
        _expect(shown, _feed(DatasetDice, metric, batches, shown), batches, threshold,
                f"{len(batches)} batches")
        _method(DatasetDice, metric, "reset_state", f"{shown}.reset_state()")
        _expect(shown, _feed(DatasetDice, metric, batches[1:2], shown), batches[1:2], threshold,
                "reset_state() and one more batch (a single building pixel, missed)")
    if hidden:
        _in_evaluate(DatasetDice, batches[:2], 0.5, "DatasetDice(0.5)")
