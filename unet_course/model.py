"""The U-Net: encoder blocks, a bottleneck, decoder blocks (lessons 4-6).

The network is the seed's, block for block and layer for layer:

- an **encoder block** (lesson 6) sees, then shrinks: two 3x3 convolutions,
  each followed by spatial dropout, then a 2x2 max pooling (``padding="same"``,
  as the seed writes it; on even sizes it equals "valid"). It returns the
  full-size features too (the *skip connection*) and the pooled ones;
- the **bottleneck** (the seed's ``baseline_layer``) is the same two
  convolutions at the smallest size, without pooling;
- a **decoder block** grows, then looks again: a 2x2 transposed convolution
  with stride 2 and ``relu`` doubles the size, the skip connection from the
  matching encoder block is concatenated, and two 3x3 convolutions with
  dropout follow.

Every 3x3 convolution uses ``padding="same"``, ``relu`` and the
``lecun_normal`` initializer (lesson 4 "Kernel initializers") and is followed
by ``SpatialDropout2D`` (lesson 5 "Spatial dropout"). A 1x1 convolution with a
sigmoid turns the last features into one building probability per pixel; as in
the seed, it keeps Keras' default initializer (``glorot_uniform``).

With the defaults, ``build_unet()`` has exactly 7,760,097 parameters.

Examples
--------
>>> model = build_unet((64, 64, 3), filters=4)
>>> model.output_shape
(None, 64, 64, 1)
"""
from __future__ import annotations

import math

from unet_course.backend import keras, layers
from unet_course.validate import probability, whole_number

__all__ = ["encoder_block", "bottleneck", "decoder_block", "build_unet", "DEPTH",
           "receptive_field", "level_costs"]

#: Number of encoder (and decoder) blocks: the input shrinks by 2**DEPTH = 16.
DEPTH = 4


def _check_initializer(kernel_initializer):
    """Raise ``ValueError`` unless Keras knows ``kernel_initializer``."""
    try:
        if keras.initializers.get(kernel_initializer) is None:
            raise ValueError("None is not an initializer")
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"kernel_initializer {kernel_initializer!r} is not a Keras initializer "
            f"(try 'lecun_normal', 'he_normal' or 'glorot_uniform')"
        ) from error


def _check_block_arguments(filters, dropout_rate, kernel_initializer):
    """Check the three arguments every block shares."""
    whole_number(filters, "filters")
    probability(dropout_rate, "dropout_rate", upper_open=True)
    _check_initializer(kernel_initializer)


def _conv_dropout(filters, inputs, dropout_rate, kernel_initializer, batch_norm=False):
    """One 3x3 convolution (stride 1, same padding, relu) followed by spatial dropout.

    The seed's ``Conv2D(filters, kernel_size=(3, 3), padding='same', strides=1,
    activation='relu', kernel_initializer=kernel_initializer)``. With
    ``batch_norm`` (not the seed's, see :func:`build_unet`) the convolution is
    linear and ``BatchNormalization`` then ``relu`` follow it (``batch_norm``
    True: Keras' momentum 0.99; a number: that momentum).
    """
    x = layers.Conv2D(
        filters,
        kernel_size=(3, 3),
        padding="same",
        strides=1,
        activation=None if batch_norm else "relu",
        kernel_initializer=kernel_initializer,
    )(inputs)
    if batch_norm:
        momentum = 0.99 if batch_norm is True else float(batch_norm)
        x = layers.Activation("relu")(layers.BatchNormalization(momentum=momentum)(x))
    return layers.SpatialDropout2D(dropout_rate)(x)


def encoder_block(filters, inputs, dropout_rate=0.1, kernel_initializer="lecun_normal",
                  batch_norm=False):
    """Two 3x3 convolutions with spatial dropout, then 2x2 max pooling.

    Lesson 6 "The U-Net's three kinds of block" explains it; lesson 4
    "Kernel initializers" and lesson 5 "Spatial dropout" explain its options.

    Parameters
    ----------
    filters : int
        Number of filters of both convolutions.
    inputs : keras tensor
        Feature map of shape ``(batch, H, W, C)``.
    dropout_rate : float, default 0.1
        Fraction of whole feature maps ``SpatialDropout2D`` drops in training.
    kernel_initializer : str or keras.initializers.Initializer, default "lecun_normal"
        How the convolution weights start.

    Returns
    -------
    skip : keras tensor
        Features before pooling, ``(batch, H, W, filters)``: the skip connection.
    pooled : keras tensor
        Features after pooling, ``(batch, H/2, W/2, filters)``: the next block's input.
    """
    _check_block_arguments(filters, dropout_rate, kernel_initializer)
    x = _conv_dropout(filters, inputs, dropout_rate, kernel_initializer, batch_norm)
    skip = _conv_dropout(filters, x, dropout_rate, kernel_initializer, batch_norm)
    pooled = layers.MaxPooling2D(pool_size=(2, 2), padding="same")(skip)
    return skip, pooled


