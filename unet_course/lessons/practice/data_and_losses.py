"""Practice for lessons 1-3: tiles and splits, class imbalance, BCE versus Dice.

Each exercise's check computes the expected answer here with plain numpy and
compares the student's with it; ``tests/test_lessons_practice.py`` runs every
solution and some wrong answers through the checks.
"""
from __future__ import annotations

import numpy as np

from unet_course.grading.messages import fail
from unet_course.lessons.practice.exercise import Exercise, call, expect_cases, expect_number, same_array

# --- lesson 1: tiles and masks, splits ------------------------------------------


def _check_scale_tile(fn):
    image = np.array([[[0, 128, 255], [1, 2, 3]], [[254, 255, 0], [64, 32, 16]]], dtype=np.uint8)
    shown = "scale_tile(image) on a 2 x 2 uint8 tile with values 0..255"
    got = call(fn, image, shown=shown)
    expected = image.astype(np.float64) / 255.0
    same_array(shown, got, expected, 1e-6,
               hint="the largest uint8 value must become exactly 1.0 and 0 must stay 0.0")
    if np.asarray(got).dtype != np.float32:
        fail(f"{shown} returned the wrong dtype", "float32", np.asarray(got).dtype.name,
             hint="the network computes in 32-bit floats; float64 doubles the memory for nothing")


SCALE_TILE = Exercise(
    1, "scale_tile",
    "write scale_tile(image): a uint8 tile (H, W, 3) of 0..255 as float32 values in [0, 1].",
    ("The pipeline divides by the largest value a uint8 pixel can hold, and the network computes in "
     "32-bit floats.",
     "x_scaled = x / 255, stored as float32: 0 becomes 0.0 and 255 becomes 1.0."),
    "def scale_tile(image):\n    return image.astype(np.float32) / 255.0\n",
    _check_scale_tile,
)


def _check_tile_distance(fn):
    cases = [(((0, 0), (300, 0), 300), 1.0, "side by side"),
             (((0, 0), (300, 300), 300), 1.0, "corner to corner"),
             (((0, 0), (900, 300), 300), 3.0, "three tiles apart in x, one in y"),
             (((600, 600), (600, 600), 300), 0.0, "the same tile")]
    expect_cases(fn, "tile_distance", cases, 1e-9,
                 hint="tiles that touch at a corner are neighbours too: count the larger of the "
                      "two steps, not their diagonal or their sum")


TILE_DISTANCE = Exercise(
    1, "tile_distance",
    "write tile_distance(a, b, tile_side): how many tiles apart two tile origins (x, y) in metres are "
    "(1 = touching, corners included).",
    ("Neighbours across a corner also touch, so the distance is the larger of the two steps, in x or in y "
     "(the chessboard or Chebyshev distance), counted in tiles.",
     "steps = max(|x_a - x_b|, |y_a - y_b|) / tile_side."),
    "def tile_distance(a, b, tile_side):\n    return max(abs(a[0] - b[0]), abs(a[1] - b[1])) / tile_side\n",
    _check_tile_distance,
)

# --- lesson 2: class imbalance --------------------------------------------------


def _check_pixel_accuracy(fn):
    rng = np.random.default_rng(2)
    y_true = (rng.random((4, 4)) < 0.2).astype(np.uint8)
    y_pred = y_true.copy()
    y_pred[0, :3] = 1 - y_pred[0, :3]
    cases = [(y_true, y_pred, 13 / 16, "a 4 x 4 mask with 3 pixels wrong"),
             (y_true, np.zeros_like(y_true), 1 - y_true.mean(), "predicting no building anywhere"),
             (y_true, 1 - y_true, 0.0, "every pixel wrong")]
    for truth, pred, expected, what in cases:
        shown = f"pixel_accuracy(y_true, y_pred) on {what}"
        expect_number(shown, call(fn, truth, pred, shown=shown), expected, 1e-9,
                      hint="accuracy is a share of all pixels (between 0 and 1), and a background pixel "
                           "predicted background counts as right")


PIXEL_ACCURACY = Exercise(
    2, "pixel_accuracy",
    "write pixel_accuracy(y_true, y_pred): the share of pixels where two 0/1 masks agree.",
    ("Accuracy counts every pixel the prediction gets right, building and background alike, as a share "
     "of all the pixels.",
     "accuracy = (TP + TN) / N, that is the mean over the pixels of [y_true = y_pred]."),
    "def pixel_accuracy(y_true, y_pred):\n    return np.mean(y_true == y_pred)\n",
    _check_pixel_accuracy,
)

