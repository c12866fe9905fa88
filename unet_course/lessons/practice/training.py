"""Practice for lessons 7-9: the training recipe, evaluation, augmentation.

Plain numpy and arithmetic on made-up losses, counts and scores: no model is
trained or run.
"""
from __future__ import annotations

import math

import numpy as np

from unet_course.grading.messages import fail
from unet_course.lessons.practice.exercise import Exercise, call, expect_number, same_array

# --- lesson 7: training ---------------------------------------------------------


def _check_learning_rate(fn):
    for step in (0, 1000, 2500, 10_000):
        shown = f"learning_rate({step})"
        expect_number(shown, call(fn, step, shown=shown), 1e-3 * 0.9 ** (step / 1000), 1e-9,
                      hint="the decay is smooth, not in stairs: between two multiples of 1,000 "
                           "batches the rate falls by the matching fraction of a factor 0.9")


LEARNING_RATE = Exercise(
    7, "learning_rate",
    "write learning_rate(step): the seed's learning rate after `step` batches (Adam from 1e-3, "
    "times 0.9 every 1,000 batches, smoothly).",
    ("The rate decays exponentially with the number of batches seen, not with epochs, and without stairs.",
     "rate(step) = 10⁻³ · 0.9^(step / 1000)."),
    "def learning_rate(step):\n    return 1e-3 * 0.9 ** (step / 1000)\n",
    _check_learning_rate,
)


def _check_half_life(value):
    expect_number("half_life_steps, the batches after which the seed's learning rate is half its start",
                  value, 1000 * math.log(0.5) / math.log(0.9), 1e-3,
                  hint="0.9 ** 5 is not 0.5: solve the equation with logarithms")


HALF_LIFE = Exercise(
    7, "half_life_steps",
    "set half_life_steps to the number of batches after which the seed's learning rate has fallen to "
    "half its start.",
    ("Solve 0.9^(s / 1000) = 1/2 for s: a logarithm turns the power into a product.",
     "s = 1000 · ln(1/2) / ln(0.9)."),
    "half_life_steps = 1000 * np.log(0.5) / np.log(0.9)\n",
    _check_half_life,
)


def _early_stop(losses, patience):
    """The 1-based epoch after which Keras' EarlyStopping (min_delta 0) stops, or the last epoch."""
    best, wait = math.inf, 0
    for epoch, loss in enumerate(losses, start=1):
        best, wait = (loss, 0) if loss < best else (best, wait + 1)
        if wait >= patience:
            return epoch
    return len(losses)


def _check_stopped_at(fn):
    cases = [([1.0, 0.8, 0.9, 0.85, 0.95, 0.7], 3, "three epochs without a better loss"),
             ([1.0, 0.9, 0.8, 0.7], 3, "a loss that keeps falling"),
             ([0.5, 0.6, 0.4, 0.45, 0.5, 0.41], 2, "a new best in between"),
             ([0.5, 0.5, 0.5, 0.5, 0.5], 2, "equal losses")]
    for losses, patience, what in cases:
        shown = f"stopped_at({losses}, patience={patience}) ({what})"
        expect_number(shown, call(fn, list(losses), patience, shown=shown), _early_stop(losses, patience),
                      1e-9, hint="count the epochs since the best loss so far; an equal loss is no "
                                 "improvement, a new best starts the count again, and a run that never "
                                 "stops ends at its last epoch")


STOPPED_AT = Exercise(
    7, "stopped_at",
    "write stopped_at(val_losses, patience): the epoch (1 = the first) after which EarlyStopping stops "
    "the run, or the last epoch if it never stops.",
    ("EarlyStopping keeps the best validation loss so far and counts the epochs since it; only a strictly "
     "lower loss is an improvement.",
     "a counter set to 0 at every new best and raised by one at every other epoch; training stops at "
     "the first epoch where the counter equals patience."),
    "def stopped_at(val_losses, patience):\n"
    "    best, wait = float('inf'), 0\n"
    "    for epoch, loss in enumerate(val_losses, start=1):\n"
    "        if loss < best:\n"
    "            best, wait = loss, 0\n"
    "        else:\n"
    "            wait += 1\n"
    "        if wait >= patience:\n"
    "            return epoch\n"
    "    return len(val_losses)\n",
    _check_stopped_at,
)

# --- lesson 8: evaluation -------------------------------------------------------


def _check_f1(fn):
    for p, r in ((0.5, 0.5), (0.9, 0.6), (0.752, 0.789), (0.0, 0.0), (1.0, 0.0)):
        shown = f"f1_score({p}, {r})"
        expected = 0.0 if p + r == 0 else 2 * p * r / (p + r)
        expect_number(shown, call(fn, p, r, shown=shown), expected, 1e-6,
                      hint="the harmonic mean, not the arithmetic one; and define it as 0 when both "
                           "scores are 0")


F1_SCORE = Exercise(
    8, "f1_score",
    "write f1_score(precision, recall): their harmonic mean, 0 when both are 0.",
    ("The F1 score is the harmonic mean of precision and recall; on a whole data set the Dice score "
     "equals it.",
     "F1 = 2 · P · R / (P + R), and 0 when P + R = 0."),
    "def f1_score(precision, recall):\n"
    "    if precision + recall == 0:\n"
    "        return 0.0\n"
    "    return 2 * precision * recall / (precision + recall)\n",
    _check_f1,
)


