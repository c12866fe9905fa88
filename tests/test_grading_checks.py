"""Every check of every assignment, on the solution notebooks' own functions.

For each graded item:

- the solution passes the visible and the hidden check: the solution cells,
  the one place where the reference algorithms are written a second time,
  agree with the package;
- the package's reference itself, and a function that only calls it, earn
  nothing, with a message that says why;
- the unwritten stub says it is not written yet;
- a crafted wrong answer fails, with the expected message (some only in the
  hidden check, which is what the hidden checks are for).
"""
from __future__ import annotations

import importlib

import pytest
from _grading_notebooks import define, solution_namespace

from unet_course import grading
from unet_course.grading import MODULES, common
from unet_course.grading.common import Item

ITEMS = [(assignment, name) for assignment, items in grading.ITEMS.items() for name in items]
IDS = [name for _, name in ITEMS]

#: One wrong answer per item: (old text in its solution, new text, hidden check?, expected message part).
WRONG = {
    "binarize_label": ("(label >= 1.0)", "(label > 0.99)", True, "rule='truncate'"),
    "building_fraction": ("masks.size", "len(masks)", False, "expected: 0.15625"),
    "all_background_accuracy": ("1.0 - building_fraction(masks)", "building_fraction(masks)",
                                False, "expected: 0.84375"),
    "positive_class_weight": ("(masks.size - buildings) / buildings", "masks.size / buildings",
                              False, "expected: 5.4"),
    "bce_loss": ("epsilon = 1e-7", "epsilon = 0.0", False, "a perfect prediction"),
    "dice_loss": ("(2.0 * overlap + smooth) / (total + smooth)",
                  "(2.0 * overlap + 1.0) / (total + 1.0)", True, "dice_loss(y_true, y_pred, 0.5)"),
    "bce_dice_loss": ("bce_loss(y_true, y_pred) + dice_loss", "bce_loss(y_true, y_pred) * dice_loss",
                      False, "bce_dice_loss(y_true, y_pred) on a batch"),
    "dice_metric": ('predicted = ops.cast(y_pred, "float32") > 0.5',
                    'predicted = ops.cast(y_pred, "float32") >= 0.5', False, "exactly 0.5"),
    "iou_score": ("np.asarray(y_prob) > threshold", "np.asarray(y_prob) > 0.5", True,
                  "threshold=0.3"),
    "precision_score": ("found = np.count_nonzero(predicted)", "found = np.count_nonzero(actual)",
                        False, "precision_score(y_true, y_prob) with"),
    "recall_score": ("return 1.0 if buildings == 0 else tp / buildings",
                     "return tp / buildings if buildings else 0.0", False, "an empty mask"),
    "error_map_masks": ("predicted = np.asarray(y_pred_binary).astype(bool)",
                        "predicted = np.asarray(y_pred_binary)", False, "key 'tp' returned the wrong dtype"),
    "encoder_block": ('layers.MaxPooling2D(pool_size=(2, 2), padding="same")',
                      "layers.MaxPooling2D(pool_size=(2, 2))", False, "padding same -> valid"),
    "bottleneck": ('activation="relu",\n                      kernel_initializer=kernel_initializer)(x)',
                   'activation="relu")(x)', False, "initializer LecunNormal -> GlorotUniform"),
    "decoder_block": ('activation="relu",\n                               strides=2', "strides=2",
                      False, "activation relu -> linear"),
    "build_unet": ('activation="sigmoid"', 'activation="relu"', False, "activation sigmoid -> relu"),
    "compile_unet": ("decay_rate=0.9)", "decay_rate=0.96)", False, "the learning-rate schedule"),
    "train_model": ("    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, verbose=0)\n"
                    "    return history.history",
                    "    return {'loss': [0.0] * epochs, 'val_loss': [0.0] * epochs}", False,
                    "optimizer steps"),
    "error_map": ("(1 - alpha) * grey[where] + alpha *", "0.3 * grey[where] + 0.7 *", True,
                  "alpha=0.4"),
    "mask_to_polygons": ("p.area >= min_area", "p.area > min_area", False,
                         "min_area=2) with three regions of 6, 2 and 1 pixels"),
    "match_buildings": ("if i not in used_predicted and j not in used_truth:", "if True:", False,
                        "the matched (predicted, true) pairs"),
    "spatial_block_split": ("cells = np.floor(origins / block_size).astype(np.int64)",
                            "cells = np.floor(origins / 300.0).astype(np.int64)", False,
                            "have tiles in more than one split"),
    "DatasetDice": ("        self.tp.assign_add(", "        self.tp.assign(", False,
                    "DatasetDice() after 3 batches"),
    "augment_pair": ("    mask = tf.cond(flip, lambda: tf.image.flip_left_right(mask), lambda: mask)\n",
                     "", False, "the image and the mask were moved differently"),
    "choose_threshold": ("    for threshold in sorted(thresholds):", "    for threshold in thresholds:",
                         True, "thresholds=(0.4, 0.1, 0.3, 0.2)"),
}


