"""How the starting weights decide whether signals survive a deep network (lesson 4).

A 3x3 convolution with ``C`` input channels adds ``fan_in = 9 C`` products
``w * x``. With independent weights of mean 0 and variance ``Var(w)``::

    E[z^2] = fan_in * Var(w) * E[x^2]          (one layer, before the activation)
    E[relu(z)^2] = E[z^2] / 2                  (relu zeroes half of a symmetric z)

so each conv + relu layer multiplies the mean square of the activations by
the *gain* ``fan_in * Var(w) / 2``, and ``depth`` layers by ``gain ** depth``.
The backward pass multiplies gradients the same way with ``fan_out`` in
place of ``fan_in``. A gain above 1 explodes, below 1 vanishes:

==================  ======================  =====================
initializer         Var(w)                  gain with relu
==================  ======================  =====================
zeros               0                       0: nothing moves
large normal        1                       fan_in / 2 (144 at C = 32)
Glorot normal       2 / (fan_in + fan_out)  1/2 when fan_in = fan_out
He normal           2 / fan_in              1
LeCun normal        1 / fan_in              1/2 (1 without relu)
==================  ======================  =====================

LeCun normal divides by ``fan_in`` so that the *sum* of ``fan_in`` terms keeps
the variance of one input: a linear (or SELU) layer then has gain 1. This
module measures these statistics in a deep stack of convolutions
(:func:`stack_statistics`), predicts them (:func:`predicted_rms`), draws them
(:func:`plot_statistics`) and trains the course's U-Net with each
initializer (:func:`train_with_initializer`).

Examples
--------
>>> round(relu_gain("he_normal", fan_in=288), 6)
1.0
>>> round(relu_gain("lecun_normal", fan_in=288), 6)
0.5
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from unet_course.backend import tf, keras
from unet_course.viz import CATEGORICAL

__all__ = [
    "INITIALIZERS",
    "COLOURS",
    "ACTIVATIONS",
    "make_initializer",
    "weight_variance",
    "relu_gain",
    "layer_gain",
    "predicted_rms",
    "stack_statistics",
    "compare_initializers",
    "plot_statistics",
    "train_with_initializer",
]

#: The initializers lesson 4 compares: name -> (Keras class name, keyword arguments).
INITIALIZERS = {
    "zeros": ("Zeros", {}),
    "large normal": ("RandomNormal", {"mean": 0.0, "stddev": 1.0}),
    "glorot normal": ("GlorotNormal", {}),
    "he normal": ("HeNormal", {}),
    "lecun normal": ("LecunNormal", {}),
}

#: One colour per initializer, shared by the lesson's figures.
COLOURS = dict(zip(INITIALIZERS, (CATEGORICAL[5], CATEGORICAL[4], CATEGORICAL[3], CATEGORICAL[0],
                                  CATEGORICAL[1])))

#: Activations whose gain :func:`layer_gain` knows: mean-square factor of the activation.
ACTIVATIONS = {"relu": 0.5, "linear": 1.0}

_ALIASES = {
    "zeros": "zeros", "large_normal": "large normal", "glorot_normal": "glorot normal",
    "he_normal": "he normal", "lecun_normal": "lecun normal",
}


def _name(initializer):
    """The key of :data:`INITIALIZERS` for ``initializer`` (``"he_normal"`` works too)."""
    key = str(initializer).strip().lower()
    key = _ALIASES.get(key.replace(" ", "_"), key)
    if key not in INITIALIZERS:
        raise ValueError(
            f"initializer {initializer!r} is not one lesson 4 compares; expected one of "
            f"{', '.join(repr(name) for name in INITIALIZERS)}"
        )
    return key


def make_initializer(initializer, seed=None):
    """A fresh Keras initializer for one of the names of :data:`INITIALIZERS`.

    Parameters
    ----------
    initializer : str
        ``"zeros"``, ``"large normal"``, ``"glorot normal"``, ``"he normal"``
        or ``"lecun normal"`` (underscores instead of spaces work too).
    seed : int, optional
        Seed of the random draw (ignored by ``zeros``). A seeded Keras 3
        initializer draws the *same* values at every call, so give each layer
        its own seed, or none and call ``keras.utils.set_random_seed`` first.

    Returns
    -------
    keras.initializers.Initializer
    """
    class_name, kwargs = INITIALIZERS[_name(initializer)]
    cls = getattr(keras.initializers, class_name)
    return cls(**kwargs) if class_name == "Zeros" else cls(seed=seed, **kwargs)


def weight_variance(initializer, fan_in, fan_out=None):
    """The variance of one weight that ``initializer`` draws (theory).

    Keras' truncated normals (Glorot, He, LeCun normal) are rescaled so that
    this is their exact variance.

    Parameters
    ----------
    initializer : str
        A name of :data:`INITIALIZERS`.
    fan_in : int
        Inputs summed by one output: ``kernel height * kernel width * input channels``.
    fan_out : int, optional
        ``kernel height * kernel width * output channels`` (default ``fan_in``).

    Returns
    -------
    float
    """
    fan_out = fan_in if fan_out is None else fan_out
    if fan_in < 1 or fan_out < 1:
        raise ValueError(f"fan_in and fan_out must be >= 1, got {fan_in} and {fan_out}")
    return {
        "zeros": 0.0,
        "large normal": INITIALIZERS["large normal"][1]["stddev"] ** 2,
        "glorot normal": 2.0 / (fan_in + fan_out),
        "he normal": 2.0 / fan_in,
        "lecun normal": 1.0 / fan_in,
    }[_name(initializer)]


def layer_gain(initializer, fan_in, fan_out=None, activation="relu"):
    """Factor by which one conv + activation layer multiplies the mean square of its input.

    ``fan_in * Var(w) * a`` with ``a = 1/2`` for relu and ``1`` for linear.

    Parameters
    ----------
    initializer : str
        A name of :data:`INITIALIZERS`.
    fan_in, fan_out : int
        See :func:`weight_variance`.
    activation : {"relu", "linear"}, default "relu"

    Returns
    -------
    float
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    return fan_in * weight_variance(initializer, fan_in, fan_out) * ACTIVATIONS[activation]


