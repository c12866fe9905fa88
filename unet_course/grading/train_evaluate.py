"""Checks of assignment 4, "Train and evaluate" (lessons 7 and 8).

- ``compile_unet(model, loss="bce_dice", learning_rate=None)``: inspected
  through Keras 3 (the optimizer's class and learning-rate schedule from
  ``get_config()``), then the compiled loss and metrics are evaluated on one
  batch and compared with the package's numpy twins;
- ``train_model(model, train, validation, epochs, batch_size=8)``: a short
  seeded training in the ``smoke`` profile (64 px synthetic tiles, 8 base
  filters) of a U-Net compiled the package's way. Graded on what must hold
  whatever the machine: the history, the number of optimizer steps (epochs x
  batches of the training tiles), and, with a tolerance, the loss on the
  fixed validation tiles, which must fall by at least ``MIN_IMPROVEMENT``
  (the reference falls by about twice that). The hidden check trains one
  more epoch in batches of 16 on the model the visible check trained, which
  Keras does without tracing its training step again;
- ``augment_pair`` and ``choose_threshold``: see
  :mod:`unet_course.grading.augment_threshold`;
- ``error_map(image, y_true, y_pred, alpha=0.7)``: compared pixel by pixel
  with :func:`unet_course.viz.error_map`, within 1 grey level for rounding.

The written answer about the error maps is graded by hand.
"""
from __future__ import annotations

import math

import numpy as np

from unet_course.grading.augment_threshold import (  # noqa: F401 - their Items too
    AUGMENT, THRESHOLD, check_augment_pair, check_choose_threshold)
from unet_course.grading.codec import Function
from unet_course.grading.common import Item, quiet
from unet_course.grading.messages import as_float, expect_close, fail, show
from unet_course.grading.procedures import model_spec

__all__ = ["check_compile_unet", "check_train_model", "check_augment_pair",
           "check_choose_threshold", "check_error_map", "MIN_IMPROVEMENT"]

_L7 = 'lesson 7 "Training"'
_L8 = 'lesson 8 "Evaluation and error maps"'

COMPILE = Item("compile_unet", ("unet_course.train.compile_unet", "unet_course.train.compiled_unet",
                                "unet_course.train.learning_rate_schedule"), _L7)
TRAIN = Item("train_model", ("unet_course.train.train_unet",), _L7)
ERROR_MAP = Item("error_map", ("unet_course.viz.error_map", "unet_course.viz.plot_error_maps",
                               "unet_course.viz._grey"), _L8)

#: How much the validation loss (BCE + Dice) must fall in the smoke profile's epochs.
MIN_IMPROVEMENT = 0.1

HINTS = {
    "compile_unet": "the seed's recipe: Adam whose learning rate is an exponential decay "
                    "starting at learning_rate (1e-3 when None) and multiplied by 0.9 every "
                    "1000 steps; the loss that get_loss finds for `loss`; the course's "
                    "dataset-level metrics; the function gives back the model it compiled",
    "train_model": "the training tiles go through the tf.data pipeline shuffled and the "
                   "validation tiles in a fixed order, both in batches of batch_size; fit "
                   "for `epochs` epochs with the validation data and without a progress bar, "
                   "and give back the History's dict of per-epoch values",
    "error_map": "grey = luma 0.299 R + 0.587 G + 0.114 B (of the image in 0..255) on all 3 "
                 "channels; where tp, fp, fn: (1 - alpha) * grey + alpha * ERROR_COLOURS[key]; "
                 "true negatives stay grey; round, clip to 0..255, return uint8",
}

_LOSS_TWINS = {"bce": "bce_np", "dice": "dice_loss_np", "bce_dice": "bce_dice_np"}


def _small_unet():
    from unet_course.backend import keras

    from unet_course.model import build_unet
    keras.utils.set_random_seed(7)
    return build_unet((32, 32, 3), filters=2)


def _batch():
    rng = np.random.default_rng(21)
    x = rng.random((2, 32, 32, 3)).astype(np.float32)
    y = (rng.random((2, 32, 32, 1)) < 0.3).astype(np.float32)
    return x, y


def _name(value):
    """A function by its name, anything else by its repr."""
    if isinstance(value, Function):
        return value.path.rpartition(".")[2]
    return getattr(value, "__name__", None) or repr(value)


