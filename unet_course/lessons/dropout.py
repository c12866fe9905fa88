"""Spatial dropout next to ordinary dropout, and how to measure what it does (lesson 5).

Lesson 5 "Spatial dropout" asks two questions.

*What does it drop?* ``keras.layers.Dropout`` zeroes single values;
``keras.layers.SpatialDropout2D`` zeroes whole feature maps (channels). Both
scale the survivors by ``1 / (1 - rate)`` during training and do nothing at
inference. :func:`first_layer_features`, :func:`apply_dropout`,
:func:`dropped_mask`, :func:`neighbour_correlation` and
:func:`plot_dropout_comparison` show the difference on a tile's feature maps:
neighbouring values of a feature map are strongly correlated, so a single
zeroed value is easy to guess from its neighbours, a zeroed map is not.

*What does it do to training?* The training loss Keras prints is measured
with dropout switched on, the validation loss with it off, so their gap mixes
over-fitting with dropout's own noise. :class:`DropoutOffLoss` measures the
training tiles' loss with dropout off after each epoch;
:func:`generalization_gap` and :func:`plot_dropout_runs` compare runs.

Examples
--------
>>> import numpy as np
>>> features = np.ones((8, 8, 4), dtype="float32")
>>> dropped = apply_dropout(features, 0.5, kind="spatial", seed=1)
>>> np.unique(dropped).tolist()
[0.0, 2.0]
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from unet_course.backend import keras
from unet_course.validate import probability
from unet_course.viz import CATEGORICAL

__all__ = [
    "KINDS",
    "GAP_KEY",
    "first_layer_features",
    "apply_dropout",
    "dropped_mask",
    "neighbour_correlation",
    "plot_dropout_comparison",
    "DropoutOffLoss",
    "generalization_gap",
    "plot_dropout_runs",
]

#: The two kinds of dropout lesson 5 compares, and the Keras layer of each.
KINDS = {"regular": keras.layers.Dropout, "spatial": keras.layers.SpatialDropout2D}

#: The history key :class:`DropoutOffLoss` writes.
GAP_KEY = "train_loss_dropout_off"


def _check_rate(rate):
    """Raise ``ValueError`` unless ``0 <= rate < 1``."""
    probability(rate, "rate", upper_open=True)


def _check_features(features, name="features"):
    """Return ``features`` as float32 ``(H, W, C)`` or raise ``ValueError``."""
    array = np.asarray(features, dtype=np.float32)
    if array.ndim != 3:
        raise ValueError(f"{name} must be feature maps of shape (H, W, C), got shape {array.shape}")
    return array


def first_layer_features(image, filters=8, seed=0):
    """Feature maps of one untrained 3x3 convolution (relu, lecun_normal) over a tile.

    What the U-Net's first ``SpatialDropout2D`` receives at the start of
    training; lesson 5 drops parts of them.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)``, uint8 0..255 or float in [0, 1].
    filters : int, default 8
        Number of feature maps.
    seed : int, default 0
        Seed of the convolution's weights.

    Returns
    -------
    numpy.ndarray
        float32 ``(H, W, filters)``, all values >= 0.
    """
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {array.shape}")
    scaled = array.astype(np.float32) / (255.0 if array.dtype == np.uint8 else 1.0)
    conv = keras.layers.Conv2D(
        filters, (3, 3), padding="same", activation="relu",
        kernel_initializer=keras.initializers.LecunNormal(seed=seed),
        bias_initializer="zeros",
    )
    return np.asarray(conv(scaled[np.newaxis]))[0]


def apply_dropout(features, rate, kind="spatial", seed=0, training=True):
    """Apply Keras' ``Dropout`` or ``SpatialDropout2D`` to feature maps.

    Parameters
    ----------
    features : numpy.ndarray
        ``(H, W, C)``.
    rate : float
        Fraction to drop, in [0, 1).
    kind : {"spatial", "regular"}, default "spatial"
        ``"spatial"``: ``SpatialDropout2D`` (whole maps); ``"regular"``:
        ``Dropout`` (single values).
    seed : int, default 0
        Seed of the random choice.
    training : bool, default True
        Dropout acts only in training; ``False`` returns the input unchanged.

    Returns
    -------
    numpy.ndarray
        float32, the shape of ``features``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    _check_rate(rate)
    array = _check_features(features)
    layer = KINDS[kind](rate, seed=seed)
    return np.asarray(layer(array[np.newaxis], training=training))[0]