def _check_dataset_dice(value):
    tp, fp, fn = 90 + 1, 10 + 0, 10 + 9
    expect_number("dataset_dice, the Dice of the two batches together", value, 2 * tp / (2 * tp + fp + fn),
                  1e-4, hint="the mean of the two batches' Dice weighs the 10-pixel batch like the "
                             "100-pixel one; add the counts first")


DATASET_DICE = Exercise(
    8, "dataset_dice",
    "set dataset_dice to the Dice of a data set of two batches: batch A with TP 90, FP 10, FN 10, "
    "batch B with TP 1, FP 0, FN 9.",
    ("A data-set score adds the counts of all batches first and computes the score once; it is not the "
     "average of the batches' scores.",
     "Dice = 2 TP / (2 TP + FP + FN) with TP, FP and FN summed over the batches."),
    "dataset_dice = 2 * (90 + 1) / (2 * (90 + 1) + (10 + 0) + (10 + 9))\n",
    _check_dataset_dice,
)


def _check_worst_k(fn):
    scores = np.array([0.8, 0.1, 0.5, 0.1, 0.9, 0.3])
    for k in (3, 1, 6):
        shown = f"worst_k(scores, {k}) with scores {scores.tolist()}"
        got = call(fn, scores, k, shown=shown)
        expected = np.argsort(scores, kind="stable")[:k]
        same_array(shown, got, expected, 0,
                   hint="return tile indices, lowest score first; two equal scores keep the tiles' order")


WORST_K = Exercise(
    8, "worst_k",
    "write worst_k(scores, k): the indices of the k tiles with the lowest scores, worst first "
    "(ties in the tiles' order).",
    ("Rank the tiles by their score, lowest first, and keep the first k positions: the tiles' indices, "
     "not their scores.",
     "indices = the permutation that sorts the scores increasingly (a stable sort), cut after k."),
    "def worst_k(scores, k):\n    return np.argsort(scores, kind='stable')[:k]\n",
    _check_worst_k,
)

# --- lesson 9: augmentation -----------------------------------------------------


def _check_undo_turns(fn):
    original = np.arange(12).reshape(3, 4)
    for turns in (1, 2, 3):
        shown = f"undo_turns(np.rot90(original, {turns}), {turns}) on a 3 x 4 array"
        got = call(fn, np.rot90(original, turns), turns, shown=shown)
        same_array(shown, got, original, 0,
                   hint="turning again the same way undoes only a half turn; turn back the other way")
    image = np.arange(2 * 2 * 3).reshape(2, 2, 3)
    shown = "undo_turns(np.rot90(image, 1), 1) on a 2 x 2 x 3 colour image"
    got = call(fn, np.rot90(image, 1), 1, shown=shown)
    same_array(shown, got, image, 0, hint="turn the height and width axes only, never the colour bands")


UNDO_TURNS = Exercise(
    9, "undo_turns",
    "write undo_turns(array, turns): the array before np.rot90(original, turns) turned it.",
    ("A quarter turn is undone by the same number of quarter turns in the other direction.",
     "np.rot90 turns counter-clockwise for a positive k and clockwise for a negative one; "
     "undo k turns with the opposite k."),
    "def undo_turns(array, turns):\n    return np.rot90(array, -turns)\n",
    _check_undo_turns,
)


def _check_brighten(fn):
    image = np.array([[0.0, 0.2], [0.5, 0.95]])
    for delta in (0.1, -0.3):
        shown = f"brighten(image, {delta}) on a 2 x 2 image with values in [0, 1]"
        got = same_array(shown, call(fn, image, delta, shown=shown), np.clip(image + delta, 0, 1), 1e-6,
                         hint="brightness adds the same amount to every value, and values leave "
                              "neither end of [0, 1]")
        if got.min() < 0 or got.max() > 1:
            fail(shown, "values in [0, 1]", got, hint="clip the result")


BRIGHTEN = Exercise(
    9, "brighten",
    "write brighten(image, delta): the image (values in [0, 1]) made brighter by delta, staying in [0, 1]; "
    "the mask would not change.",
    ("Brightness is a photometric change: it moves every pixel value by the same amount, and a value "
     "must stay a valid intensity.",
     "output = min(1, max(0, image + delta)), pixel by pixel."),
    "def brighten(image, delta):\n    return np.clip(image + delta, 0.0, 1.0)\n",
    _check_brighten,
)


def _check_square_views(value):
    expect_number("square_views, the different arrangements of a square tile made by flips and quarter "
                  "turns", value, 8, 1e-9,
                  hint="a flip followed by a turn is again a flip, so count the turns with and without "
                       "a flip")


SQUARE_VIEWS = Exercise(
    9, "square_views",
    "set square_views to how many different arrangements flips and quarter turns can make of one "
    "square tile (the original included).",
    ("Count the quarter turns; then ask what a flip adds to each of them, and whether two flips add more.",
     "arrangements = (number of quarter turns) · (flipped or not): the symmetries of a square."),
    "square_views = 4 * 2\n",
    _check_square_views,
)

EXERCISES = [LEARNING_RATE, HALF_LIFE, STOPPED_AT, F1_SCORE, DATASET_DICE, WORST_K,
             UNDO_TURNS, BRIGHTEN, SQUARE_VIEWS]

__all__ = ["EXERCISES"]