def relu_gain(initializer, fan_in, fan_out=None):
    """:func:`layer_gain` with relu, the seed's activation."""
    return layer_gain(initializer, fan_in, fan_out, "relu")


def predicted_rms(initializer, depth, fan_in, fan_out=None, activation="relu", input_rms=1.0):
    """Root mean square of the activations after each layer, as the variance argument predicts.

    Returns
    -------
    numpy.ndarray, shape (depth,)
        ``input_rms * sqrt(gain) ** k`` for layers ``k = 1 .. depth``.
    """
    gain = layer_gain(initializer, fan_in, fan_out, activation)
    return input_rms * np.sqrt(gain) ** np.arange(1, depth + 1)


def _rms(tensor):
    """Root mean square of a tensor, as a Python float."""
    return float(np.sqrt(np.mean(np.square(np.asarray(tensor, dtype=np.float64)))))


def stack_statistics(initializer, depth=20, filters=32, size=32, batch=4,
                     activation="relu", seed=0):
    """Send noise through ``depth`` 3x3 convolutions and measure activations and gradients.

    The input is standard normal noise with ``filters`` channels, so every
    layer has ``fan_in = fan_out = 9 * filters``. The backward pass starts
    from a random gradient of mean square 1 at the top (the loss is
    ``sum(output * r)`` with ``r`` standard normal), so the measured gradient
    sizes show only what the layers do to it.

    Lesson 4 "Kernel initializers" plots the result.

    Parameters
    ----------
    initializer : str
        A name of :data:`INITIALIZERS`.
    depth : int, default 20
        Number of conv layers.
    filters : int, default 32
        Channels of the input and of every layer.
    size : int, default 32
        Height and width of the noise images.
    batch : int, default 4
        Number of noise images.
    activation : {"relu", "linear"}, default "relu"
    seed : int, default 0
        Seed of the noise and of the weights.

    Returns
    -------
    dict
        ``"activation_rms"``, ``"gradient_rms"`` (gradient with respect to
        each layer's output), ``"kernel_gradient_rms"`` (with respect to
        each layer's kernel) and ``"dead_fraction"`` (share of exact zeros
        in each layer's output): arrays of shape ``(depth,)``, layer 1 first;
        ``"fan_in"`` and ``"predicted_rms"`` (:func:`predicted_rms`).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if depth < 1 or filters < 1 or size < 1 or batch < 1:
        raise ValueError(
            f"depth, filters, size and batch must be >= 1, got {depth}, {filters}, {size}, {batch}"
        )
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.standard_normal((batch, size, size, filters)), dtype=tf.float32)
    layers = [
        keras.layers.Conv2D(filters, 3, padding="same", activation=activation,
                            kernel_initializer=make_initializer(initializer, seed + k))
        for k in range(depth)
    ]
    with tf.GradientTape(persistent=True) as tape:
        outputs = []
        h = x
        for layer in layers:
            h = layer(h)
            outputs.append(h)
        direction = tf.constant(rng.standard_normal(h.shape), dtype=tf.float32)
        loss = tf.reduce_sum(h * direction)
    to_outputs = tape.gradient(loss, outputs)
    to_kernels = tape.gradient(loss, [layer.kernel for layer in layers])
    del tape
    fan_in = 9 * filters
    return {
        "activation_rms": np.array([_rms(h) for h in outputs]),
        "gradient_rms": np.array([_rms(g) for g in to_outputs]),
        "kernel_gradient_rms": np.array([_rms(g) for g in to_kernels]),
        "dead_fraction": np.array([float(np.mean(np.asarray(h) == 0)) for h in outputs]),
        "fan_in": fan_in,
        "predicted_rms": predicted_rms(initializer, depth, fan_in, activation=activation),
    }


def compare_initializers(names=tuple(INITIALIZERS), **settings):
    """:func:`stack_statistics` for several initializers (lesson 4).

    Returns
    -------
    dict
        ``{name: statistics}`` in the order of ``names``.
    """
    return {name: stack_statistics(name, **settings) for name in names}


def _log_safe(values):
    """Values for a log axis: exact zeros become NaN (matplotlib leaves a gap)."""
    values = np.asarray(values, dtype=float)
    return np.where(values > 0, values, np.nan)


def plot_statistics(statistics, title=None):
    """Activation and gradient sizes per layer, one line per initializer (log scale).

    Dotted lines are the predictions of the variance argument. A series that
    is exactly zero everywhere (``zeros``) cannot be drawn on a log axis; the
    legend says so.

    Parameters
    ----------
    statistics : dict
        :func:`compare_initializers` output.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    figure = Figure(figsize=(11, 4), layout="constrained")
    left, right = figure.subplots(1, 2, sharey=True)
    for name, stats in statistics.items():
        layers = np.arange(1, len(stats["activation_rms"]) + 1)
        colour = COLOURS[_name(name)]
        all_zero = not np.any(stats["activation_rms"]) and not np.any(stats["kernel_gradient_rms"])
        label = f"{name} (all exactly 0)" if all_zero else name
        # Glorot and LeCun coincide when fan_in = fan_out: draw Glorot wider, underneath
        style = ({"marker": "s", "ms": 6, "linewidth": 4, "alpha": 0.5, "zorder": 1}
                 if _name(name) == "glorot normal" else {"marker": "o", "ms": 3, "zorder": 2})
        left.plot(layers, _log_safe(stats["activation_rms"]), color=colour, label=label, **style)
        left.plot(layers, _log_safe(stats["predicted_rms"]), linestyle=":", color=colour)
        right.plot(layers, _log_safe(stats["gradient_rms"]), color=colour, label=label, **style)
    for ax, what in ((left, "activations (forward)"), (right, "gradients (backward)")):
        ax.set_yscale("log")
        ax.set_xlabel("layer")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(f"root mean square of the {what}")
        ax.axhline(1.0, color="black", linewidth=0.6)
        ax.grid(True, which="major", alpha=0.3)
    left.set_ylim(1e-12, 1e12)
    left.legend(fontsize=8, loc="upper left")
    left.set_ylabel("root mean square (log scale); dotted: predicted")
    if title:
        figure.suptitle(title)
    return figure


