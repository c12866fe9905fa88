"""Tests of unet_course.lessons.buildings: connected components and recall by building size."""
from collections import deque

import numpy as np
import pytest
from rasterio.features import shapes

from unet_course.lessons.buildings import (
    building_table,
    component_sizes,
    label_components,
    recall_by_size,
    size_edges,
)


def flood_fill_labels(mask, connectivity):
    """Independent reference: breadth-first flood fill, seeds in reading order."""
    mask = np.asarray(mask, bool)
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if connectivity == 8:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    labels = np.zeros(mask.shape, int)
    n = 0
    for r, c in zip(*np.nonzero(mask)):
        if labels[r, c]:
            continue
        n += 1
        labels[r, c] = n
        queue = deque([(r, c)])
        while queue:
            y, x = queue.popleft()
            for dy, dx in steps:
                v, u = y + dy, x + dx
                if 0 <= v < mask.shape[0] and 0 <= u < mask.shape[1] and mask[v, u] and not labels[v, u]:
                    labels[v, u] = n
                    queue.append((v, u))
    return labels, n


@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("density", [0.2, 0.45, 0.6])
def test_labels_match_flood_fill(connectivity, density):
    rng = np.random.default_rng(int(density * 100) + connectivity)
    mask = rng.random((37, 53)) < density
    labels, n = label_components(mask, connectivity)
    expected, expected_n = flood_fill_labels(mask, connectivity)
    assert n == expected_n
    np.testing.assert_array_equal(labels, expected)
    assert labels.dtype == np.int32


@pytest.mark.parametrize("connectivity", [4, 8])
def test_count_matches_rasterio_polygons(connectivity):
    rng = np.random.default_rng(7)
    mask = (rng.random((64, 64)) < 0.4).astype(np.uint8)
    polygons = [value for _, value in shapes(mask, mask=mask.astype(bool), connectivity=connectivity)]
    assert label_components(mask, connectivity)[1] == len(polygons)


def test_edge_cases():
    empty = np.zeros((5, 6))
    labels, n = label_components(empty)
    assert n == 0 and not labels.any()
    full = np.ones((5, 6))
    labels, n = label_components(full)
    assert n == 1 and (labels == 1).all()
    assert component_sizes(labels, n).tolist() == [30]
    # a U shape joins only at the bottom row: one building, however it is scanned
    u_shape = np.array([[1, 0, 1], [1, 0, 1], [1, 1, 1]])
    assert label_components(u_shape, 4)[1] == 1
    # corner contact: two buildings for 4-connectivity, one for 8
    corner = np.array([[1, 0], [0, 1]])
    assert label_components(corner, 4)[1] == 2
    assert label_components(corner, 8)[1] == 1


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="connectivity"):
        label_components(np.zeros((3, 3)), connectivity=6)
    with pytest.raises(ValueError, match="mask must have 2"):
        label_components(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="same shape"):
        building_table(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="sizes is empty"):
        size_edges([])
    with pytest.raises(ValueError, match="increasing"):
        recall_by_size(np.zeros((4, 4)), np.zeros((4, 4)), edges=[5, 2])
    with pytest.raises(ValueError, match="min_coverage"):
        recall_by_size(np.zeros((4, 4)), np.zeros((4, 4)), edges=[2], min_coverage=0)


def scene():
    """Two tiles: a 2x2 shed, a 3x3 house, a 6x6 store; the prediction finds parts."""
    truth = np.zeros((2, 12, 12), np.uint8)
    truth[0, 0:2, 0:2] = 1          # shed, 4 px: missed
    truth[0, 5:8, 5:8] = 1          # house, 9 px: 6 of 9 found
    truth[1, 2:8, 2:8] = 1          # store, 36 px: all found
    prob = np.zeros((2, 12, 12))
    prob[0, 5:7, 5:8] = 0.9
    prob[1, 2:8, 2:8] = 0.8
    prob[1, 10:12, 10:12] = 0.9     # a false alarm does not change recall
    return truth, prob


def test_building_table_against_hand_count():
    truth, prob = scene()
    table = building_table(truth, prob)
    assert table["tile"].tolist() == [0, 0, 1]
    assert table["size"].tolist() == [4, 9, 36]
    np.testing.assert_allclose(table["coverage"], [0.0, 6 / 9, 1.0])
    # threshold is strict, as in unet_course.metrics
    assert building_table(truth, prob, threshold=0.9)["coverage"].tolist() == [0.0, 0.0, 0.0]
    # a single 2-D tile works too
    assert building_table(truth[1], prob[1])["size"].tolist() == [36]


def test_recall_by_size_against_hand_count():
    truth, prob = scene()
    rows = recall_by_size(truth, prob, edges=[5, 20])
    assert [row["name"] for row in rows] == ["small", "medium", "large"]
    assert [row["buildings"] for row in rows] == [1, 1, 1]
    assert [row["found"] for row in rows] == [0, 1, 1]
    assert [row["recall"] for row in rows] == [0.0, 1.0, 1.0]
    np.testing.assert_allclose([row["pixel_recall"] for row in rows], [0.0, 6 / 9, 1.0])
    assert rows[-1]["max_size"] == np.inf
    # stricter: the house is no longer found
    strict = recall_by_size(truth, prob, edges=[5, 20], min_coverage=0.9)
    assert [row["found"] for row in strict] == [0, 0, 1]


def test_perfect_inverted_and_empty_predictions():
    truth, _ = scene()
    perfect = recall_by_size(truth, truth, edges=[5, 20])
    assert all(row["recall"] == 1.0 and row["pixel_recall"] == 1.0 for row in perfect)
    inverted = recall_by_size(truth, 1 - truth, edges=[5, 20])
    assert all(row["recall"] == 0.0 and row["pixel_recall"] == 0.0 for row in inverted)
    # no building at all: every class is empty, and empty classes score 1.0
    none = recall_by_size(np.zeros((12, 12)), np.zeros((12, 12)), edges=[5, 20])
    assert all(row["buildings"] == 0 and row["recall"] == 1.0 for row in none)


def test_size_edges_are_quantiles():
    sizes = np.arange(1, 301)
    edges = size_edges(sizes, 3)
    np.testing.assert_allclose(edges, np.quantile(sizes, [1 / 3, 2 / 3]))
    classes = np.searchsorted(edges, sizes, side="left")
    assert np.bincount(classes).tolist() == [100, 100, 100]
    assert size_edges(sizes, 1).size == 0