def item_of(name):
    """The :class:`Item` that describes the graded function ``name``."""
    assignment = next(a for a, items in grading.ITEMS.items() if name in items)
    module = importlib.import_module(MODULES[assignment])
    return next(v for v in vars(module).values() if isinstance(v, Item) and v.name == name)


def check(name, fn, hidden=False):
    getattr(grading, f"check_{name}")(fn, hidden=hidden)


def failure(name, fn, hidden=False):
    with pytest.raises(AssertionError) as error:
        check(name, fn, hidden)
    return str(error.value)


@pytest.fixture(scope="module")
def solutions():
    return {assignment: solution_namespace(assignment) for assignment in grading.ITEMS}


def test_every_item_has_a_crafted_wrong_answer():
    assert set(WRONG) == set(IDS)


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("assignment, name", ITEMS, ids=IDS)
def test_the_solution_passes_and_agrees_with_the_package(solutions, assignment, name, hidden):
    check(name, solutions[assignment][name], hidden)


@pytest.mark.parametrize("assignment, name", ITEMS, ids=IDS)
def test_the_reference_itself_earns_nothing(assignment, name):
    reference = common._resolve(item_of(name).references[0])
    message = failure(name, reference)
    assert "the package's own answer: that earns nothing for this item" in message


@pytest.mark.parametrize("assignment, name", ITEMS, ids=IDS)
def test_a_function_that_only_calls_the_reference_earns_nothing(assignment, name):
    path = item_of(name).references[0]
    module = path
    while True:
        module = module.rpartition(".")[0]
        try:
            importlib.import_module(module)
            break
        except ModuleNotFoundError:
            continue
    source = (f"import {module} as package\n"
              f"def {name}(*args, **kwargs):\n"
              f"    return package.{path[len(module) + 1:]}(*args, **kwargs)\n")
    message = failure(name, define(source)[name])
    assert f"{name} is or calls {path}, the package's own answer" in message


@pytest.mark.parametrize("assignment, name", ITEMS, ids=IDS)
def test_the_unwritten_stub_says_so(assignment, name):
    stub = define(f"def {name}(*args, **kwargs):\n    raise NotImplementedError()")[name]
    message = failure(name, stub)
    assert f"{name} raised NotImplementedError: it is not written yet" in message
    assert "Hint: replace `raise NotImplementedError()`" in message


@pytest.mark.parametrize("assignment, name", ITEMS, ids=IDS)
def test_a_wrong_answer_fails_with_a_message_to_act_on(assignment, name):
    old, new, hidden, expected = WRONG[name]
    wrong = solution_namespace(assignment, replace=(name, old, new))[name]
    if hidden:
        check(name, wrong)  # the visible check cannot tell
    message = failure(name, wrong, hidden)
    assert expected in message
    assert "Hint:" in message


def test_the_hidden_training_check_catches_a_hard_coded_batch_size():
    """On a fresh model (no visible check before it), in batches of 16, the steps give it away."""
    from unet_course.grading import train_evaluate
    train_evaluate._TRAINED.clear()
    wrong = solution_namespace("a4_train_evaluate", replace=(
        "train_model", "make_dataset(train, batch_size=batch_size, shuffle=True)",
        "make_dataset(train, shuffle=True)"))["train_model"]
    message = failure("train_model", wrong, hidden=True)
    assert "optimizer steps (epochs x batches of 16 training tiles)" in message
    assert "expected: 5\n  got:      9" in message