def dropped_mask(original, dropped):
    """Where dropout zeroed a value that was not already zero.

    Parameters
    ----------
    original, dropped : numpy.ndarray
        Feature maps before and after dropout, the same shape.

    Returns
    -------
    numpy.ndarray
        bool, the same shape.
    """
    before = np.asarray(original)
    after = np.asarray(dropped)
    if before.shape != after.shape:
        raise ValueError(
            f"original and dropped must have the same shape, got {before.shape} and {after.shape}"
        )
    return (before != 0) & (after == 0)


def neighbour_correlation(features):
    """Mean correlation between horizontally neighbouring values of each feature map.

    Close to 1 means a value is well predicted by its neighbour, so zeroing
    single values (``Dropout``) hides little; lesson 5 uses it to explain why
    convolutional networks drop whole maps instead. Maps with no variation are
    skipped.

    Parameters
    ----------
    features : numpy.ndarray
        ``(H, W, C)`` with ``W >= 2``.

    Returns
    -------
    float
        Mean Pearson correlation over the maps that vary; ``nan`` if none does.
    """
    array = _check_features(features).astype(np.float64)
    if array.shape[1] < 2:
        raise ValueError(f"features need at least 2 columns, got shape {array.shape}")
    values = []
    for channel in np.moveaxis(array, -1, 0):
        left, right = channel[:, :-1].ravel(), channel[:, 1:].ravel()
        if left.std() > 0 and right.std() > 0:
            values.append(np.corrcoef(left, right)[0, 1])
    return float(np.mean(values)) if values else float("nan")


def plot_dropout_comparison(features, rate=0.5, channels=6, seed=0):
    """Feature maps before dropout, after ``Dropout``, after ``SpatialDropout2D``.

    Lesson 5's first figure: one column per feature map (the ``channels``
    most active ones, in their original order); a map that a layer removed
    entirely is titled "dropped".

    Parameters
    ----------
    features : numpy.ndarray
        ``(H, W, C)``.
    rate : float, default 0.5
        Dropout rate of both layers (large, so the effect is easy to see).
    channels : int, default 6
        How many feature maps to show (at most ``C``): the most active ones.
    seed : int, default 0

    Returns
    -------
    matplotlib.figure.Figure
    """
    array = _check_features(features)
    n = min(int(channels), array.shape[-1])
    if n < 1:
        raise ValueError(f"channels must be at least 1, got {channels!r}")
    rows = {
        "before dropout": array,
        f"Dropout({rate})": apply_dropout(array, rate, "regular", seed),
        f"SpatialDropout2D({rate})": apply_dropout(array, rate, "spatial", seed),
    }
    # show the most active maps, each with its own colour scale
    shown = np.sort(np.argsort(-array.mean(axis=(0, 1)), kind="stable")[:n])
    fig = Figure(figsize=(1.9 * n, 6.2), layout="constrained")
    axes = fig.subplots(3, n, squeeze=False)
    for c, channel in enumerate(shown):
        top = float(np.percentile(array[..., channel], 99)) or float(array[..., channel].max()) or 1.0
        top /= 1.0 - rate           # room for the survivors, which dropout scales up
        for r, (label, row) in enumerate(rows.items()):
            ax = axes[r, c]
            ax.imshow(row[..., channel], cmap="magma", vmin=0, vmax=top)
            ax.set_xticks([])
            ax.set_yticks([])
            gone = r > 0 and not row[..., channel].any() and array[..., channel].any()
            ax.set_title(f"map {channel + 1}" + (": dropped" if gone else ""), fontsize=8,
                         color="crimson" if gone else "black")
    for r, label in enumerate(rows):
        axes[r, 0].set_ylabel(label, fontsize=9)
    fig.suptitle("What each layer drops (training mode; survivors scaled by 1 / (1 - rate))")
    return fig


