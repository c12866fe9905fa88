"""Checks of assignment 4's augmentation and threshold items (lessons 8 and 9).

- ``augment_pair(image, mask, seed)`` (lesson 9 "Data augmentation"): graded
  by augmenting a *mask-shaped image*, an image whose bright pixels are
  exactly the mask's buildings. Whatever brightness and contrast do to the
  image, its bright pixels must land where the augmented mask's buildings
  are: a flip or turn applied to one and not the other (the classic bug)
  shows at once. The mask must be a flip or rotation of the input (0/1, as
  many buildings), several seeds must give several transforms, the same seed
  the same one, and the function must run inside ``tf.data``'s ``map``, as
  :func:`unet_course.data.make_dataset` runs it.
- ``choose_threshold(y_true, y_prob, thresholds)`` (lesson 8): the threshold
  with the best Dice of all validation pixels, the lowest on ties, compared
  with a numpy search over the same thresholds.
"""
from __future__ import annotations

import numpy as np

from unet_course.grading.codec import TensorData
from unet_course.grading.common import Item, quiet
from unet_course.grading.messages import as_float, expect_close, fail, show

__all__ = ["check_augment_pair", "check_choose_threshold"]

_L8 = 'lesson 8 "Evaluation and error maps"'
_L9 = 'lesson 9 "Data augmentation"'

AUGMENT = Item("augment_pair", ("unet_course.data.pipeline.augment_pair",), _L9)
THRESHOLD = Item("choose_threshold", ("unet_course.metrics.choose_threshold",), _L8)

HINT_SAME = ("the geometric part (flips, quarter turns) must be drawn once and applied to the "
             "image and to the mask alike; only brightness and contrast are for the image alone")
HINT_SEED = ("draw every random choice from the seed argument with tf.random.stateless_* "
             "operations, so that a tile's augmentation is a function of its seed")
HINT_GRAPH = ("tf.data runs the function on symbolic tensors: choose between branches with "
              "tf.cond or tf.where, not a Python `if` on a tensor, and use tf operations only")
HINT_THRESHOLD = ("for each candidate threshold, count tp, fp and fn over every validation pixel "
                  "together (building where y_prob > threshold) and compute one Dice; keep the "
                  "candidate with the highest Dice, the lowest candidate on a tie")


def _shape_mask(height, width):
    """An asymmetric 0/1 mask: every flip and turn of it is different."""
    mask = np.zeros((height, width), np.float32)
    mask[1:4, 1:3] = 1.0
    mask[1, 3:7] = 1.0
    mask[height - 3:height - 1, width - 2] = 1.0
    return mask


def _transforms(mask):
    """The flips and turns that keep the mask's shape: ``{name: transformed mask}``."""
    out = {}
    for turns in range(4):
        turned = np.rot90(mask, turns)
        for flip in (False, True):
            candidate = turned[:, ::-1] if flip else turned
            if candidate.shape == mask.shape:
                out[f"{'flip + ' if flip else ''}{90 * turns} degree turn"] = candidate
    return out


def _as_numpy(value, shown, what):
    __tracebackhide__ = True
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float32)
    except (TypeError, ValueError):
        fail(f"{shown} should return (image, mask) tensors", "two tensors", value,
             hint="return the augmented image and mask, in that order")


def _augment(fn, image, mask, seed, shown):
    """The student's ``(image, mask)`` for one seed, as numpy arrays."""
    __tracebackhide__ = True
    result = AUGMENT.call(fn, TensorData(image), TensorData(mask[..., None]),
                          TensorData(np.asarray(seed, np.int64)), shown=shown)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"{shown} should return (image, mask)", "a pair of tensors", result,
             hint="return the augmented image and mask, in that order")
    return _as_numpy(result[0], shown, "image"), _as_numpy(result[1], shown, "mask")


def _check_one(shown, image, mask, out_image, out_mask, transforms):
    """Shape, range, 0/1 mask, a flip or turn of the input, and the image moved with it."""
    __tracebackhide__ = True
    if out_image.shape != image.shape or out_mask.shape != mask.shape + (1,):
        fail(f"{shown}: shapes", f"image {image.shape}, mask {mask.shape + (1,)}",
             f"image {out_image.shape}, mask {out_mask.shape}",
             hint="flips and quarter turns keep a square tile's shape; on a tile that is not "
                  "square only the flips do")
    if out_image.min() < 0.0 or out_image.max() > 1.0:
        fail(f"{shown}: the image's range", "values in [0, 1]",
             f"[{out_image.min():.3g}, {out_image.max():.3g}]",
             hint="clip the image to [0, 1] after brightness and contrast")
    moved = out_mask[..., 0]
    if not np.all((moved == 0) | (moved == 1)):
        fail(f"{shown}: the mask's values", "only 0 and 1", show(np.unique(moved)[:8]),
             hint="brightness, contrast and any interpolation are for the image only; the "
                  "mask is only flipped and turned")
    name = next((k for k, v in transforms.items() if np.array_equal(v, moved)), None)
    if name is None:
        fail(f"{shown}: the mask", "a flip or quarter turn of the input mask",
             f"another mask ({int(moved.sum())} building pixels of {moved.size}, "
             f"{int(mask.sum())} before)", hint=HINT_SAME)
    grey = out_image.mean(axis=-1)
    bright = grey > (grey.min() + grey.max()) / 2
    if not np.array_equal(bright, moved.astype(bool)):
        wrong = int(np.count_nonzero(bright != moved.astype(bool)))
        fail(f"{shown} on a mask-shaped image (its bright pixels are the buildings): the image "
             f"and the mask were moved differently", "the bright pixels where the mask's "
             "buildings are", f"{wrong} of {moved.size} pixels disagree", hint=HINT_SAME)
    return name


