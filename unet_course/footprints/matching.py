"""Scoring footprints building by building, the way SpaceNet scores them (lesson 10).

Pixel scores (Dice, IoU) say how many building *pixels* are right; a city
planner counts *buildings*. A predicted polygon **matches** a true one when
their IoU (area of the intersection over area of the union) is at least 0.5,
and each polygon matches at most once: all candidate pairs are taken in
decreasing IoU, and a pair is kept when neither polygon is matched yet. Then

- a match is a true positive; an unmatched prediction is *invented* (false
  positive); an unmatched true building is *missed* (false negative);
- precision, recall and F1 over buildings come from those counts (F1 is the
  Dice of the counts, computed by :func:`unet_course.metrics.scores_from_counts`,
  which also decides that 0/0 is 1);
- :func:`recall_by_size` shows which sizes of building are found.

With IoU >= 0.5 a polygon can overlap at most one polygon of a set of
non-overlapping ones by that much, so on such sets the greedy order finds
the largest possible matching.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from unet_course.footprints import FootprintError
from unet_course.metrics import scores_from_counts
from unet_course.validate import probability

__all__ = ["polygon_iou", "match_buildings", "recall_by_size", "SIZE_EDGES",
           "evaluate_footprints"]

#: Edges of the building-size classes of :func:`recall_by_size`, in square map units (m²).
SIZE_EDGES = (0.0, 50.0, 200.0, math.inf)


def polygon_iou(a, b):
    """Intersection over union of two polygons (0 when both are empty)."""
    inter = a.intersection(b).area
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def _candidates(predicted, truth):
    """Pairs ``(i, j)`` of polygons whose boxes intersect, and their IoU."""
    import shapely
    from shapely.strtree import STRtree

    if not len(predicted) or not len(truth):
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    pred, true = np.array(predicted, dtype=object), np.array(truth, dtype=object)
    i, j = STRtree(true).query(pred, predicate="intersects")
    inter = shapely.area(shapely.intersection(pred[i], true[j]))
    union = shapely.area(pred[i]) + shapely.area(true[j]) - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return i, j, iou


def match_buildings(predicted, truth, iou_threshold=0.5):
    """Match predicted to true buildings one to one at IoU >= ``iou_threshold`` (lesson 10).

    Parameters
    ----------
    predicted, truth : sequence of shapely.Polygon
    iou_threshold : float in (0, 1]
        SpaceNet uses 0.5.

    Returns
    -------
    dict
        ``matches``: list of ``(predicted index, true index, IoU)``, highest
        IoU first; ``invented``: indices of unmatched predictions; ``missed``:
        indices of unmatched true buildings; ``tp``, ``fp``, ``fn``;
        ``precision``, ``recall``, ``f1``.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> result = match_buildings([box(0, 0, 2, 2), box(5, 5, 6, 6)], [box(0, 0, 2, 3)])
    >>> result["matches"], result["f1"]
    ([(0, 0, 0.6666666666666666)], 0.6666666666666666)
    """
    threshold = probability(iou_threshold, "iou_threshold", error=FootprintError)
    if threshold == 0:
        raise FootprintError("iou_threshold must be above 0: every pair would match")
    i, j, iou = _candidates(list(predicted), list(truth))
    keep = iou >= threshold
    i, j, iou = i[keep], j[keep], iou[keep]
    order = np.lexsort((j, i, -iou))
    used_pred, used_true, matches = set(), set(), []
    for k in order:
        if i[k] not in used_pred and j[k] not in used_true:
            used_pred.add(int(i[k]))
            used_true.add(int(j[k]))
            matches.append((int(i[k]), int(j[k]), float(iou[k])))
    tp = len(matches)
    fp, fn = len(predicted) - tp, len(truth) - tp
    scores = scores_from_counts({"tp": tp, "fp": fp, "fn": fn, "tn": 0})
    return {"matches": matches,
            "invented": [n for n in range(len(predicted)) if n not in used_pred],
            "missed": [n for n in range(len(truth)) if n not in used_true],
            "tp": tp, "fp": fp, "fn": fn, "precision": scores["precision"],
            "recall": scores["recall"], "f1": scores["dice"]}


def recall_by_size(truth, matches, edges=SIZE_EDGES):
    """Recall of the true buildings in each area class ``[edges[k], edges[k+1])`` (lesson 10).

    ``matches`` is the list :func:`match_buildings` returns. A class without
    buildings has recall None.
    """
    found = {j for _, j, _ in matches}
    areas = np.array([polygon.area for polygon in truth], float)
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):
        members = np.flatnonzero((areas >= low) & (areas < high))
        hits = sum(1 for j in members if int(j) in found)
        rows.append({"from": low, "to": None if math.isinf(high) else high,
                     "buildings": int(len(members)), "found": hits,
                     "recall": hits / len(members) if len(members) else None})
    return rows


def _same_crs(pred_crs, true_crs, pred_path, truth_path):
    if pred_crs is not None and true_crs is not None and pred_crs != true_crs:
        raise FootprintError(f"{pred_path} is in {pred_crs.to_string()} but {truth_path} in "
                             f"{true_crs.to_string()}; reproject one of them first")


def evaluate_footprints(predicted_path, truth_path, out_dir=None, iou_threshold=0.5,
                        min_area=0.0, edges=SIZE_EDGES, rule="threshold"):
    """Score a footprint file against the truth and write the errors as map layers (lesson 10).

    Parameters
    ----------
    predicted_path : path
        Predicted polygons (.geojson or .gpkg).
    truth_path : path
        True polygons (.geojson, .gpkg) or a label raster (.tif: building
        coverage in [0, 1], 0/1 or 0/255, made binary by ``rule``).
    out_dir : path, optional
        Where to write ``building_scores.json``, ``missed.geojson``,
        ``invented.geojson`` and ``evaluation.gpkg`` (layers ``missed``,
        ``invented``, ``matched``).
    min_area : float
        True buildings smaller than this (map units²) are left out, as the
        predictions' area filter leaves them out.
    rule : {"threshold", "truncate"}
        How a fractional label raster becomes buildings, as in training
        (:func:`unet_course.data.tiles.binarize_label`).

    Returns
    -------
    dict
        The counts and scores of :func:`match_buildings` (without the index
        lists), ``iou_threshold``, ``mean_iou`` of the matches, ``by_size``.
    """
    from unet_course.footprints.vectors import read_polygons, write_layers

    predicted, pred_crs = read_polygons(predicted_path)
    truth, true_crs = read_polygons(truth_path, min_area=min_area, rule=rule)
    _same_crs(pred_crs, true_crs, predicted_path, truth_path)
    result = match_buildings(predicted, truth, iou_threshold)
    matches = result["matches"]
    summary = {key: result[key] for key in ("tp", "fp", "fn", "precision", "recall", "f1")}
    summary.update(predicted=len(predicted), truth=len(truth), iou_threshold=iou_threshold,
                   mean_iou=float(np.mean([m[2] for m in matches])) if matches else None,
                   by_size=recall_by_size(truth, matches, edges))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        crs = true_crs or pred_crs
        missed = ([truth[j] for j in result["missed"]],
                  {"truth_id": np.array(result["missed"], np.int64),
                   "area": np.array([truth[j].area for j in result["missed"]], float)})
        invented = ([predicted[i] for i in result["invented"]],
                    {"pred_id": np.array(result["invented"], np.int64),
                     "area": np.array([predicted[i].area for i in result["invented"]], float)})
        matched = ([predicted[i] for i, _, _ in matches],
                   {"pred_id": np.array([m[0] for m in matches], np.int64),
                    "truth_id": np.array([m[1] for m in matches], np.int64),
                    "iou": np.array([m[2] for m in matches], float)})
        write_layers(out / "missed.geojson", {"missed": missed}, crs)
        write_layers(out / "invented.geojson", {"invented": invented}, crs)
        write_layers(out / "evaluation.gpkg",
                     {"missed": missed, "invented": invented, "matched": matched}, crs)
        partial = out / ".building_scores.partial.json"
        partial.write_text(json.dumps(summary, indent=2) + "\n")
        partial.replace(out / "building_scores.json")
    return summary