def _check_schedule(shown, optimizer, initial):
    """``optimizer``: the compiled optimizer as Keras serializes it (plain data)."""
    __tracebackhide__ = True
    kind = (optimizer.get("module"), optimizer.get("class_name")) if isinstance(optimizer, dict) else None
    if kind != ("keras.optimizers", "Adam") or not isinstance(optimizer.get("config"), dict):
        fail(f"{shown}: the optimizer", "keras.optimizers.Adam",
             "no optimizer (the model is not compiled)" if optimizer is None else
             (optimizer.get("class_name") if isinstance(optimizer, dict) else optimizer),
             hint=HINTS["compile_unet"])
    rate = optimizer["config"].get("learning_rate")
    rate = rate if isinstance(rate, dict) else float(rate)
    want = {"class_name": "ExponentialDecay", "initial_learning_rate": initial,
            "decay_steps": 1000, "decay_rate": 0.9, "staircase": False}
    got = ({"class_name": rate.get("class_name"), **{k: rate.get("config", {}).get(k)
                                                     for k in list(want)[1:]}}
           if isinstance(rate, dict) else {"class_name": f"a constant {rate:g}"})
    close = (got.get("class_name") == "ExponentialDecay"
             and all(got[k] == want[k] for k in ("decay_steps", "staircase"))
             and math.isclose(got["decay_rate"], 0.9, rel_tol=1e-6)
             and math.isclose(got["initial_learning_rate"], initial, rel_tol=1e-6))
    if not close:
        fail(f"{shown}: the learning-rate schedule", want, got, hint=HINTS["compile_unet"])


@quiet
def check_compile_unet(compile_unet, hidden=False):
    """Grade ``compile_unet(model, loss="bce_dice", learning_rate=None)`` (lesson 7).

    Adam with ``ExponentialDecay(learning_rate or 1e-3, 1000, 0.9)``, the loss
    named by ``loss`` (or the function given), and the dataset metrics
    ``dice``, ``iou``, ``precision``, ``recall``, ``accuracy``.
    """
    __tracebackhide__ = True
    import unet_course.losses as losses
    from unet_course.metrics import confusion_counts, scores_from_counts

    COMPILE.start(compile_unet)
    cases = [((), {}, "bce_dice", 1e-3)]
    if hidden:
        cases = [(("bce", 3e-4), {}, "bce", 3e-4),
                 ((), {"loss": Function("unet_course.losses.dice_loss")}, "dice", 1e-3)]
    x, y = _batch()
    for args, kwargs, loss_name, initial in cases:
        model = _small_unet()
        call = ", ".join(["model"] + [_name(a) for a in args]
                         + [f"{k}={_name(v)}" for k, v in kwargs.items()])
        shown = f"compile_unet({call}) on a small U-Net"
        out = COMPILE.call(compile_unet, model_spec(model), list(args), dict(kwargs), x, y,
                           procedure="compile_model", shown=shown)
        if not out["returned_model"]:
            fail(f"{shown} should return the model it compiled", "model", out["got"],
                 hint="end with `return model`")
        _check_schedule(shown, out["optimizer"], initial)
        if "broken" in out:
            fail(f"{shown}: the compiled model cannot compute its loss and metrics ({out['broken']})",
                 hint=HINTS["compile_unet"])
        p = np.asarray(model(x, training=False))
        loss = as_float(out["loss"], f"{shown}: the compiled loss")
        expect_close(f"{shown}: the compiled loss on one batch ({loss_name})", loss,
                     getattr(losses, _LOSS_TWINS[loss_name])(y, p), 2e-3, HINTS["compile_unet"])
        results = out["metrics"] if isinstance(out["metrics"], dict) else {}
        scores = scores_from_counts(confusion_counts(y, p))
        missing = sorted(set(scores) - set(results))
        if missing:
            fail(f"{shown}: the compiled metrics", sorted(scores), sorted(set(results) - {"loss"}),
                 hint="metrics=dataset_metrics() gives dice, iou, precision, recall, accuracy")
        for name, want in scores.items():
            expect_close(f"{shown}: metric {name!r} on one batch", float(results[name]), want,
                         1e-4, "use dataset_metrics(): the scores of the summed pixel counts")


def _smoke_data():
    import unet_course
    from unet_course.data import load_data
    return load_data("synthetic", unet_course.profile("smoke"))


#: The model the last visible check of ``train_model`` trained, and the function that trained it.
_TRAINED = {}


def _fresh_model(prof):
    """The smoke profile's U-Net, seeded and compiled the package's way (what lesson 7 trains)."""
    from unet_course.train import compiled_unet
    return compiled_unet(prof)


def _validation_loss(model, tiles):
    """BCE + Dice of the model on all validation tiles at once (eager: nothing to trace)."""
    from unet_course.data import scale_image
    from unet_course.losses import bce_dice_np
    probs = np.asarray(model(scale_image(tiles.images), training=False))
    return bce_dice_np(tiles.masks[..., None].astype(np.float32), probs)


