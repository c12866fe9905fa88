"""Checks of assignment 1, "Data and imbalance" (lessons 1 and 2).

Four functions on numpy masks:

- ``binarize_label(label, rule="threshold")``: a fractional building
  coverage becomes a 0/1 ``uint8`` mask by a named rule (lesson 1);
- ``building_fraction(masks)``: the share of building pixels (lesson 2);
- ``all_background_accuracy(masks)``: the accuracy of a model that never
  predicts a building (lesson 2);
- ``positive_class_weight(masks)``: background pixels per building pixel,
  the weight that balances BCE (lesson 2).

The visible checks use small masks a student can work out by hand; the hidden
ones use random masks of other shapes and building shares, and values on the
edge of each rule.
"""
from __future__ import annotations

import numpy as np

from unet_course.grading.common import Item, quiet
from unet_course.grading.messages import as_float, expect_array, expect_close, show

__all__ = ["check_binarize_label", "check_building_fraction",
           "check_all_background_accuracy", "check_positive_class_weight",
           "reference_building_fraction"]

_L1 = 'lesson 1 "Aerial tiles and masks"'
_L2 = 'lesson 2 "Class imbalance"'

BINARIZE = Item("binarize_label", ("unet_course.data.tiles.binarize_label",), _L1)
FRACTION = Item("building_fraction", ("unet_course.data.tiles.TileSet.building_fraction",), _L2)
BACKGROUND = Item(
    "all_background_accuracy", ("unet_course.evaluate.all_background_accuracy",), _L2,
    stand_ins={"building_fraction": "unet_course.grading.data_imbalance.reference_building_fraction"},
)
WEIGHT = Item(
    "positive_class_weight", ("unet_course.losses.positive_class_weight",), _L2,
    stand_ins={"building_fraction": "unet_course.grading.data_imbalance.reference_building_fraction"},
)

HINT_RULES = ("threshold: a pixel is building when label >= 0.5; truncate: only when "
              "label == 1.0 (what label.astype(np.uint8) does); return a uint8 array")
HINT_FRACTION = "the share of building pixels is the mean of the 0/1 masks, over every pixel"
HINT_BACKGROUND = ("predicting no building is right on every background pixel, so the "
                   "accuracy is the share of background pixels: 1 - building fraction")
HINT_WEIGHT = ("count background pixels (0) and building pixels (1) over all masks, "
               "return background / building, and raise ValueError when there is no building")


def reference_building_fraction(masks):
    """Share of building pixels: the stand-in for a notebook's ``building_fraction``."""
    return float(np.mean(masks))


def _random_masks(seed, shape, share):
    rng = np.random.default_rng(seed)
    return (rng.random(shape) < share).astype(np.uint8)


@quiet
def check_binarize_label(binarize_label, hidden=False):
    """Grade ``binarize_label(label, rule="threshold")`` (lesson 1).

    ``threshold``: ``label >= 0.5``; ``truncate``: ``label == 1.0``; a
    ``uint8`` mask of the label's shape; ``ValueError`` for another rule.
    """
    __tracebackhide__ = True
    BINARIZE.start(binarize_label)
    if hidden:
        rng = np.random.default_rng(7)
        label = rng.choice([0.0, 0.25, 0.4999, 0.5, 0.75, 0.9999, 1.0], size=(5, 7, 6))
        labels = [label, label.astype(np.float32), np.float32(1 - 1e-7) * np.ones((3, 4), np.float32)]
        bad_rule = "round"
    else:
        labels = [np.array([[0.0, 0.2, 0.49, 0.5], [0.51, 0.99, 1.0, 0.0]], dtype=np.float32)]
        bad_rule = "majority"
    for label in labels:
        shown_label = show(label) if label.size <= 16 else f"a {label.dtype} label of shape {label.shape}"
        for rule in ("threshold", "truncate"):
            shown = f"binarize_label(label, rule={rule!r}) with label = {shown_label}"
            got = BINARIZE.call(binarize_label, label, rule=rule, shown=shown)
            expected = ((label >= 0.5) if rule == "threshold" else (label >= 1.0)).astype(np.uint8)
            expect_array(shown, got, expected, HINT_RULES, dtype=np.uint8)
    shown = f"binarize_label(label) with label = {show(labels[0]) if not hidden else 'random'}"
    got = BINARIZE.call(binarize_label, labels[0], shown=shown)
    expect_array(shown + " (the default rule is 'threshold')", got,
                 (labels[0] >= 0.5).astype(np.uint8), HINT_RULES, dtype=np.uint8)
    BINARIZE.raises(binarize_label, labels[0], rule=bad_rule, error=ValueError,
                    shown=f"binarize_label(label, rule={bad_rule!r})",
                    hint="a rule other than the two named ones is a mistake of the caller: "
                         "raise ValueError, and say which rule was given and which exist")