def train_with_initializer(initializer, prof, data, epochs=None, seed=None):
    """Train the profile's U-Net with one initializer for a few epochs (lesson 4).

    The seed's recipe (:func:`unet_course.train.compile_unet`: Adam with the
    decaying learning rate, BCE + Dice) with every convolution of
    :func:`unet_course.model.build_unet` initialized by ``initializer``; no
    early stopping, so each initializer gets the same number of epochs.

    Parameters
    ----------
    initializer : str
        A name of :data:`INITIALIZERS`.
    prof : unet_course.Profile
        Tile size, base filters, batch size, epochs and seed.
    data : unet_course.data.Splits
        Training and validation tiles of the profile's size.
    epochs : int, optional
        Default ``prof.epochs``.
    seed : int, optional
        Weight and shuffling seed (default ``prof.seed``).

    Returns
    -------
    model : keras.Model
        The trained model.
    history : dict of list
        Keras' history: ``loss``, ``val_loss``, ``val_dice``, ... per epoch.
    """
    from unet_course.data import make_dataset
    from unet_course.train import compiled_unet

    seed = prof.seed if seed is None else seed
    model = compiled_unet(prof, seed=seed, kernel_initializer=make_initializer(initializer))
    train = make_dataset(data.train, prof.batch_size, shuffle=True, seed=seed)
    validation = make_dataset(data.validation, prof.batch_size, shuffle=False)
    # the dataset is already shuffled by make_dataset, so Keras must not try again
    fitted = model.fit(train, validation_data=validation, epochs=int(epochs or prof.epochs),
                       shuffle=False, verbose=0)
    return model, {key: [float(v) for v in values] for key, values in fitted.history.items()}
