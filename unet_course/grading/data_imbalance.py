"""Checks of assignment 1, "Data and imbalance" (lessons 1 and 2).

Four functions on numpy masks:

- ``binarize_label(label, rule="threshold")``: a fractional building
  coverage becomes a 0/1 ``uint8`` mask by a named rule (lesson 1);
- ``building_fraction(masks)``: the share of building pixels (lesson 2);
- ``all_background_accuracy(masks)``: the accuracy of a model that never
  predicts a building (lesson 2);
- ``positive_class_weight(masks)``: background pixels per building pixel,
  the weight that balances BCE (lesson 2);
- ``spatial_block_split(origins, fractions, block_size, seed)``: train,
  validation and test indices such that no block of neighbouring tiles is
  in two splits (lesson 1).

The visible checks use small masks a student can work out by hand; the hidden
ones use random masks of other shapes and building shares, and values on the
edge of each rule.
"""
from __future__ import annotations

import numpy as np

from unet_course.grading.common import Item, quiet
from unet_course.grading.messages import as_float, expect_array, expect_close, fail, show

__all__ = ["check_binarize_label", "check_building_fraction",
           "check_all_background_accuracy", "check_positive_class_weight",
           "check_spatial_block_split",
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


def _fraction_table(masks_list):
    """``building_fraction``'s stand-in as data: the grader's answer for each of these masks."""
    def table():
        entries = [((masks,), reference_building_fraction(masks)) for masks in masks_list]
        return {"building_fraction": {"kind": "table", "entries": entries}}
    return table


def _check_number(item, fn, cases, expected_fn, tol, hint, also=()):
    """Call ``fn(masks)`` for each ``(description, masks)`` and compare with ``expected_fn``.

    ``also``: more masks the check sends afterwards (the stand-in knows them too).
    """
    __tracebackhide__ = True
    stand_ins = _fraction_table([masks for _, masks in cases] + list(also))
    for description, masks in cases:
        shown = f"{item.name}(masks) with {description}"
        value = as_float(item.call(fn, masks, shown=shown, stand_ins=stand_ins), shown, hint)
        expect_close(shown, value, expected_fn(masks), tol, hint)
    return stand_ins


def _one_pixel(shape, where):
    mask = np.zeros(shape, dtype=np.uint8)
    mask[where] = 1
    return mask


def _mask_cases(hidden, empty=False):
    """Masks to try: small ones a student can count (and, with ``empty``, masks without a
    building), or random ones of other shapes."""
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
    ] + ([("masks of shape (2, 4, 4), no building", np.zeros((2, 4, 4), np.uint8))] if empty else [])


@quiet
def check_building_fraction(building_fraction, hidden=False):
    """Grade ``building_fraction(masks)``: the mean of the 0/1 masks (lesson 2)."""
    __tracebackhide__ = True
    FRACTION.start(building_fraction)
    _check_number(FRACTION, building_fraction, _mask_cases(hidden, empty=True),
                  lambda m: float(np.mean(m)), 1e-6, HINT_FRACTION)