_F, _W = 0.1, 4.0


def _check_best_p(value):
    expected = _W * _F / (_W * _F + 1 - _F)
    expect_number(f"best_p, the constant minimising the weighted BCE for f = {_F} and w = {_W:g}",
                  value, expected, 0.002,
                  hint="0.5 is the answer only for the balancing weight (1 - f) / f = 9; "
                       "the building share itself is the answer for w = 1")


BEST_P = Exercise(
    2, "best_p",
    f"set best_p to the constant prediction p that minimises -(w f log p + (1 - f) log(1 - p)) "
    f"for f = {_F} and w = {_W:g}.",
    ("The building term pulls p up and the background term pulls it down: the best p is where the "
     "loss's derivative with respect to p is zero.",
     "d/dp gives -w f / p + (1 - f) / (1 - p) = 0, so p = w f / (w f + 1 - f)."),
    "best_p = 4 * 0.1 / (4 * 0.1 + 1 - 0.1)\n",
    _check_best_p,
)

# --- lesson 3: BCE versus Dice --------------------------------------------------


def _check_dice_missed(value):
    expect_number("dice_missed, the Dice loss (smooth 1) of predicting 0 everywhere on a 10 x 10 "
                  "scene with one 3 x 3 building", value, 1 - 1 / (9 + 0 + 1), 1e-4,
                  hint="the smoothing term stays in the numerator and the denominator; the loss is "
                       "close to 1 but not exactly 1")


DICE_MISSED = Exercise(
    3, "dice_missed",
    "set dice_missed to the Dice loss (smooth 1) of predicting p = 0 at every pixel of the 10 x 10 scene "
    "with its 3 x 3 building.",
    ("Without any predicted building the overlap is 0: only the smoothing term is left above the line.",
     "Dice loss = 1 - (2 sum(y p) + 1) / (sum(y) + sum(p) + 1), with sum(y) = 9 and sum(p) = 0."),
    "dice_missed = 1 - (2 * 0 + 1) / (9 + 0 + 1)\n",
    _check_dice_missed,
)


def _check_dice_everything(value):
    f = 0.05
    expect_number("dice_everything, the Dice loss of predicting p = 1 at every pixel, building share "
                  "0.05, many pixels", value, 1 - 2 * f / (1 + f), 0.002,
                  hint="every building pixel overlaps, but sum(p) counts every pixel of the image, "
                       "building or not")


DICE_EVERYTHING = Exercise(
    3, "dice_everything",
    "set dice_everything to the Dice loss of predicting p = 1 at every one of N pixels (N large) when "
    "5 % of them are building.",
    ("Every building pixel is found, so the overlap is sum(y); the denominator still counts every "
     "predicted pixel.",
     "Divide the numerator and the denominator by N: Dice loss = 1 - 2 f / (f + 1) for a building "
     "share f (the smoothing term vanishes for large N)."),
    "dice_everything = 1 - 2 * 0.05 / (0.05 + 1)\n",
    _check_dice_everything,
)


def _check_found_count(fn):
    coverages = np.array([0.0, 0.25, 0.5, 0.51, 0.9, 1.0])
    for bar in (0.5, 0.9, 0.25):
        shown = f"found_count(coverages, min_coverage={bar}) with coverages {coverages.tolist()}"
        got = call(fn, coverages, bar, shown=shown)
        expect_number(shown, got, float(np.sum(coverages >= bar)), 1e-9,
                      hint="return how many buildings are found (a count, not a share), and a building "
                           "exactly at the bar counts as found")


FOUND_COUNT = Exercise(
    3, "found_count",
    "write found_count(coverages, min_coverage): how many buildings count as found, given the share of "
    "each building's pixels that was predicted.",
    ("A building is found when at least the required share of its pixels is predicted: compare each "
     "building's coverage with the bar, ties included, and count.",
     "count = the number of buildings with coverage >= min_coverage (the sum of a boolean array)."),
    "def found_count(coverages, min_coverage):\n    return int(np.sum(coverages >= min_coverage))\n",
    _check_found_count,
)

EXERCISES = [SCALE_TILE, TILE_DISTANCE, PIXEL_ACCURACY, BEST_P, DICE_MISSED, DICE_EVERYTHING, FOUND_COUNT]

__all__ = ["EXERCISES"]