def _in_dataset(fn, image, mask, seed, shown):
    """Run ``fn`` inside ``tf.data.Dataset.map`` (a graph), as the pipeline does."""
    __tracebackhide__ = True
    got = AUGMENT.call(fn, image, mask[..., None], np.asarray(seed, np.int64), procedure="dataset_map",
                       shown=shown, hint=HINT_GRAPH)
    return got[0]


@quiet
def check_augment_pair(augment_pair, hidden=False):
    """Grade ``augment_pair(image, mask, seed)``: one flip/turn on both, colour on the image (lesson 9)."""
    __tracebackhide__ = True
    AUGMENT.start(augment_pair)
    size = (16, 24) if hidden else (16, 16)
    mask = _shape_mask(*size)
    image = np.repeat((0.25 + 0.5 * mask)[..., None], 3, axis=-1).astype(np.float32)
    transforms = _transforms(mask)
    kind = "a 16x24 tile (not square)" if hidden else "a 16x16 tile"
    seen = set()
    for s in range(12):
        seed = (s, 2026)
        shown = f"augment_pair(image, mask, seed={seed}) on {kind}"
        out_image, out_mask = _augment(augment_pair, image, mask, seed, shown)
        seen.add(_check_one(shown, image, mask, out_image, out_mask, transforms))
        if s < 3:
            again = _augment(augment_pair, image, mask, seed, shown)
            if not (np.array_equal(again[1], out_mask) and np.allclose(again[0], out_image)):
                fail(f"{shown}, called twice", "the same result (a function of the seed)",
                     "two different results", hint=HINT_SEED)
    least = 3 if hidden else 4
    if len(seen) < least:
        fail(f"augment_pair(image, mask, seed) with 12 seeds on {kind}",
             f"at least {least} different flips or turns", f"only {', '.join(sorted(seen))}",
             hint="flip left-right with probability 1/2 and turn by a random number of quarter "
                  "turns (on a tile that is not square, flip up-down instead of turning)")
    shown = f"augment_pair inside tf.data.Dataset.map (as make_dataset runs it) on {kind}"
    out_image, out_mask = _in_dataset(augment_pair, image, mask, (5, 2026), shown)
    _check_one(shown, image, mask, out_image, out_mask, transforms)


def _best(y, p, thresholds):
    """The lowest threshold with the highest pooled Dice (plain numpy)."""
    y = np.asarray(y).astype(bool).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    best, best_dice = None, -1.0
    for t in sorted(thresholds):
        predicted = p > t
        tp = np.sum(y & predicted)
        denominator = 2 * tp + np.sum(~y & predicted) + np.sum(y & ~predicted)
        dice = 1.0 if denominator == 0 else 2 * tp / denominator
        if dice > best_dice:
            best, best_dice = t, dice
    return best


@quiet
def check_choose_threshold(choose_threshold, hidden=False):
    """Grade ``choose_threshold(y_true, y_prob, thresholds=THRESHOLDS)`` (lesson 8)."""
    __tracebackhide__ = True
    from unet_course.metrics import THRESHOLDS

    THRESHOLD.start(choose_threshold)
    rng = np.random.default_rng(23)
    y = (rng.random((4, 8, 8)) < 0.3).astype(np.uint8)
    shy = np.clip(0.35 * y + rng.random(y.shape) * 0.3, 0, 1)       # under-confident: best below 0.5
    if hidden:
        y2 = (rng.random((3, 9, 7, 1)) < 0.2).astype(np.uint8)
        bold = np.clip(0.3 + 0.5 * y2 + rng.normal(0, 0.15, y2.shape), 0, 1)
        cases = [("random validation masks of shape (3, 9, 7, 1), over-confident probabilities, "
                  "thresholds (0.8, 0.4, 0.6, 0.5) (by position)", y2, bold, ((0.8, 0.4, 0.6, 0.5),), {}),
                 ("empty validation masks, probabilities 0.3 everywhere", np.zeros((2, 5, 5)),
                  np.full((2, 5, 5), 0.3), (), {"thresholds": (0.4, 0.1, 0.3, 0.2)})]
    else:
        tie = np.array([[1, 1, 0, 0]])
        cases = [("validation masks of shape (4, 8, 8) and under-confident probabilities", y, shy,
                  (), {}),
                 (f"y_true = {show(tie)}, y_prob = [[0.9, 0.35, 0.3, 0.1]], thresholds (0.2, 0.32, 0.5)",
                  tie, np.array([[0.9, 0.35, 0.3, 0.1]]), (), {"thresholds": (0.2, 0.32, 0.5)}),
                 ("a perfect prediction, thresholds (0.2, 0.5, 0.8) (a tie: the lowest wins)",
                  tie, tie.astype(float), (), {"thresholds": (0.2, 0.5, 0.8)})]
    for description, yt, pt, args, kwargs in cases:
        thresholds = args[0] if args else kwargs.get("thresholds", THRESHOLDS)
        call = ", ".join(["y_true", "y_prob"] + [repr(a) for a in args]
                         + [f"thresholds={v!r}" for v in kwargs.values()])
        shown = f"choose_threshold({call}) with {description}"
        got = as_float(THRESHOLD.call(choose_threshold, yt, pt, *args, shown=shown, **kwargs),
                       shown, HINT_THRESHOLD)
        expect_close(shown, got, _best(yt, pt, thresholds), 1e-9, HINT_THRESHOLD)