def _check_number(item, fn, cases, expected_fn, tol, hint):
    """Call ``fn(masks)`` for each ``(description, masks)`` and compare with ``expected_fn``."""
    __tracebackhide__ = True
    for description, masks in cases:
        shown = f"{item.name}(masks) with {description}"
        value = as_float(item.call(fn, masks, shown=shown), shown, hint)
        expect_close(shown, value, expected_fn(masks), tol, hint)


def _one_pixel(shape, where):
    mask = np.zeros(shape, dtype=np.uint8)
    mask[where] = 1
    return mask


def _mask_cases(hidden):
    """Masks to try: small ones a student can count, or random ones of other shapes."""
    if hidden:
        return [
            ("random masks of shape (7, 13, 11), 13 % building", _random_masks(3, (7, 13, 11), 0.13)),
            ("random masks of shape (2, 64, 48), 40 % building", _random_masks(4, (2, 64, 48), 0.4)),
            ("one mask of shape (9, 5), 1 building pixel", _one_pixel((9, 5), (4, 2))),
        ]
    two = np.zeros((2, 4, 4), dtype=np.uint8)
    two[0, :2, :2] = 1
    two[1, 3, 3] = 1
    return [
        (f"masks = {show(two[0])} and {show(two[1])} (5 building pixels of 32)", two),
        ("masks of shape (3, 8, 8), all building", np.ones((3, 8, 8), dtype=np.uint8)),
        ("masks of shape (1, 4, 4), half building", np.tile([0, 1], 8).reshape(1, 4, 4).astype(np.uint8)),
    ]


@quiet
def check_building_fraction(building_fraction, hidden=False):
    """Grade ``building_fraction(masks)``: the mean of the 0/1 masks (lesson 2)."""
    __tracebackhide__ = True
    FRACTION.start(building_fraction)
    cases = _mask_cases(hidden)
    if not hidden:
        cases.append(("masks of shape (2, 4, 4), no building", np.zeros((2, 4, 4), np.uint8)))
    _check_number(FRACTION, building_fraction, cases, lambda m: float(np.mean(m)), 1e-6,
                  HINT_FRACTION)


@quiet
def check_all_background_accuracy(all_background_accuracy, hidden=False):
    """Grade ``all_background_accuracy(masks)``: the share of background pixels (lesson 2)."""
    __tracebackhide__ = True
    BACKGROUND.start(all_background_accuracy)
    cases = _mask_cases(hidden)
    if not hidden:
        cases.append(("masks of shape (2, 4, 4), no building", np.zeros((2, 4, 4), np.uint8)))
    _check_number(BACKGROUND, all_background_accuracy, cases,
                  lambda m: 1.0 - float(np.mean(m)), 1e-6, HINT_BACKGROUND)


@quiet
def check_positive_class_weight(positive_class_weight, hidden=False):
    """Grade ``positive_class_weight(masks)``: background / building pixels (lesson 2).

    ``ValueError`` when the masks hold no building pixel.
    """
    __tracebackhide__ = True
    WEIGHT.start(positive_class_weight)

    def expected(masks):
        building = np.count_nonzero(masks)
        return (masks.size - building) / building

    _check_number(WEIGHT, positive_class_weight, _mask_cases(hidden), expected, 1e-6,
                  HINT_WEIGHT)
    empty = np.zeros((3, 5, 5) if hidden else (2, 4, 4), dtype=np.uint8)
    WEIGHT.raises(positive_class_weight, empty, error=ValueError,
                  shown=f"positive_class_weight(masks) with masks of shape {empty.shape}, "
                        "no building (the weight is undefined)", hint=HINT_WEIGHT)
