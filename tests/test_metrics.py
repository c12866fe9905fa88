"""Metrics against set formulas written out here, and dataset-wide accumulation (unet_course.metrics)."""
import keras
import numpy as np
import pytest

from unet_course.metrics import (
    DatasetAccuracy,
    DatasetDice,
    DatasetIoU,
    DatasetPrecision,
    DatasetRecall,
    accuracy_score,
    confusion_counts,
    dataset_metrics,
    dice_metric,
    dice_score,
    error_map_masks,
    iou_score,
    precision_score,
    recall_score,
    scores_from_counts,
)

SCORES = {
    "dice": dice_score, "iou": iou_score, "precision": precision_score,
    "recall": recall_score, "accuracy": accuracy_score,
}
CLASSES = {
    "dice": DatasetDice, "iou": DatasetIoU, "precision": DatasetPrecision,
    "recall": DatasetRecall, "accuracy": DatasetAccuracy,
}


def ratio(numerator, denominator):
    return 1.0 if denominator == 0 else numerator / denominator


def direct_scores(y, p, threshold=0.5):
    """Scores written with sets: A = building pixels, B = predicted building pixels."""
    a, b = np.asarray(y) == 1, np.asarray(p) > threshold
    both, either = np.logical_and(a, b).sum(), np.logical_or(a, b).sum()
    return {
        "dice": ratio(2 * both, a.sum() + b.sum()),
        "iou": ratio(both, either),
        "precision": ratio(both, b.sum()),
        "recall": ratio(both, a.sum()),
        "accuracy": ratio((a == b).sum(), a.size),
    }


def random_batch(seed, n=3, size=8):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, size, size)) < 0.2).astype(np.uint8)
    p = np.clip(0.6 * y + 0.7 * rng.random((n, size, size)) - 0.1, 0, 1).astype(np.float32)
    return y, p


def edge_cases():
    y = np.zeros((2, 6, 6), np.uint8)
    y[1, 1:4, 2:5] = 1
    return {
        "both empty": (np.zeros_like(y), np.zeros(y.shape)),
        "all building, perfect": (np.ones_like(y), np.ones(y.shape)),
        "perfect": (y, y.astype(float)),
        "inverted": (y, 1.0 - y),
        "empty truth, some predicted": (np.zeros_like(y), y.astype(float)),
        "buildings, none predicted": (y, np.zeros(y.shape)),
    }


# --- numpy -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.8])
def test_scores_match_set_formulas_on_random_inputs(seed, threshold):
    y, p = random_batch(seed)
    expected = direct_scores(y, p, threshold)
    for name, score in SCORES.items():
        assert score(y, p, threshold) == pytest.approx(expected[name], rel=1e-12)


@pytest.mark.parametrize("case", list(edge_cases()))
def test_scores_match_set_formulas_on_edge_cases(case):
    y, p = edge_cases()[case]
    expected = direct_scores(y, p)
    for name, score in SCORES.items():
        assert score(y, p) == expected[name], name


def test_edge_case_values_by_hand():
    cases = edge_cases()
    for case in ("both empty", "all building, perfect", "perfect"):
        assert scores_from_counts(confusion_counts(*cases[case])) == {
            "accuracy": 1.0, "precision": 1.0, "recall": 1.0, "dice": 1.0, "iou": 1.0}
    assert scores_from_counts(confusion_counts(*cases["inverted"])) == {
        "accuracy": 0.0, "precision": 0.0, "recall": 0.0, "dice": 0.0, "iou": 0.0}
    nothing_found = scores_from_counts(confusion_counts(*cases["buildings, none predicted"]))
    assert nothing_found["precision"] == 1.0          # empty convention: no false alarm
    assert nothing_found["recall"] == nothing_found["dice"] == 0.0
    false_alarms = scores_from_counts(confusion_counts(*cases["empty truth, some predicted"]))
    assert false_alarms["recall"] == 1.0               # empty convention: nothing to find
    assert false_alarms["precision"] == false_alarms["dice"] == 0.0


def test_confusion_counts_are_python_ints_that_add_up():
    y, p = random_batch(3)
    counts = confusion_counts(y, p)
    assert set(counts) == {"tp", "fp", "fn", "tn"}
    assert all(type(value) is int for value in counts.values())
    assert sum(counts.values()) == y.size
    assert counts["tp"] == int(((y == 1) & (p > 0.5)).sum())
    assert counts["fp"] == int(((y == 0) & (p > 0.5)).sum())
    assert counts["fn"] == int(((y == 1) & (p <= 0.5)).sum())
    assert counts["tn"] == int(((y == 0) & (p <= 0.5)).sum())


def test_threshold_itself_is_background():
    assert confusion_counts([1, 0, 1], [0.5, 0.5, 0.51]) == {"tp": 1, "fp": 0, "fn": 1, "tn": 1}


def test_scores_from_counts_by_hand():
    scores = scores_from_counts({"tp": 3, "fp": 1, "fn": 2, "tn": 14})
    assert scores == {"accuracy": 17 / 20, "precision": 3 / 4, "recall": 3 / 5,
                      "dice": 6 / 9, "iou": 3 / 6}


