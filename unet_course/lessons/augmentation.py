"""Seeing and checking data augmentation, and comparing runs with and without it (lesson 9).

:func:`unet_course.data.augment_pair` is the augmentation itself: a random
flip and quarter turn applied to the image *and* its mask, brightness and
contrast applied to the image only. Lesson 9 "Data augmentation" shows it
and checks it:

- :func:`dihedral` applies one of the eight flips and quarter turns of a
  square (the *dihedral group*) with numpy;
- :func:`matching_transform` finds which of them turns the original image
  into the augmented one (brightness and contrast change values, not
  positions, so the right one correlates almost perfectly);
- :func:`augmented_examples` and :func:`plot_augmented_pairs` draw augmented
  tiles with their masks' outlines on top;
- :func:`compare_scores` and :func:`plot_validation_curves` put two training
  runs side by side.

Examples
--------
>>> import numpy as np
>>> a = np.arange(4).reshape(2, 2)
>>> dihedral(a, "rot90").tolist()
[[1, 3], [0, 2]]
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "DIHEDRAL",
    "dihedral",
    "matching_transform",
    "augmented_examples",
    "plot_augmented_pairs",
    "compare_scores",
    "plot_validation_curves",
]

#: The eight flips and quarter turns of a square: a left-right flip (or not)
#: followed by 0 to 3 counter-clockwise quarter turns, as ``augment_pair`` does them.
DIHEDRAL = ("identity", "rot90", "rot180", "rot270", "flip", "flip+rot90", "flip+rot180", "flip+rot270")


def dihedral(array, name):
    """Apply one of :data:`DIHEDRAL` to the first two axes of ``array``.

    ``"flip"`` is a left-right flip (``tf.image.flip_left_right``);
    ``"rotK"`` is K quarter turns counter-clockwise (``tf.image.rot90``).

    Parameters
    ----------
    array : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)``.
    name : str
        One of :data:`DIHEDRAL`.

    Returns
    -------
    numpy.ndarray
    """
    if name not in DIHEDRAL:
        raise ValueError(f"name must be one of {', '.join(DIHEDRAL)}, got {name!r}")
    out = np.asarray(array)
    if out.ndim < 2:
        raise ValueError(f"array must have at least 2 dimensions (H, W), got shape {out.shape}")
    if name.startswith("flip"):
        out = out[:, ::-1]
    turns = {"rot90": 1, "rot180": 2, "rot270": 3}.get(name.split("+")[-1], 0)
    return np.rot90(out, k=turns, axes=(0, 1))


def matching_transform(original, augmented):
    """Which of :data:`DIHEDRAL` turns ``original`` into ``augmented``, and how well.

    Compares by correlation, so changes of brightness and contrast (which
    ``augment_pair`` makes to images) do not hide the geometric transform.

    Parameters
    ----------
    original, augmented : numpy.ndarray
        Square ``(S, S)`` or ``(S, S, C)`` arrays.

    Returns
    -------
    (str, float)
        The best transform and its correlation (1.0 for a perfect match; 0.0
        when the arrays have no variation).
    """
    a, b = np.asarray(original, dtype=np.float64), np.asarray(augmented, dtype=np.float64)
    if a.shape != b.shape or a.ndim < 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"original and augmented must be square arrays of one shape, "
                         f"got {a.shape} and {b.shape}")
    scores = {}
    target = b.ravel()
    for name in DIHEDRAL:
        candidate = dihedral(a, name).ravel()
        if candidate.std() == 0 or target.std() == 0:
            scores[name] = 0.0
        else:
            scores[name] = float(np.corrcoef(candidate, target)[0, 1])
    best = max(DIHEDRAL, key=lambda name: scores[name])   # first of equals wins
    return best, scores[best]


def augmented_examples(image, mask, seeds):
    """Augment one tile with :func:`unet_course.data.augment_pair`, once per seed.

    Parameters
    ----------
    image : numpy.ndarray
        uint8 ``(S, S, 3)``.
    mask : numpy.ndarray
        0/1 ``(S, S)``.
    seeds : iterable of int
        One augmentation per seed (the pair ``(seed, 0)`` goes to ``augment_pair``).

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        Images float32 ``(S, S, 3)`` in [0, 1] and masks float32 ``(S, S)``.
    """
    from unet_course.data import augment_pair, scale_image

    image = np.asarray(image)
    mask = np.asarray(mask)
    if image.ndim != 3 or mask.shape != image.shape[:2]:
        raise ValueError(f"image must be (H, W, 3) and mask (H, W) of the same size, "
                         f"got {image.shape} and {mask.shape}")
    scaled = scale_image(image)
    as_float = mask.astype(np.float32)[..., np.newaxis]
    examples = []
    for seed in seeds:
        out_image, out_mask = augment_pair(scaled, as_float, (int(seed), 0))
        examples.append((np.asarray(out_image), np.asarray(out_mask)[..., 0]))
    return examples


def plot_augmented_pairs(image, mask, seeds=range(5)):
    """The original tile and augmented versions, each with its mask (lesson 9).

    Top row: images with the outline of their own mask drawn on top, titled
    with the transform :func:`matching_transform` finds. Bottom row: the masks.

    Parameters
    ----------
    image : numpy.ndarray
        uint8 ``(S, S, 3)``.
    mask : numpy.ndarray
        0/1 ``(S, S)``.
    seeds : iterable of int, default range(5)

    Returns
    -------
    matplotlib.figure.Figure
    """
    examples = augmented_examples(image, mask, seeds)
    original = np.asarray(image, dtype=np.float32) / 255.0
    columns = [("original", original, np.asarray(mask, dtype=np.float32))]
    for n, (aug_image, aug_mask) in enumerate(examples):
        name, _ = matching_transform(original, aug_image)
        columns.append((f"augmented {n + 1}: {name}", aug_image, aug_mask))
    fig = Figure(figsize=(2.4 * len(columns), 5.0), layout="constrained")
    axes = fig.subplots(2, len(columns), squeeze=False)
    for c, (title, shown, outline) in enumerate(columns):
        axes[0, c].imshow(shown)
        if outline.any() and not outline.all():
            axes[0, c].contour(outline, levels=[0.5], colors="#00e5ff", linewidths=0.8)
        axes[1, c].imshow(outline, cmap="gray", vmin=0, vmax=1)
        axes[0, c].set_title(title, fontsize=8)
        for ax in axes[:, c]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("image + mask outline", fontsize=8)
    axes[1, 0].set_ylabel("mask", fontsize=8)
    return fig


_SCORE_KEYS = ("accuracy", "precision", "recall", "dice", "iou")


def compare_scores(results, keys=_SCORE_KEYS):
    """A text table of scores of several runs, with the change from the first run.

    Parameters
    ----------
    results : dict
        ``{label: metrics}``, metrics as :func:`unet_course.evaluate.evaluate_model`
        returns them. The first entry is the reference.
    keys : sequence of str

    Returns
    -------
    str
        One row per score, in percent; the last column is last run minus first,
        in percentage points.
    """
    if len(results) < 2:
        raise ValueError(f"compare_scores needs at least two runs, got {len(results)}")
    labels = list(results)
    for label in labels:
        missing = [key for key in keys if key not in results[label]]
        if missing:
            raise ValueError(f"run {label!r} lacks scores {missing}")
    width = max(12, *(len(label) + 2 for label in labels))
    lines = [f"{'score':<12}" + "".join(f"{label:>{width}}" for label in labels) + f"{'change':>12}"]
    for key in keys:
        values = [float(results[label][key]) for label in labels]
        cells = "".join(f"{100 * value:>{width - 2}.1f} %" for value in values)
        lines.append(f"{key:<12}{cells}{100 * (values[-1] - values[0]):>+9.1f} pt")
    return "\n".join(lines)


def plot_validation_curves(histories, keys=("val_loss", "val_dice")):
    """Validation curves of several runs, one panel per key (lesson 9).

    Parameters
    ----------
    histories : dict
        ``{label: history}`` (``TrainResult.history`` or ``model.fit(...).history``).
    keys : sequence of str, default ("val_loss", "val_dice")

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not histories:
        raise ValueError("histories is empty; pass {label: history} for at least one run")
    fig = Figure(figsize=(5 * len(keys), 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(keys)))
    for ax, key in zip(axes, keys):
        for label, history in histories.items():
            if key not in history:
                raise ValueError(f"run {label!r} has no {key!r} (keys: {sorted(history)})")
            values = np.asarray(history[key], dtype=np.float64)
            epochs = np.arange(1, len(values) + 1)
            line, = ax.plot(epochs, values, marker="o", markersize=4, label=label)
            best = int(np.nanargmin(values) if "loss" in key else np.nanargmax(values))
            ax.plot(epochs[best], values[best], marker="*", markersize=12, color=line.get_color())
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_title(key.replace("val_", "validation "))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig
