"""Checks of assignment 5, "Footprints" (lesson 10).

- ``mask_to_polygons(mask, min_area=0)``: the 4-connected building regions of
  a mask as shapely polygons in pixel coordinates (x = column, y = row),
  holes kept, those smaller than ``min_area`` pixels dropped; compared, in
  any order, with :func:`unet_course.footprints.polygons.mask_to_polygons`;
- ``match_buildings(predicted, truth, iou_threshold=0.5)``: one-to-one
  matching at IoU >= ``iou_threshold``, candidate pairs taken in decreasing
  IoU, and precision, recall and F1 over buildings; compared with
  :func:`unet_course.footprints.matching.match_buildings`.

The visible checks use a few boxes and small masks a student can draw; the
hidden ones use random masks (holes, corner-touching pixels, other area
thresholds, empty and full masks), random overlapping polygons at other
thresholds, empty sets, and a case where taking the predictions in their own
order instead of by IoU gives other pairs.
"""
from __future__ import annotations

import numpy as np

from unet_course.grading.common import Item, quiet
from unet_course.grading.messages import as_float, expect_close, fail, show

__all__ = ["check_mask_to_polygons", "check_match_buildings"]

_L10 = 'lesson 10 "From aerial image to building footprints"'

POLYGONS = Item("mask_to_polygons", ("unet_course.footprints.polygons.mask_to_polygons",
                                     "unet_course.footprints.polygons.raster_polygons",
                                     "unet_course.footprints.polygons._polygons"), _L10)
MATCH = Item("match_buildings", ("unet_course.footprints.matching.match_buildings",
                                 "unet_course.footprints.matching._candidates",
                                 "unet_course.footprints.matching.polygon_iou"), _L10)

HINTS = {
    "count": "trace the building pixels with rasterio.features.shapes (it follows pixel edges, "
             "4-connected: pixels that touch only at a corner are separate), keep only the "
             "building regions, turn each geometry into a shapely polygon, then apply the area filter",
    "area": "a region is kept when its area is at least min_area (equal counts), in pixels",
    "type": "return a list of shapely Polygon objects, one per building region",
    "pairs": "collect every (predicted, true) pair whose IoU reaches the threshold, take them "
             "from the highest IoU down, and keep a pair only while both of its polygons are "
             "still unmatched",
    "scores": "count matched (tp), unmatched predictions (fp) and unmatched true buildings (fn); "
              "precision, recall and F1 are ratios of these counts, and a ratio whose "
              "denominator is 0 is 1.0",
    "format": "return a dict with 'matches' (a list of (predicted index, true index) pairs), "
              "'precision', 'recall' and 'f1'",
}


def _describe(mask):
    return show(mask) if mask.size <= 16 else f"a {mask.dtype} mask of shape {mask.shape}"


def _polygon_cases(hidden):
    """``(description, mask, kwargs)`` to try."""
    if not hidden:
        mask = np.zeros((6, 8), np.uint8)
        mask[0:2, 0:3] = 1                       # 6 pixels
        mask[4, 6:8] = 1                         # 2 pixels
        mask[3, 0] = 1                           # 1 pixel
        diagonal = np.array([[1, 0], [0, 1]], np.uint8)
        return [("three regions of 6, 2 and 1 pixels", mask, {}),
                ("three regions of 6, 2 and 1 pixels", mask, {"min_area": 2}),
                ("two pixels touching at a corner", diagonal, {})]
    rng = np.random.default_rng(41)
    courtyard = np.zeros((12, 12), bool)
    courtyard[1:11, 1:11] = True
    courtyard[4:7, 4:7] = False
    random = (rng.random((30, 25)) < 0.45).astype(np.uint8)
    labels = (rng.random((20, 40)) < 0.3) * rng.integers(1, 255, (20, 40))
    return [("random 30x25 mask, 45 % building", random, {}),
            ("the same random mask", random, {"min_area": 3}),
            ("the same random mask", random, {"min_area": 7.5}),
            ("a bool 12x12 mask with a courtyard (a hole)", courtyard, {}),
            ("a 20x40 label mask of values 0..254 (non-zero is building)",
             labels.astype(np.int32), {"min_area": 2}),
            ("an empty 9x7 mask", np.zeros((9, 7), np.uint8), {}),
            ("a 5x6 mask that is all building (area 30)", np.ones((5, 6), np.uint8),
             {"min_area": 31})]


def _as_polygons(shown, got):
    __tracebackhide__ = True
    from shapely.geometry import Polygon

    if not isinstance(got, (list, tuple)) or not all(isinstance(p, Polygon) for p in got):
        fail(f"{shown} should return a list of shapely Polygons", "[<POLYGON ...>, ...]", got,
             hint=HINTS["type"])
    return list(got)