def test_a_trailing_channel_is_allowed():
    y, p = random_batch(4)
    assert confusion_counts(y[..., None], p) == confusion_counts(y, p[..., None])


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="same shape"):
        confusion_counts(np.zeros((2, 4)), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="y_true must hold only 0 and 1"):
        dice_score(np.array([0.0, 0.4]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="y_pred_binary must hold only 0 and 1"):
        error_map_masks(np.array([0, 1]), np.array([0.2, 0.9]))


def test_error_map_masks():
    y = np.array([[1, 1], [0, 0]])
    pred = np.array([[1, 0], [1, 0]])
    masks = error_map_masks(y, pred)
    np.testing.assert_array_equal(masks["tp"], [[True, False], [False, False]])
    np.testing.assert_array_equal(masks["fn"], [[False, True], [False, False]])
    np.testing.assert_array_equal(masks["fp"], [[False, False], [True, False]])
    np.testing.assert_array_equal(masks["tn"], [[False, False], [False, True]])
    y, p = random_batch(5, n=1)
    masks = error_map_masks(y[0], p[0] > 0.5)
    assert all(mask.dtype == bool and mask.shape == (8, 8) for mask in masks.values())
    np.testing.assert_array_equal(sum(m.astype(int) for m in masks.values()), 1)
    counts = confusion_counts(y[0], p[0])
    assert {key: int(mask.sum()) for key, mask in masks.items()} == counts


# --- Keras -----------------------------------------------------------------------


def test_dice_metric_is_the_thresholded_dice_of_one_batch():
    y, p = random_batch(6)
    assert float(dice_metric(y[..., None], p[..., None])) == pytest.approx(dice_score(y, p))
    empty = np.zeros((2, 4, 4, 1), np.float32)
    assert float(dice_metric(empty, empty + 0.2)) == 1.0


@pytest.mark.parametrize("name", list(CLASSES))
def test_dataset_metric_equals_numpy_on_concatenated_batches(name):
    metric = CLASSES[name]()
    batches = [random_batch(seed, n=2) for seed in (10, 11, 12)]
    for y, p in batches:
        metric.update_state(y[..., None].astype(np.float32), p[..., None])
    y_all = np.concatenate([y for y, _ in batches])
    p_all = np.concatenate([p for _, p in batches])
    assert metric.name == name
    assert float(metric.result()) == pytest.approx(direct_scores(y_all, p_all)[name], rel=1e-6)
    metric.reset_state()
    assert [int(v) for v in (metric.tp, metric.fp, metric.fn, metric.tn)] == [0, 0, 0, 0]
    assert float(metric.result()) == 1.0                 # nothing seen: empty convention


def test_dataset_dice_is_not_the_mean_of_batch_dice():
    small = np.zeros((1, 8, 8, 1), np.float32)
    small[0, 0, 0] = 1.0                                  # one building pixel, missed
    large = np.zeros((1, 8, 8, 1), np.float32)
    large[0, :, :4] = 1.0                                 # 32 building pixels, all found
    batches = [(small, np.zeros_like(small)), (large, large.copy())]
    metric = DatasetDice()
    for y, p in batches:
        metric.update_state(y, p)
    per_batch = [float(dice_metric(y, p)) for y, p in batches]
    assert per_batch == [0.0, 1.0]
    assert float(metric.result()) == pytest.approx(64 / 65)     # 2*32 / (2*32 + 0 + 1)
    assert float(metric.result()) != pytest.approx(np.mean(per_batch))


def test_counts_are_int64_and_do_not_round():
    metric = DatasetDice()
    assert all(v.dtype == "int64" for v in (metric.tp, metric.fp, metric.fn, metric.tn))
    metric.tp.assign(2**40)                               # far beyond float32's 2**24
    metric.update_state(np.ones((1, 2, 2, 1), np.float32), np.ones((1, 2, 2, 1), np.float32))
    assert int(metric.tp.numpy()) == 2**40 + 4


def test_metrics_accumulate_over_a_whole_evaluate():
    y, p = random_batch(7, n=10)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Identity()])
    model.compile(loss="mse", metrics=dataset_metrics())
    got = model.evaluate(p[..., None], y[..., None].astype(np.float32), batch_size=3,
                         verbose=0, return_dict=True)
    expected = direct_scores(y, p)
    for name in CLASSES:
        assert got[name] == pytest.approx(expected[name], rel=1e-6), name


def test_dataset_metrics_and_config_round_trip():
    assert [m.name for m in dataset_metrics()] == ["dice", "iou", "precision", "recall", "accuracy"]
    metric = DatasetIoU(threshold=0.3, name="iou_30")
    copy = DatasetIoU.from_config(metric.get_config())
    assert (copy.name, copy.threshold) == ("iou_30", 0.3)
    y, p = random_batch(8)
    copy.update_state(y.astype(np.float32), p)
    assert float(copy.result()) == pytest.approx(direct_scores(y, p, 0.3)["iou"], rel=1e-6)


def test_dataset_metric_rejects_bad_arguments():
    with pytest.raises(ValueError, match="threshold"):
        DatasetDice(threshold=1.5)
    with pytest.raises(ValueError, match="sample_weight"):
        DatasetDice().update_state(np.ones((1, 2)), np.ones((1, 2)), sample_weight=np.ones(1))
