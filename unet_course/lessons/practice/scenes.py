"""Practice for lesson 10: windows over a whole scene, and overlap between two footprints.

Arithmetic on numbers and boxes: no model runs.
"""
from __future__ import annotations

from unet_course.lessons.practice.exercise import Exercise, call, expect_cases, expect_number

# --- lesson 10: from a scene to footprints --------------------------------------


def _check_window_count(fn):
    cases = [((512, 256, 64), 3, ""), ((256, 256, 64), 1, "one window fills the scene"),
             ((1500, 128, 32), 16, ""), ((1000, 256, 0), 4, "no overlap")]
    expect_cases(fn, "window_count", cases, 1e-9,
                 hint="consecutive windows start window - overlap pixels apart, the first at 0 and "
                      "the last one ending exactly at the scene's edge; round the count up")


WINDOW_COUNT = Exercise(
    10, "window_count",
    "write window_count(length, window, overlap): how many windows of `window` pixels, each sharing at "
    "least `overlap` pixels with the next, cover a scene side of `length` pixels (length >= window).",
    ("The first window starts at 0, the last ends at the edge; between them the step may be at most "
     "window - overlap.",
     "count = 1 + ⌈(length − window) / (window − overlap)⌉."),
    "import math\n\n\ndef window_count(length, window, overlap):\n"
    "    return 1 + math.ceil((length - window) / (window - overlap))\n",
    _check_window_count,
)


def _box_iou(a, b):
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def _check_box_iou(fn):
    boxes = [((0, 0, 10, 10), (5, 0, 15, 10), "half a square's shift"),
             ((0, 0, 10, 10), (0, 0, 10, 10), "the same box"),
             ((0, 0, 4, 4), (10, 10, 12, 12), "boxes that do not touch"),
             ((0, 0, 10, 10), (2, 2, 6, 6), "a box inside another")]
    for a, b, what in boxes:
        shown = f"box_iou({a}, {b}) ({what})"
        expect_number(shown, call(fn, a, b, shown=shown), _box_iou(a, b), 1e-9,
                      hint="the overlap's width and height are never negative, and the union "
                           "counts the shared area once")


BOX_IOU = Exercise(
    10, "box_iou",
    "write box_iou(a, b): the intersection over union of two axis-aligned boxes given as "
    "(x_min, y_min, x_max, y_max). A building matches at IoU >= 0.5.",
    ("Intersection over union: the shared area divided by the area covered by either box.",
     "overlap = max(0, min(right edges) − max(left edges)) × (the same for y); "
     "IoU = overlap / (area a + area b − overlap)."),
    "def box_iou(a, b):\n"
    "    width = max(0, min(a[2], b[2]) - max(a[0], b[0]))\n"
    "    height = max(0, min(a[3], b[3]) - max(a[1], b[1]))\n"
    "    inter = width * height\n"
    "    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter\n"
    "    return inter / union\n",
    _check_box_iou,
)

EXERCISES = [WINDOW_COUNT, BOX_IOU]

__all__ = ["EXERCISES"]
