"""choose_threshold: the validation threshold with the best dataset Dice (lesson 8)."""
import numpy as np
import pytest

from unet_course.metrics import THRESHOLDS, choose_threshold


def dice_by_sets(y, p, t):
    """Dice of the thresholded prediction from sets of pixel indices (independent of the package)."""
    truth = set(np.flatnonzero(np.ravel(y) == 1))
    predicted = set(np.flatnonzero(np.ravel(p) > t))
    if not truth and not predicted:
        return 1.0
    return 2 * len(truth & predicted) / (len(truth) + len(predicted))


def brute_force(y, p, thresholds):
    scores = [(dice_by_sets(y, p, t), -t) for t in thresholds]
    return -max(scores)[1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_a_brute_force_search(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((3, 9, 7)) < 0.3).astype(np.uint8)
    p = np.clip(0.6 * y + rng.normal(0.2, 0.2, y.shape), 0, 1)
    assert choose_threshold(y, p) == pytest.approx(brute_force(y, p, THRESHOLDS))
    assert choose_threshold(y, p[..., None], thresholds=(0.7, 0.3, 0.5)) == pytest.approx(
        brute_force(y, p, (0.3, 0.5, 0.7)))


def test_edge_cases():
    y = np.array([[1, 1, 0, 0]])
    assert choose_threshold(y, np.array([[0.9, 0.35, 0.3, 0.1]]), (0.2, 0.32, 0.5)) == 0.32
    assert choose_threshold(y, y.astype(float), (0.2, 0.5, 0.8)) == 0.2   # perfect at every one: lowest
    empty = np.zeros((2, 3))
    assert choose_threshold(empty, empty + 0.4, (0.1, 0.3, 0.5, 0.7)) == 0.5  # first that predicts nothing
    assert choose_threshold(np.ones((2, 3)), np.full((2, 3), 0.6), (0.5, 0.7)) == 0.5
    inverted = 1.0 - y
    assert choose_threshold(y, inverted.astype(float), (0.5,)) == 0.5


def test_bad_thresholds_are_named():
    y = np.array([1, 0])
    with pytest.raises(ValueError, match="thresholds"):
        choose_threshold(y, [0.2, 0.8], thresholds=(0.5, 1.5))
    with pytest.raises(ValueError, match="thresholds is empty"):
        choose_threshold(y, [0.2, 0.8], thresholds=())
