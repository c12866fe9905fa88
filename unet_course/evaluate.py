"""Evaluation on the test tiles, beside the seed's numbers (lesson 8 "Evaluation and error maps").

The seed reported, on its random test split of the real tiles: accuracy
94.7 %, precision 75.2 %, recall 78.9 %, Dice 76.7 %. :func:`evaluate_model`
computes the same scores for any model and tile set, **summed over the whole
test set**: the four pixel counts (TP, FP, FN, TN) of every tile are added
first and the scores computed once, with :mod:`unet_course.metrics`.

Three numbers put them in context (:func:`seed_comparison`). The
*all-background accuracy* is what a model that never predicts a building
scores (lesson 2 "Class imbalance"). The seed truncated its fractional
labels (``label.astype(np.uint8)``, lesson 1), which leaves 11.3 % building
pixels, so its baseline is 88.7 % (86.6 % under the course's ``threshold``
rule): 94.7 % accuracy is 6 points above predicting nothing. The *F1 of the
seed's own precision and recall*, 2PR / (P + R) = 77.0 %, is what its Dice
would be from counts summed over the test set; its reported 76.7 % is
lower because Keras averaged the per-batch Dice of its metric (lesson 8).
Here both are computed from the summed counts, so they are equal. And the
*worst tiles*, ranked by their own Dice, show where the model fails.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from unet_course.backend import keras
from unet_course.data import make_dataset
from unet_course.metrics import accuracy_score, confusion_counts, scores_from_counts, tile_dice

__all__ = [
    "SEED_RESULTS", "SEED_LABEL_RULE", "REAL_BUILDING_FRACTION", "f1_score", "seed_comparison",
    "predict_probabilities", "all_background_accuracy", "score_predictions",
    "evaluate_model", "metrics_table", "tile_dice", "worst_tiles", "load_trained_model",
]

#: The seed's published test scores (random split of the real tiles, 256 px, base 32).
SEED_RESULTS = {"accuracy": 0.947, "precision": 0.752, "recall": 0.789, "dice": 0.767}

#: The label rule behind the seed's numbers: its ``label.astype(np.uint8)`` truncated (lesson 1).
SEED_LABEL_RULE = "truncate"

#: Building share of the real tiles under each label rule (data/README.md, "Label rules").
REAL_BUILDING_FRACTION = {"threshold": 0.134, "truncate": 0.113}

_ROWS = [
    ("accuracy", "accuracy"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("dice", "Dice"),
    ("f1", "F1 of precision, recall"),
    ("iou", "IoU"),
    ("all_background_accuracy", "all-background accuracy"),
]


def f1_score(precision, recall):
    """The harmonic mean 2PR / (P + R) of a precision and a recall (lesson 8); 0 when both are 0.

    From counts summed over a test set it equals the Dice of those counts:
    2PR / (P + R) = 2 tp / (2 tp + fp + fn).

    Examples
    --------
    >>> round(f1_score(0.752, 0.789), 3)     # the seed's precision and recall
    0.77
    """
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def seed_comparison():
    """The seed's published scores and the two numbers derived from them (lessons 2 and 8).

    Returns
    -------
    dict
        :data:`SEED_RESULTS`, plus ``f1`` (the F1 of its precision and recall,
        77.0 %, against its Dice of 76.7 %) and ``all_background_accuracy``
        under the seed's own label rule, :data:`SEED_LABEL_RULE` (88.7 %).
    """
    return {**SEED_RESULTS,
            "f1": f1_score(SEED_RESULTS["precision"], SEED_RESULTS["recall"]),
            "all_background_accuracy": 1.0 - REAL_BUILDING_FRACTION[SEED_LABEL_RULE]}


def predict_probabilities(model, tiles, batch_size=8, precision=None):
    """Building probability of every pixel of every tile.

    Lesson 8 "Evaluation and error maps". The images go through the same
    ``make_dataset`` pipeline as in training (scaled to [0, 1]), in order.
    The model predicts in the precision measured fastest on this machine
    (:func:`unet_course.accelerator.inference_model`).

    Parameters
    ----------
    model : keras.Model
        A U-Net whose input size matches the tiles.
    tiles : unet_course.data.TileSet
        ``images`` uint8 ``(N, H, W, 3)``.
    batch_size : int, default 8
        Tiles per prediction step.
    precision : str, optional
        A dtype policy to predict in (``"float32"``, ``"mixed_bfloat16"``);
        default: the machine's measured choice.

    Returns
    -------
    numpy.ndarray
        float32 ``(N, H, W)`` in [0, 1].
    """
    from unet_course.accelerator import inference_model

    dataset = make_dataset(tiles, batch_size=batch_size, shuffle=False, augment=False, cache=False)
    probs = inference_model(model, precision).predict(dataset, verbose=0)
    return np.asarray(probs, dtype=np.float32).reshape(tiles.masks.shape)


def all_background_accuracy(masks):
    """Accuracy of a model that predicts "no building" everywhere (lessons 2 and 8).

    Parameters
    ----------
    masks : numpy.ndarray
        0/1 building masks of any shape.

    Returns
    -------
    float
        The fraction of background pixels; 1.0 for no pixels at all.

    Examples
    --------
    >>> all_background_accuracy(np.array([[0, 0, 0, 1]]))
    0.75
    """
    masks = np.asarray(masks)
    return accuracy_score(masks, np.zeros(masks.shape, dtype=np.float32))


def score_predictions(masks, probs, threshold=0.5):
    """Test scores of probabilities against masks, counts summed over all tiles.

    Lesson 8 "Evaluation and error maps": the Dice of a test set is
    ``2 sum(tp) / (2 sum(tp) + sum(fp) + sum(fn))``, not a mean of tile Dice.

    Parameters
    ----------
    masks : numpy.ndarray
        0/1 ``(N, H, W)``.
    probs : numpy.ndarray
        Building probabilities, the same shape.
    threshold : float, default 0.5
        A pixel is building when its probability is greater than this.

    Returns
    -------
    dict
        ``accuracy``, ``precision``, ``recall``, ``dice``, ``f1`` (of the
        precision and recall: equal to ``dice``), ``iou``,
        ``all_background_accuracy`` (floats) and ``tp``, ``fp``, ``fn``, ``tn`` (ints).
    """
    counts = confusion_counts(masks, probs, threshold)
    scores = scores_from_counts(counts)
    return {**scores, "f1": f1_score(scores["precision"], scores["recall"]),
            "all_background_accuracy": all_background_accuracy(masks), **counts}


def evaluate_model(model, tiles, threshold=0.5, batch_size=8):
    """Predict the tiles and score the predictions (lesson 8).

    Parameters
    ----------
    model : keras.Model
        A trained U-Net.
    tiles : unet_course.data.TileSet
        Usually the test split.
    threshold : float, default 0.5
        Probability above which a pixel counts as building.
    batch_size : int, default 8
        Tiles per prediction step.

    Returns
    -------
    dict
        See :func:`score_predictions`.
    """
    return score_predictions(tiles.masks, predict_probabilities(model, tiles, batch_size), threshold)


def _percent(value):
    return "-" if value is None else f"{100 * value:5.1f} %"


def metrics_table(metrics, reference=None):
    """A plain-text table of test scores beside the seed's (lesson 8).

    Parameters
    ----------
    metrics : dict
        What :func:`evaluate_model` returns (missing rows are skipped).
    reference : dict, optional
        Scores to compare with; rows it lacks show ``-``. By default
        :func:`seed_comparison`: the seed's published scores, the F1 of its
        precision and recall, and its all-background accuracy under its own
        ``truncate`` labels, with a note under the table saying what the two
        derived rows mean.

    Returns
    -------
    str
        One line per score, in percent.

    Examples
    --------
    >>> print(metrics_table({"dice": 0.5}, reference=SEED_RESULTS))
    score                     this run   seed (published)
    Dice                        50.0 %         76.7 %
    """
    seed = reference is None
    reference = seed_comparison() if seed else reference
    width = max(len(label) for _, label in _ROWS) + 1
    lines = [f"{'score':<{width}}{'this run':>10}{'seed (published)':>19}"]
    shown = set()
    for key, label in _ROWS:
        if key in metrics:
            shown.add(key)
            lines.append(f"{label:<{width}}{_percent(metrics[key]):>10}"
                         f"{_percent(reference.get(key)):>15}")
    if seed and "f1" in shown:
        lines.append(f"  seed: Dice {_percent(reference['dice']).strip()} < F1 "
                     f"{_percent(reference['f1']).strip()}: its Dice was a mean of per-batch "
                     "values (lesson 8);\n  this run sums the counts over all tiles, so its Dice "
                     "and F1 are equal")
    if seed and "all_background_accuracy" in shown:
        lines.append(f"  seed: all-background accuracy of its '{SEED_LABEL_RULE}' labels "
                     f"({REAL_BUILDING_FRACTION[SEED_LABEL_RULE]:.1%} building; "
                     f"{1 - REAL_BUILDING_FRACTION['threshold']:.1%} under 'threshold', lesson 2)")
    return "\n".join(lines)


def worst_tiles(masks, probs, k=4, threshold=0.5, with_buildings=False):
    """Indices of the ``k`` tiles with the lowest Dice, worst first (lesson 8).

    Ties keep the tiles' order. A tile without buildings scores Dice 0 as
    soon as one pixel is predicted building, so such tiles often lead the
    list; ``with_buildings=True`` ranks only tiles that have buildings.

    Parameters
    ----------
    masks : numpy.ndarray
        0/1 ``(N, H, W)``.
    probs : numpy.ndarray
        Building probabilities, the same shape.
    k : int, default 4
        How many (at most ``N``).
    threshold : float, default 0.5
        Probability above which a pixel counts as building.
    with_buildings : bool, default False
        Skip tiles whose mask is empty.

    Returns
    -------
    numpy.ndarray
        int, at most ``k`` indices.
    """
    if k < 0:
        raise ValueError(f"k must be 0 or more, got {k}")
    order = np.argsort(tile_dice(masks, probs, threshold), kind="stable")
    if with_buildings:
        order = order[np.asarray(masks)[order].reshape(len(order), -1).any(axis=1)]
    return order[:k]


def load_trained_model(path):
    """Load a model saved by training, without its training settings (lesson 8).

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.keras`` file, or a run folder holding ``best.keras``.

    Returns
    -------
    keras.Model
        Ready for ``predict``; compile it again to train further.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "best.keras"
    if not path.is_file():
        raise FileNotFoundError(
            f"no trained model at {path}: expected the best.keras that `unet-course train` "
            "(or train_unet) writes into its output folder"
        )
    return keras.models.load_model(path, compile=False)