def bottleneck(filters, inputs, dropout_rate=0.1, kernel_initializer="lecun_normal", batch_norm=False):
    """Two 3x3 convolutions with spatial dropout at the smallest size.

    The seed calls it ``baseline_layer``. Lesson 6 "The U-Net's three kinds
    of block" explains it.

    Parameters
    ----------
    filters : int
        Number of filters of both convolutions.
    inputs : keras tensor
        The last encoder block's pooled output.
    dropout_rate : float, default 0.1
        Fraction of whole feature maps ``SpatialDropout2D`` drops in training.
    kernel_initializer : str or keras.initializers.Initializer, default "lecun_normal"
        How the convolution weights start.

    Returns
    -------
    keras tensor
        ``(batch, H, W, filters)``, the same size as ``inputs``.
    """
    _check_block_arguments(filters, dropout_rate, kernel_initializer)
    x = _conv_dropout(filters, inputs, dropout_rate, kernel_initializer, batch_norm)
    return _conv_dropout(filters, x, dropout_rate, kernel_initializer, batch_norm)


def decoder_block(filters, connections, inputs, dropout_rate=0.1,
                  kernel_initializer="lecun_normal", batch_norm=False):
    """Upsample ``inputs``, concatenate the skip ``connections``, convolve twice.

    A 2x2 transposed convolution with stride 2 and ``relu`` doubles the height and width,
    the encoder's features of the same size are concatenated after it, and two
    3x3 convolutions with spatial dropout follow. Lesson 6 "The U-Net's three
    kinds of block" explains it.

    Parameters
    ----------
    filters : int
        Number of filters of the transposed convolution and both convolutions.
    connections : keras tensor
        The skip connection from the matching encoder block, ``(batch, 2H, 2W, C)``.
    inputs : keras tensor
        Features from the block below, ``(batch, H, W, C')``.
    dropout_rate : float, default 0.1
        Fraction of whole feature maps ``SpatialDropout2D`` drops in training.
    kernel_initializer : str or keras.initializers.Initializer, default "lecun_normal"
        How the convolution weights start.

    Returns
    -------
    keras tensor
        ``(batch, 2H, 2W, filters)``.
    """
    _check_block_arguments(filters, dropout_rate, kernel_initializer)
    up = layers.Conv2DTranspose(
        filters,
        kernel_size=(2, 2),
        padding="same",
        activation="relu",
        strides=2,
        kernel_initializer=kernel_initializer,
    )(inputs)
    x = layers.concatenate([up, connections], axis=-1)
    x = _conv_dropout(filters, x, dropout_rate, kernel_initializer, batch_norm)
    return _conv_dropout(filters, x, dropout_rate, kernel_initializer, batch_norm)


def _check_batch_norm(batch_norm):
    """Raise ``ValueError`` unless ``batch_norm`` is a bool or a momentum in (0, 1)."""
    if isinstance(batch_norm, bool):
        return
    if not isinstance(batch_norm, (int, float)) or not 0 < batch_norm < 1:
        raise ValueError(f"batch_norm must be True, False or a momentum between 0 and 1, "
                         f"got {batch_norm!r}")


def _check_input_shape(input_shape):
    """Raise ``ValueError`` unless ``input_shape`` is ``(H, W, C)`` with H, W divisible by 16."""
    size = 2 ** DEPTH
    try:
        height, width, channels = input_shape
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"input_shape must be (height, width, channels), got {input_shape!r}"
        ) from error
    for name, value in (("height", height), ("width", width), ("channels", channels)):
        whole_number(value, f"input_shape {name} (in input_shape={input_shape!r})")
    if height % size or width % size:
        raise ValueError(
            f"input_shape height and width must be divisible by {size} (the U-Net "
            f"halves them {DEPTH} times), got input_shape={input_shape!r}"
        )