@quiet
def check_all_background_accuracy(all_background_accuracy, hidden=False):
    """Grade ``all_background_accuracy(masks)``: the share of background pixels (lesson 2)."""
    __tracebackhide__ = True
    BACKGROUND.start(all_background_accuracy)
    _check_number(BACKGROUND, all_background_accuracy, _mask_cases(hidden, empty=True),
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

    empty = np.zeros((3, 5, 5) if hidden else (2, 4, 4), dtype=np.uint8)
    stand_ins = _check_number(WEIGHT, positive_class_weight, _mask_cases(hidden), expected, 1e-6,
                              HINT_WEIGHT, also=[empty])
    WEIGHT.raises(positive_class_weight, empty, error=ValueError, stand_ins=stand_ins,
                  shown=f"positive_class_weight(masks) with masks of shape {empty.shape}, "
                        "no building (the weight is undefined)", hint=HINT_WEIGHT)


SPLIT = Item("spatial_block_split", ("unet_course.data.splits.spatial_block_split",
                                     "unet_course.data.splits.block_ids"), _L1)
HINT_SPLIT = ("give every tile the square block of side block_size that holds its origin (the "
              "floor of x / block_size and of y / block_size), shuffle the blocks with "
              "np.random.default_rng(seed), and deal whole blocks out to train, validation and "
              "test until each has about its fraction of the tiles")


def _grid(columns, rows, step, start=(0.0, 0.0), shuffle_seed=None):
    """Origins of a grid of tiles, ``step`` apart, optionally in a shuffled order."""
    xs, ys = np.meshgrid(start[0] + step * np.arange(columns), start[1] + step * np.arange(rows))
    origins = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    if shuffle_seed is not None:
        origins = origins[np.random.default_rng(shuffle_seed).permutation(len(origins))]
    return origins


def _split_parts(shown, got, n):
    """Check ``got`` is three disjoint int index arrays covering ``range(n)``; return them."""
    __tracebackhide__ = True
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        fail(f"{shown} should return three index arrays (train, validation, test)",
             "(train_idx, val_idx, test_idx)", got, hint=HINT_SPLIT)
    parts = [np.asarray(part) for part in got]
    for name, part in zip(("train", "validation", "test"), parts):
        if part.ndim != 1 or (part.size and not np.issubdtype(part.dtype, np.integer)):
            fail(f"{shown}: the {name} indices", "a 1-d array of integer tile indices",
                 f"{part.dtype} array of shape {part.shape}", hint=HINT_SPLIT)
    together = np.sort(np.concatenate(parts))
    if not np.array_equal(together, np.arange(n)):
        fail(f"{shown}: every tile should be in exactly one split",
             f"the indices 0..{n - 1}, each once", f"{len(together)} indices, "
                                                    f"{len(np.unique(together))} distinct",
             hint="the three arrays are disjoint and together hold every tile index once")
    return parts


@quiet
def check_spatial_block_split(spatial_block_split, hidden=False):
    """Grade ``spatial_block_split(origins, fractions=(0.7, 0.15, 0.15), block_size=1200.0, seed=42)`` (lesson 1).

    Graded on what a spatial split must be, whatever order the blocks are
    dealt in: three disjoint index arrays covering every tile; every block of
    ``block_size`` in one split only; split sizes within one block of the
    fractions; no wanted split empty; the same seed, the same split; another
    seed, another split.
    """
    __tracebackhide__ = True
    SPLIT.start(spatial_block_split)
    if hidden:
        cases = [("origins of a shuffled 12 x 10 grid of 300 m tiles, block_size=600, "
                  "fractions (0.6, 0.2, 0.2)", _grid(12, 10, 300.0, (-1800.0, 900.0), 5),
                  (), {"fractions": (0.6, 0.2, 0.2), "block_size": 600.0, "seed": 3}),
                 ("origins of a 24 x 24 grid of 150 m tiles (by position: fractions, "
                  "block_size, seed)", _grid(24, 24, 150.0), ((0.5, 0.25, 0.25), 1200.0, 11), {})]
    else:
        cases = [("origins of a 16 x 16 grid of 300 m tiles", _grid(16, 16, 300.0), (), {}),
                 ("origins of a shuffled 12 x 12 grid of 300 m tiles, seed=7",
                  _grid(12, 12, 300.0, shuffle_seed=1), (), {"seed": 7})]
    for description, origins, args, kwargs in cases:
        fractions = kwargs.get("fractions", args[0] if args else (0.7, 0.15, 0.15))
        block_size = kwargs.get("block_size", args[1] if args else 1200.0)
        call = ", ".join(["origins"] + [repr(a) for a in args]
                         + [f"{k}={v!r}" for k, v in kwargs.items()])
        shown = f"spatial_block_split({call}) with {description}"
        parts = _split_parts(shown, SPLIT.call(spatial_block_split, origins.copy(), *args,
                                               shown=shown, **kwargs), len(origins))
        cells = [tuple(int(v) for v in c) for c in np.floor(origins / block_size)]
        where = {}
        for side, part in enumerate(parts):
            for index in part:
                where.setdefault(cells[index], set()).add(side)
        shared = [cell for cell, sides in where.items() if len(sides) > 1]
        if shared:
            fail(f"{shown}: {len(shared)} block(s) of {block_size:g} m have tiles in more than "
                 f"one split; the first is the block at {shared[0]} (in block units)",
                 "each block in one split", f"{len(shared)} blocks shared", hint=HINT_SPLIT)
        largest = max(cells.count(c) for c in set(cells))
        sizes = [len(part) for part in parts]
        wanted = [f * len(origins) for f in fractions]
        if any(abs(size - want) > largest for size, want in zip(sizes, wanted)) or 0 in sizes:
            fail(f"{shown}: split sizes (a block holds up to {largest} tiles)",
                 "about " + ", ".join(f"{w:g}" for w in wanted) + f" (within {largest})",
                 ", ".join(map(str, sizes)),
                 hint="deal blocks out in order, moving on to the next split once the current "
                      "one holds about its fraction of all the tiles")
        again = SPLIT.call(spatial_block_split, origins.copy(), *args, shown=shown, **kwargs)
        if not all(np.array_equal(np.sort(a), np.sort(b)) for a, b in zip(parts, again)):
            fail(f"{shown}, called twice", "the same split (the seed fixes the shuffle)",
                 "two different splits", hint="draw the shuffle from np.random.default_rng(seed), "
                                              "not from the global random state")
    origins = cases[0][1]
    splits = [SPLIT.call(spatial_block_split, origins.copy(), seed=s,
                         shown=f"spatial_block_split(origins, seed={s})") for s in (1, 2, 3, 4)]
    tests = {tuple(np.sort(np.asarray(s[2]))) for s in splits}
    if len(tests) == 1:
        fail("spatial_block_split(origins, seed=...) with seeds 1, 2, 3 and 4",
             "different test tiles for different seeds", "the same test tiles every time",
             hint="shuffle the blocks with the seed before dealing them out")
