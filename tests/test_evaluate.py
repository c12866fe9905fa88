"""Lesson 8's evaluation: scores summed over the test set, the seed's table, worst tiles."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from unet_course import evaluate
from unet_course.data import TileSet
from unet_course.model import build_unet


def counts_by_hand(masks, probs, threshold=0.5):
    """Independent plain-numpy counts over every pixel of every tile."""
    truth, predicted = np.asarray(masks) == 1, np.asarray(probs) > threshold
    return {"tp": int((truth & predicted).sum()), "fp": int((~truth & predicted).sum()),
            "fn": int((truth & ~predicted).sum()), "tn": int((~truth & ~predicted).sum())}


def two_tiles():
    """Tile 0: a big building half found; tile 1: a small building found, two false pixels."""
    masks = np.zeros((2, 4, 4), np.uint8)
    probs = np.zeros((2, 4, 4), np.float32)
    masks[0, :2] = 1           # 8 building pixels
    probs[0, 0] = 0.9          # 4 found, 4 missed
    masks[1, 0, 0] = 1         # 1 building pixel
    probs[1, 0, :3] = 0.7      # found, plus 2 false alarms
    return masks, probs


def test_scores_are_summed_over_the_test_set_not_averaged():
    masks, probs = two_tiles()
    scores = evaluate.score_predictions(masks, probs)
    by_hand = counts_by_hand(masks, probs)
    assert {key: scores[key] for key in by_hand} == by_hand == {"tp": 5, "fp": 2, "fn": 4, "tn": 21}
    assert scores["dice"] == pytest.approx(2 * 5 / (2 * 5 + 2 + 4))
    assert scores["iou"] == pytest.approx(5 / (5 + 2 + 4))
    assert scores["precision"] == pytest.approx(5 / 7)
    assert scores["recall"] == pytest.approx(5 / 9)
    assert scores["accuracy"] == pytest.approx(26 / 32)
    mean_of_tiles = np.mean([2 * 4 / (2 * 4 + 4), 2 * 1 / (2 * 1 + 2)])
    assert scores["dice"] != pytest.approx(mean_of_tiles)
    assert scores["all_background_accuracy"] == pytest.approx(1 - 9 / 32)


@pytest.mark.parametrize("case", ["perfect", "inverted", "all building", "empty"])
def test_edge_cases(case):
    masks = np.zeros((3, 8, 8), np.uint8)
    masks[:, 2:5, 3:7] = 1
    if case == "all building":
        masks[:] = 1
    if case == "empty":
        masks[:] = 0
    probs = 1.0 - masks if case == "inverted" else masks.astype(np.float32)
    scores = evaluate.score_predictions(masks, probs)
    background = 1.0 - masks.mean()
    assert scores["all_background_accuracy"] == pytest.approx(background)
    if case == "inverted":
        assert scores["dice"] == 0.0 and scores["accuracy"] == 0.0 and scores["recall"] == 0.0
    else:  # perfect; an empty mask predicted empty is perfect by the empty convention
        assert scores["dice"] == scores["iou"] == scores["accuracy"] == 1.0


def test_all_background_accuracy():
    assert evaluate.all_background_accuracy(np.array([[0, 0, 0, 1]])) == 0.75
    assert evaluate.all_background_accuracy(np.ones((2, 3, 3), np.uint8)) == 0.0
    assert evaluate.all_background_accuracy(np.zeros((2, 3, 3), np.uint8)) == 1.0


def test_metrics_table_sits_beside_the_seed():
    masks, probs = two_tiles()
    table = evaluate.metrics_table(evaluate.score_predictions(masks, probs))
    lines = table.splitlines()
    assert lines[0].split() == ["score", "this", "run", "seed", "(published)"]
    rows = {line[:24].strip(): line[24:].split(" %") for line in lines[1:] if not line.startswith("  ")}
    assert list(rows) == ["accuracy", "precision", "recall", "Dice", "F1 of precision, recall", "IoU",
                          "all-background accuracy"]
    assert float(rows["Dice"][0]) == pytest.approx(100 * 10 / 16, abs=0.05)
    assert float(rows["F1 of precision, recall"][0]) == float(rows["Dice"][0])
    assert [float(rows[k][1]) for k in ("accuracy", "precision", "recall", "Dice")] == [94.7, 75.2, 78.9, 76.7]
    assert rows["IoU"][1].strip() == "-"
    assert evaluate.SEED_RESULTS == {"accuracy": 0.947, "precision": 0.752, "recall": 0.789, "dice": 0.767}
    # the seed's derived rows: F1 of its own precision and recall, baseline under its truncate labels
    assert float(rows["F1 of precision, recall"][1]) == 77.0
    assert float(rows["all-background accuracy"][1]) == 88.7
    notes = [line for line in lines if line.startswith("  ")]
    assert any("Dice 76.7 % < F1 77.0 %" in line for line in notes)
    assert any("'truncate' labels" in line and "86.6% under 'threshold'" in line for line in notes)


def test_seed_comparison_by_hand():
    seed = evaluate.seed_comparison()
    precision, recall = 0.752, 0.789
    assert seed["f1"] == pytest.approx(2 * precision * recall / (precision + recall))
    assert round(100 * seed["f1"], 1) == 77.0 and seed["dice"] == 0.767
    assert seed["all_background_accuracy"] == pytest.approx(1 - 0.113)
    assert evaluate.SEED_LABEL_RULE == "truncate"
    assert evaluate.f1_score(0.0, 0.0) == 0.0 and evaluate.f1_score(1.0, 1.0) == 1.0


def test_f1_of_summed_counts_is_the_dice():
    masks, probs = two_tiles()
    scores = evaluate.score_predictions(masks, probs)
    assert scores["f1"] == pytest.approx(scores["dice"])


def test_worst_tiles_ranks_by_tile_dice():
    masks = np.zeros((4, 4, 4), np.uint8)
    masks[:, :2] = 1
    probs = masks.astype(np.float32).copy()
    probs[1] = 0.0                      # Dice 0
    probs[3, 0] = 0.0                   # half found: Dice 2/3
    probs[2] = 1.0                      # everything building: Dice 2*8/(16+8) = 2/3
    np.testing.assert_allclose(evaluate.tile_dice(masks, probs), [1.0, 0.0, 2 / 3, 2 / 3])
    np.testing.assert_array_equal(evaluate.worst_tiles(masks, probs, k=3), [1, 2, 3])  # ties keep order
    assert len(evaluate.worst_tiles(masks, probs, k=10)) == 4
    masks[1] = 0                        # empty, nothing predicted: Dice 1
    masks[0] = 0                        # empty, 8 pixels predicted: Dice 0
    np.testing.assert_array_equal(evaluate.worst_tiles(masks, probs, k=2), [0, 2])
    np.testing.assert_array_equal(evaluate.worst_tiles(masks, probs, k=3, with_buildings=True), [2, 3])
    with pytest.raises(ValueError, match="k must be"):
        evaluate.worst_tiles(masks, probs, k=-1)


@pytest.fixture(scope="module")
def small_model_and_tiles():
    keras.utils.set_random_seed(3)
    model = build_unet((32, 32, 3), filters=2)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    masks = (rng.random((5, 32, 32)) < 0.2).astype(np.uint8)
    return model, TileSet(images, masks, [f"t{i}" for i in range(5)], np.zeros((5, 2)))


def test_predictions_match_the_model_on_scaled_images(small_model_and_tiles):
    model, tiles = small_model_and_tiles
    probs = evaluate.predict_probabilities(model, tiles, batch_size=2)
    direct = model.predict(tiles.images.astype(np.float32) / 255.0, verbose=0)[..., 0]
    assert probs.shape == (5, 32, 32) and probs.dtype == np.float32
    np.testing.assert_allclose(probs, direct, atol=1e-5)
    scores = evaluate.evaluate_model(model, tiles)
    assert {k: scores[k] for k in ("tp", "fp", "fn", "tn")} == counts_by_hand(tiles.masks, direct)


def test_load_trained_model(small_model_and_tiles, tmp_path):
    model, tiles = small_model_and_tiles
    model.save(tmp_path / "best.keras")
    loaded = evaluate.load_trained_model(tmp_path)  # a run folder holding best.keras
    np.testing.assert_allclose(loaded.predict(tiles.images[:2] / 255.0, verbose=0),
                               model.predict(tiles.images[:2] / 255.0, verbose=0), atol=1e-6)
    with pytest.raises(FileNotFoundError, match="unet-course train"):
        evaluate.load_trained_model(tmp_path / "missing")