@quiet
def check_train_model(train_model, hidden=False):
    """Grade ``train_model(model, train, validation, epochs, batch_size=8)`` (lesson 7).

    Visible: a seeded smoke-profile U-Net compiled the package's way is
    trained by the student's function for the profile's epochs on fixed
    synthetic tiles; the history, the number of optimizer steps and the fall
    of the validation loss are graded. Hidden: one more epoch in batches of
    16 (arguments by position), on the model the visible check trained when
    there is one (no second compilation), graded on the history and the steps.
    """
    __tracebackhide__ = True
    import unet_course

    TRAIN.start(train_model)
    prof = unet_course.profile("smoke")
    data = _smoke_data()
    epochs, batch_size = (1, 16) if hidden else (prof.epochs, prof.batch_size)
    reused = hidden and _TRAINED.get("fn") == train_model
    model = _TRAINED["model"] if reused else _fresh_model(prof)
    spec = _TRAINED["handle"] if reused else model_spec(model, compiled=True, seed=prof.seed)
    _TRAINED.clear()
    before = None if hidden else _validation_loss(model, data.validation)
    tiles = f"{len(data.train)} training tiles of {prof.image_size} px"
    if hidden:
        shown = f"train_model(model, train, validation, {epochs}, {batch_size}) with {tiles}"
        out = TRAIN.call(train_model, spec, [epochs, batch_size], {}, procedure="train",
                         shown=shown, hint=HINTS["train_model"])
    else:
        shown = f"train_model(model, train, validation, epochs={epochs}) with {tiles}"
        out = TRAIN.call(train_model, spec, [], {"epochs": epochs}, procedure="train",
                         shown=shown, hint=HINTS["train_model"])
    history = out["history"]
    if not isinstance(history, dict) or not {"loss", "val_loss"} <= set(history):
        fail(f"{shown} should return the history dict with 'loss' and 'val_loss'",
             "{'loss': [...], 'val_loss': [...], ...}", history,
             hint="return model.fit(...).history, and pass validation_data to fit")
    if not isinstance(history["loss"], (list, tuple)) or len(history["loss"]) != epochs:
        fail(f"{shown}: epochs in the history", epochs,
             len(history["loss"]) if isinstance(history["loss"], (list, tuple)) else history["loss"],
             hint="pass epochs=epochs to model.fit")
    steps = epochs * math.ceil(len(data.train) / batch_size)
    if out["steps"] != steps:
        fail(f"{shown}: optimizer steps (epochs x batches of {batch_size} training tiles)",
             steps, out["steps"], hint="train on `train` in batches of `batch_size` for `epochs` epochs, "
                                       "on the compiled model you were given")
    try:
        model.set_weights(list(out["weights"]))
    except (TypeError, ValueError):
        fail(f"{shown}: the trained model's weights do not fit the model it was given",
             hint="train the model you were given; do not build another")
    if hidden:
        return
    after = _validation_loss(model, data.validation)
    if not after < before - MIN_IMPROVEMENT:
        fail(f"{shown}: the validation loss (BCE + Dice) should fall by more than "
             f"{MIN_IMPROVEMENT:g}", f"below {before - MIN_IMPROVEMENT:.4f} (it was {before:.4f} "
             f"before training)", f"{after:.4f}",
             hint="scale the images to [0, 1] (make_dataset does), train on the training "
                  "tiles with their masks, and keep the optimizer compile_unet set")
    _TRAINED.update(fn=train_model, model=model, handle=out["handle"])


@quiet
def check_error_map(error_map, hidden=False):
    """Grade ``error_map(image, y_true, y_pred, alpha=0.7)`` against ``viz.error_map`` (lesson 8)."""
    __tracebackhide__ = True
    from unet_course.viz import error_map as reference

    ERROR_MAP.start(error_map)
    rng = np.random.default_rng(31)
    if hidden:
        image = rng.random((16, 12, 3))
        y = (rng.random((16, 12)) < 0.3).astype(np.uint8)
        pred = rng.random((16, 12)) < 0.4
        cases = [("a float image in [0, 1] of 16x12, a bool prediction", (image, y, pred), {}),
                 ("a uint8 image of 16x12 and alpha=0.4", ((image * 255).astype(np.uint8), y, pred),
                  {"alpha": 0.4}),
                 ("alpha=1.0 (colours only)", ((image * 255).astype(np.uint8), y, pred), {"alpha": 1.0})]
    else:
        image = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        y = np.array([[1, 1, 0, 0]] * 2 + [[0, 0, 0, 0]] * 2, np.uint8)
        pred = np.array([[1, 0, 1, 0]] * 2 + [[0, 0, 0, 1]] * 2, np.uint8)
        cases = [(f"a uint8 image of 4x4, y_true = {show(y)}, y_pred = {show(pred)}",
                  (image, y, pred), {})]
    for description, args, kwargs in cases:
        extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
        shown = f"error_map(image, y_true, y_pred{extra}) with {description}"
        got = ERROR_MAP.call(error_map, *args, shown=shown, **kwargs)
        expected = reference(*args, **kwargs)
        if not isinstance(got, np.ndarray) or got.shape != expected.shape or got.dtype != np.uint8:
            fail(f"{shown} should return a uint8 RGB array",
                 f"uint8 array of shape {expected.shape}",
                 got if not isinstance(got, np.ndarray) else f"{got.dtype} array of shape {got.shape}",
                 hint=HINTS["error_map"])
        off = np.abs(got.astype(int) - expected.astype(int)).max(axis=-1) > 1
        if off.any():
            r, c = np.argwhere(off)[0]
            fail(f"{shown}: {int(off.sum())} of {off.size} pixels differ by more than 1; "
                 f"the first at row {r}, column {c}", expected[r, c], got[r, c],
                 hint=HINTS["error_map"])