class DropoutOffLoss(keras.callbacks.Callback):
    """After each epoch, the loss on some tiles with dropout switched off (lesson 5).

    Adds ``logs[GAP_KEY]`` (``"train_loss_dropout_off"``), so the value lands
    in ``model.fit(...).history`` next to ``loss`` (measured with dropout on)
    and ``val_loss`` (measured with dropout off).

    Parameters
    ----------
    dataset : tf.data.Dataset
        Batches of ``(images, masks)``, usually the training tiles without
        shuffling or augmentation.
    key : str, default GAP_KEY
        Name of the value in the logs.
    """

    def __init__(self, dataset, key=GAP_KEY):
        super().__init__()
        self.dataset = dataset
        self.key = key

    def loss_without_dropout(self):
        """Mean loss over the dataset's tiles, the model in inference mode."""
        total, count = 0.0, 0
        for images, masks in self.dataset:
            probabilities = self.model(images, training=False)
            batch = int(images.shape[0])
            total += float(keras.ops.mean(self.model.loss(masks, probabilities))) * batch
            count += batch
        if count == 0:
            raise ValueError("DropoutOffLoss got an empty dataset")
        return total / count

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[self.key] = self.loss_without_dropout()


def generalization_gap(history, key=GAP_KEY):
    """Validation loss minus training loss (dropout off), epoch by epoch.

    Parameters
    ----------
    history : dict
        ``model.fit(...).history`` with ``val_loss`` and ``key``.
    key : str, default GAP_KEY
        The training loss measured by :class:`DropoutOffLoss`.

    Returns
    -------
    numpy.ndarray
        float64, one value per epoch; positive means the model does better on
        the tiles it trained on than on new ones.
    """
    for name in ("val_loss", key):
        if name not in history:
            raise ValueError(
                f"history has no {name!r} (keys: {sorted(history)}); train with "
                f"validation_data and the DropoutOffLoss callback"
            )
    return np.asarray(history["val_loss"], dtype=np.float64) - np.asarray(history[key], dtype=np.float64)


def plot_dropout_runs(histories, key=GAP_KEY):
    """Training and validation losses of several runs, and their gaps (lesson 5).

    Parameters
    ----------
    histories : dict
        ``{label: model.fit(...).history}``, each with ``val_loss`` and ``key``.
    key : str, default GAP_KEY

    Returns
    -------
    matplotlib.figure.Figure
        Left: training loss (dropout off, solid) and validation loss (dashed);
        right: the gap, validation minus training.
    """
    if not histories:
        raise ValueError("histories is empty; pass {label: history} for at least one run")
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    for n, (label, history) in enumerate(histories.items()):
        gap = generalization_gap(history, key)
        epochs = np.arange(1, len(gap) + 1)
        colour = CATEGORICAL[n % len(CATEGORICAL)]
        left.plot(epochs, history[key], color=colour, marker="o", label=f"{label}: training (dropout off)")
        left.plot(epochs, history["val_loss"], color=colour, ls="--", marker="s", label=f"{label}: validation")
        right.plot(epochs, gap, color=colour, marker="o", label=label)
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("epoch")
    left.set_ylabel("loss")
    left.set_title("Losses")
    left.legend(fontsize=8)
    right.axhline(0, color="grey", lw=0.8)
    right.set_xlabel("epoch")
    right.set_ylabel("validation - training loss")
    right.set_title("The gap")
    right.legend(fontsize=8)
    return fig
