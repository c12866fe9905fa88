"""Per-building matching against brute force, the scores, recall by size, the evaluator (lesson 10)."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from shapely import affinity
from shapely.geometry import box

from unet_course.footprints import FootprintError
from unet_course.footprints.matching import (evaluate_footprints, match_buildings, polygon_iou,
                                             recall_by_size)
from unet_course.footprints.vectors import read_polygons, write_layers

from _footprints import CRS, known_buildings, to_map


def _random_boxes(rng, n, spread=30.0):
    boxes = []
    for _ in range(n):
        x, y = rng.uniform(0, spread, 2)
        w, h = rng.uniform(2, 8, 2)
        boxes.append(affinity.rotate(box(x, y, x + w, y + h), rng.uniform(0, 90), origin="centroid"))
    return boxes


def _brute_iou(a, b):
    """IoU from shapely's intersection and the two areas, pair by pair (no spatial index)."""
    inter = a.intersection(b).area
    return inter / (a.area + b.area - inter)


def _brute_greedy(predicted, truth, threshold):
    """Every pair, sorted by IoU (ties: lower indices first), taken while both are free."""
    pairs = sorted(((-_brute_iou(p, t), i, j) for i, p in enumerate(predicted)
                    for j, t in enumerate(truth) if _brute_iou(p, t) >= threshold))
    used_p, used_t, matches = set(), set(), []
    for negative, i, j in pairs:
        if i not in used_p and j not in used_t:
            used_p.add(i), used_t.add(j)
            matches.append((i, j))
    return matches


def _largest_matching(predicted, truth, threshold):
    """Size of the largest one-to-one matching at IoU >= threshold, by trying every assignment."""
    ok = [[_brute_iou(p, t) >= threshold for t in truth] for p in predicted]
    best = 0
    for chosen in itertools.permutations(range(len(truth)), min(len(predicted), len(truth))):
        best = max(best, sum(ok[i][j] for i, j in enumerate(chosen)))
    return best


def test_matcher_equals_brute_force_on_random_overlapping_polygons():
    rng = np.random.default_rng(11)
    for trial in range(40):
        truth = _random_boxes(rng, rng.integers(0, 12))
        predicted = [affinity.translate(t, *rng.normal(0, 1.0, 2)) for t in truth
                     if rng.random() < 0.8] + _random_boxes(rng, rng.integers(0, 5))
        threshold = [0.5, 0.3, 0.7][trial % 3]
        result = match_buildings(predicted, truth, threshold)
        assert [(i, j) for i, j, _ in result["matches"]] == _brute_greedy(predicted, truth, threshold)
        for i, j, iou in result["matches"]:
            assert iou == pytest.approx(_brute_iou(predicted[i], truth[j]))
        assert result["tp"] + result["fp"] == len(predicted)
        assert result["tp"] + result["fn"] == len(truth)


def test_on_non_overlapping_sets_the_greedy_matching_is_the_largest():
    rng = np.random.default_rng(12)
    for _ in range(25):
        truth = [box(10 * k, 0, 10 * k + rng.uniform(3, 9), rng.uniform(3, 9)) for k in range(6)]
        predicted = [affinity.translate(t, *rng.normal(0, 1.2, 2)) for t in truth[:5]]
        predicted = [p for k, p in enumerate(predicted)
                     if not any(p.intersects(q) for q in predicted[:k])]
        result = match_buildings(predicted, truth)
        assert result["tp"] == _largest_matching(predicted, truth, 0.5)


def test_scores_against_the_counts_written_out():
    truth = [box(0, 0, 10, 10), box(20, 0, 30, 10), box(40, 0, 44, 4)]
    predicted = [box(1, 0, 11, 10), box(20, 0, 30, 4), box(60, 60, 70, 70)]
    result = match_buildings(predicted, truth)
    assert [(i, j) for i, j, _ in result["matches"]] == [(0, 0)]
    assert result["matches"][0][2] == pytest.approx(90 / 110)
    assert (result["tp"], result["fp"], result["fn"]) == (1, 2, 2)
    assert result["precision"] == pytest.approx(1 / 3) and result["recall"] == pytest.approx(1 / 3)
    assert result["f1"] == pytest.approx(2 * 1 / (2 * 1 + 2 + 2))
    assert result["missed"] == [1, 2] and result["invented"] == [1, 2]


def test_edge_cases_perfect_empty_and_nothing_found():
    truth = known_buildings()
    perfect = match_buildings(truth, truth)
    assert perfect["f1"] == 1 and all(iou == pytest.approx(1) for _, _, iou in perfect["matches"])
    nothing = match_buildings([], truth)
    assert (nothing["precision"], nothing["recall"], nothing["f1"]) == (1.0, 0.0, 0.0)
    invented = match_buildings(truth, [])
    assert (invented["precision"], invented["recall"]) == (0.0, 1.0)
    assert match_buildings([], [])["f1"] == 1.0
    half = box(0, 0, 10, 10), box(0, 0, 10, 5)               # IoU exactly 0.5 matches
    assert match_buildings([half[1]], [half[0]])["tp"] == 1
    assert polygon_iou(box(0, 0, 1, 1), box(2, 2, 3, 3)) == 0


def test_bad_threshold():
    with pytest.raises(FootprintError, match="iou_threshold"):
        match_buildings([], [], 1.5)
    with pytest.raises(FootprintError, match="above 0"):
        match_buildings([], [], 0)


def test_recall_by_size_counts_each_class():
    truth = [box(0, 0, 5, 5), box(10, 0, 20, 10), box(30, 0, 50, 20), box(60, 0, 63, 3)]
    matches = [(0, 1, 0.9), (1, 2, 0.8)]
    rows = recall_by_size(truth, matches, edges=(0, 30, 200, np.inf))
    assert [(r["buildings"], r["found"]) for r in rows] == [(2, 0), (1, 1), (1, 1)]
    assert rows[0]["recall"] == 0 and rows[2]["to"] is None
    assert recall_by_size([], [])[0]["recall"] is None


def test_evaluator_writes_scores_and_error_layers(tmp_path):
    truth = [to_map(p) for p in known_buildings()]
    predicted = truth[:6] + [to_map(box(0, 0, 10, 10))]
    write_layers(tmp_path / "truth.geojson", {"t": (truth, {})}, CRS)
    write_layers(tmp_path / "pred.gpkg", {"p": (predicted, {})}, CRS)
    scores = evaluate_footprints(tmp_path / "pred.gpkg", tmp_path / "truth.geojson", tmp_path / "ev")
    assert (scores["tp"], scores["fp"], scores["fn"]) == (6, 1, 2)
    assert json.loads((tmp_path / "ev" / "building_scores.json").read_text())["tp"] == 6
    missed, crs = read_polygons(tmp_path / "ev" / "missed.geojson")
    assert crs.to_string() == CRS and [m.area for m in missed] == [t.area for t in truth[6:]]
    assert len(read_polygons(tmp_path / "ev" / "evaluation.gpkg", layer="invented")[0]) == 1
    assert len(read_polygons(tmp_path / "ev" / "evaluation.gpkg", layer="matched")[0]) == 6


def test_evaluator_refuses_two_crs(tmp_path):
    write_layers(tmp_path / "a.gpkg", {"a": ([box(0, 0, 1, 1)], {})}, CRS)
    write_layers(tmp_path / "b.gpkg", {"b": ([box(0, 0, 1, 1)], {})}, "EPSG:4326")
    with pytest.raises(FootprintError, match="reproject"):
        evaluate_footprints(tmp_path / "a.gpkg", tmp_path / "b.gpkg")