def build_unet(input_shape=(256, 256, 3), filters=32, dropout_rate=0.1,
               kernel_initializer="lecun_normal", batch_norm=False):
    """Build the seed's U-Net: 4 encoder blocks, a bottleneck, 4 decoder blocks.

    Filters double at each encoder block (``filters``, 2x, 4x, 8x), the
    bottleneck has 16x, and the decoder blocks come back down. A 1x1
    convolution with a sigmoid (kept in float32 for mixed precision) gives a
    building probability per pixel. Lesson 6 "The U-Net's three kinds of
    block" builds it; lessons 4 and 5 explain ``kernel_initializer`` and
    ``dropout_rate``.

    Parameters
    ----------
    input_shape : tuple of int, default (256, 256, 3)
        ``(height, width, channels)``; height and width must be divisible by 16.
    filters : int, default 32
        Filters of the first encoder block.
    dropout_rate : float, default 0.1
        Spatial dropout rate after every 3x3 convolution, in [0, 1).
    kernel_initializer : str or keras.initializers.Initializer, default "lecun_normal"
        Initializer of every convolution except the 1x1 head.
    batch_norm : bool or float, default False
        Not the seed's: put ``BatchNormalization`` between every 3x3
        convolution and its ``relu`` (an option of :mod:`unet_course.recipes`;
        measured in docs/real-data.md). True uses Keras' momentum of the moving
        averages, 0.99; a number in (0, 1) is the momentum (0.9 settles in
        tens of batches instead of hundreds). False builds the seed's network exactly.

    Returns
    -------
    keras.Model
        Named ``"unet"``, mapping ``(batch, H, W, C)`` to ``(batch, H, W, 1)``.
        With the defaults it has 7,760,097 parameters.

    Raises
    ------
    ValueError
        Naming the argument, when one is out of range.

    Examples
    --------
    >>> build_unet().count_params()
    7760097
    """
    _check_input_shape(input_shape)
    _check_block_arguments(filters, dropout_rate, kernel_initializer)
    _check_batch_norm(batch_norm)

    inputs = keras.Input(shape=tuple(int(n) for n in input_shape))
    skips = []
    x = inputs
    for level in range(DEPTH):
        skip, x = encoder_block(filters * 2**level, x, dropout_rate, kernel_initializer, batch_norm)
        skips.append(skip)

    x = bottleneck(filters * 2**DEPTH, x, dropout_rate, kernel_initializer, batch_norm)

    for level in reversed(range(DEPTH)):
        x = decoder_block(filters * 2**level, skips[level], x, dropout_rate,
                          kernel_initializer, batch_norm)

    # The seed's head, Conv2D(1, 1, activation='sigmoid'): Keras' default
    # initializer (glorot_uniform), not kernel_initializer. float32 keeps the
    # probabilities exact under mixed precision (lesson 7).
    outputs = layers.Conv2D(1, 1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="unet")


def receptive_field(model):
    """Receptive field and stride, in input pixels, of one bottleneck position (lesson 6).

    Walks the encoder path of a :func:`build_unet` model up to the last
    layer before the first transposed convolution: each k x k convolution
    widens the field by ``(k - 1) * stride`` and each pooling by
    ``(pool - 1) * stride`` before multiplying the stride by its own. For the
    seed's network a bottleneck position is 16 pixels from its neighbour but
    sees 140 x 140 pixels of the tile.

    Returns
    -------
    (int, int)
        ``(field, stride)``.
    """
    field, stride = 1, 1
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2DTranspose":
            break
        config = layer.get_config()
        if kind == "Conv2D":
            field += (config["kernel_size"][0] - 1) * stride
            stride *= config["strides"][0]
        elif kind == "MaxPooling2D":
            field += (config["pool_size"][0] - 1) * stride
            stride *= config["strides"][0]
    return field, stride


def level_costs(model):
    """Parameters, multiply-adds and activations of each level of the U, per tile (lesson 6).

    A level is one height of the U (level 0 at full size, level ``DEPTH`` the
    bottleneck). A convolution's multiply-adds are its kernel weights times
    the positions it runs at (its output's for ``Conv2D``, its input's for
    the stride-2 ``Conv2DTranspose``); activations are the numbers every
    layer of the level outputs, which training must keep for the backward pass.

    Returns
    -------
    list of dict
        One per level, top first: ``level``, ``size`` (height), ``params``,
        ``multiply_adds``, ``activations``.
    """
    height = model.input_shape[1]
    levels = {}
    for layer in model.layers[1:]:
        shape = tuple(layer.output.shape)[1:]
        level = round(math.log2(height / shape[0]))
        row = levels.setdefault(level, {"level": level, "size": shape[0], "params": 0,
                                        "multiply_adds": 0, "activations": 0})
        row["params"] += layer.count_params()
        row["activations"] += math.prod(shape)
        kind = type(layer).__name__
        if kind in ("Conv2D", "Conv2DTranspose"):
            weights = math.prod(layer.kernel.shape)
            source = tuple(layer.input.shape)[1:3] if kind == "Conv2DTranspose" else shape[:2]
            row["multiply_adds"] += weights * math.prod(source)
    return [levels[k] for k in sorted(levels)]