@quiet
def check_mask_to_polygons(mask_to_polygons, hidden=False):
    """Grade ``mask_to_polygons(mask, min_area=0)`` against the package's (lesson 10)."""
    __tracebackhide__ = True
    from unet_course.footprints.polygons import mask_to_polygons as reference

    POLYGONS.start(mask_to_polygons)
    for description, mask, kwargs in _polygon_cases(hidden):
        extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
        shown = f"mask_to_polygons(mask{extra}) with {description}"
        got = _as_polygons(shown, POLYGONS.call(mask_to_polygons, mask, shown=shown, **kwargs))
        expected = reference(mask, **kwargs)
        areas = sorted(p.area for p in got)
        want = sorted(p.area for p in expected)
        if len(got) != len(expected):
            hint = HINTS["area"] + "; " + HINTS["count"] if kwargs else HINTS["count"]
            fail(f"{shown}: the number of polygons", f"{len(expected)} of areas {want}",
                 f"{len(got)} of areas {areas}", hint=hint)
        for polygon in expected:
            if not any(polygon.equals(p) for p in got):
                fail(f"{shown}: a building region has no equal polygon in the result",
                     polygon.wkt, [p.wkt for p in got][:4],
                     hint=HINTS["count"] + "; coordinates are pixels: x = column, y = row, "
                     "a pixel is a 1 x 1 square, holes stay holes")


def _box(x, y, w, h):
    from shapely.geometry import box
    return box(x, y, x + w, y + h)


def _match_cases(hidden):
    """``(description, predicted, truth, args, kwargs)`` to try."""
    from shapely import affinity

    truth = [_box(0, 0, 10, 10), _box(20, 0, 10, 10), _box(40, 0, 4, 4)]
    if not hidden:
        predicted = [_box(0, 0, 10, 9), _box(20, 0, 10, 4), _box(60, 60, 10, 10), _box(1, 0, 10, 10)]
        return [("4 predicted and 3 true boxes (one prediction twice on the same house)",
                 predicted, truth, (), {}),
                ("the true boxes predicted exactly", list(truth), truth, (), {})]
    rng = np.random.default_rng(43)
    shapes = []
    for _ in range(14):
        x, y = rng.uniform(0, 40, 2)
        shapes.append(affinity.rotate(_box(x, y, *rng.uniform(3, 9, 2)), rng.uniform(0, 90)))
    moved = [affinity.translate(s, *rng.normal(0, 1.0, 2)) for s in shapes[:11]]
    order = [_box(0, 0, 10, 6), _box(0, 0, 10, 9)]      # the second overlaps the house more
    return [("14 random overlapping rotated boxes and 11 of them moved a little", moved, shapes,
             (), {}),
            ("the same boxes (threshold by position)", moved, shapes, (0.3,), {}),
            ("the same boxes", moved, shapes, (), {"iou_threshold": 0.8}),
            ("two predictions of one house, the better one second", order, [_box(0, 0, 10, 10)],
             (), {}),
            ("no prediction, 3 true boxes", [], truth, (), {}),
            ("3 predicted boxes, no true building", truth, [], (), {}),
            ("no prediction and no true building", [], [], (), {})]


def _pairs(shown, got):
    __tracebackhide__ = True
    if not isinstance(got, dict) or not {"matches", "precision", "recall", "f1"} <= set(got):
        fail(f"{shown} should return a dict with 'matches', 'precision', 'recall', 'f1'",
             "{'matches': [(0, 0), ...], 'precision': ..., 'recall': ..., 'f1': ...}", got,
             hint=HINTS["format"])
    try:
        return sorted((int(m[0]), int(m[1])) for m in got["matches"])
    except (TypeError, ValueError, IndexError):
        fail(f"{shown}: 'matches' should be a list of (predicted index, true index) pairs",
             "[(0, 0), (2, 1), ...]", got["matches"], hint=HINTS["format"])


@quiet
def check_match_buildings(match_buildings, hidden=False):
    """Grade ``match_buildings(predicted, truth, iou_threshold=0.5)`` against the package's (lesson 10)."""
    __tracebackhide__ = True
    from unet_course.footprints.matching import match_buildings as reference

    MATCH.start(match_buildings)
    for description, predicted, truth, args, kwargs in _match_cases(hidden):
        extra = "".join(f", {a!r}" for a in args) + "".join(f", {k}={v!r}" for k, v in kwargs.items())
        shown = f"match_buildings(predicted, truth{extra}) with {description}"
        got = MATCH.call(match_buildings, predicted, truth, *args, shown=shown, **kwargs)
        pairs = _pairs(shown, got)
        expected = reference(predicted, truth, *args, **kwargs)
        want = sorted((i, j) for i, j, _ in expected["matches"])
        if pairs != want:
            fail(f"{shown}: the matched (predicted, true) pairs", want, pairs, hint=HINTS["pairs"])
        for key in ("precision", "recall", "f1"):
            value = as_float(got[key], f"{shown}: {key!r}", HINTS["scores"])
            expect_close(f"{shown}: {key!r}", value, expected[key], 1e-9, HINTS["scores"])
