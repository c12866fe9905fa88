"""The U-Net's blocks, one by one: shapes, parameter counts, the U (lesson 6).

Lesson 6 "The U-Net's three kinds of block" takes a model built by
:func:`unet_course.model.build_unet` apart again:

- :func:`unet_blocks` walks the model's layers and groups them into the
  encoder blocks, the bottleneck, the decoder blocks and the 1x1 head, with
  the shape each block receives, passes on and hands across as a skip
  connection, and its parameter count;
- :func:`block_parameter_formula` and :func:`unet_parameter_formula` count the
  same parameters by hand (weights + biases of every convolution), so the
  lesson can check Keras against arithmetic a student can redo on paper;
- :func:`format_block_table` shows the result as a table, and
  :mod:`unet_course.lessons.unet_figure` draws it (the U with its shapes, and a bar
  chart of where the parameters live);
- :func:`coarse_view` shows what the bottleneck's resolution alone would keep
  of a tile, the reason the decoder needs the skip connections.

Examples
--------
>>> from unet_course.model import build_unet
>>> blocks = unet_blocks(build_unet((64, 64, 3), filters=4))
>>> [b.name for b in blocks][:5]
['encoder 1', 'encoder 2', 'encoder 3', 'encoder 4', 'bottleneck']
>>> unet_parameter_formula(filters=32, in_channels=3)
7760097
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unet_course.validate import whole_number

__all__ = [
    "BlockSummary",
    "unet_blocks",
    "block_parameter_formula",
    "unet_parameter_formula",
    "fmt_shape",
    "format_block_table",
    "coarse_view",
]

KINDS = ("encoder", "bottleneck", "decoder", "head")


@dataclass(frozen=True)
class BlockSummary:
    """One block of a U-Net, as lesson 6 tabulates it.

    Attributes
    ----------
    name : str
        ``"encoder 1"`` .. ``"encoder 4"``, ``"bottleneck"``, ``"decoder 4"`` ..
        ``"decoder 1"`` (decoder *k* receives encoder *k*'s skip), ``"head"``.
    kind : str
        ``"encoder"``, ``"bottleneck"``, ``"decoder"`` or ``"head"``.
    level : int
        Depth in the U: 1 for the full-size blocks, 5 for the bottleneck of a
        four-level U-Net; the head has level 1.
    input_shape : tuple of int
        ``(H, W, C)`` the block receives from the block before it.
    output_shape : tuple of int
        ``(H, W, C)`` it passes on (for an encoder: after pooling).
    skip_shape : tuple of int or None
        Encoder: the features it hands across; decoder: the features it
        receives across; ``None`` for the bottleneck and the head.
    params : int
        Trainable and non-trainable parameters of the block's layers.
    layers : tuple of str
        The block's layer classes, in order.
    """

    name: str
    kind: str
    level: int
    input_shape: tuple
    output_shape: tuple
    skip_shape: tuple | None
    params: int
    layers: tuple


def _shape(tensor):
    """``(H, W, C)`` of a Keras tensor, without the batch axis."""
    return tuple(int(n) for n in tensor.shape[1:])


def _segments(model):
    """Split a U-Net's layers into encoder, bottleneck, decoder and head segments."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if not layers:
        raise ValueError(f"model {model.name!r} has no layers to group into blocks")
    head = layers[-1]
    if type(head).__name__ != "Conv2D" or tuple(head.kernel_size) != (1, 1):
        raise ValueError(
            f"model {model.name!r} does not end in a 1x1 Conv2D head (last layer: "
            f"{type(head).__name__} {head.name!r}); expected a model from build_unet()"
        )
    segments, current = [], []
    for layer in layers[:-1]:
        kind = type(layer).__name__
        if kind == "Conv2DTranspose" and current:
            segments.append(current)
            current = []
        current.append(layer)
        if kind == "MaxPooling2D":
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    return segments, head


def _classify(segment):
    """``"encoder"``, ``"decoder"`` or ``"bottleneck"`` for one segment of layers."""
    if type(segment[-1]).__name__ == "MaxPooling2D":
        return "encoder"
    if type(segment[0]).__name__ == "Conv2DTranspose":
        return "decoder"
    return "bottleneck"


def _decoder_skip(segment):
    """The shape of the skip tensor a decoder segment concatenates."""
    upsampled = segment[0].output
    for layer in segment:
        if type(layer).__name__ == "Concatenate":
            others = [t for t in layer.input if t is not upsampled]
            if len(others) == 1:
                return _shape(others[0])
    raise ValueError(
        f"decoder block starting at {segment[0].name!r} has no Concatenate with one "
        f"skip connection; expected Conv2DTranspose -> Concatenate([up, skip]) -> ..."
    )


def unet_blocks(model):
    """Group a U-Net's layers into its blocks, with shapes and parameter counts.

    Lesson 6 "The U-Net's three kinds of block" uses it to tabulate and draw
    the U. A new encoder block ends at each ``MaxPooling2D``, a new decoder
    block starts at each ``Conv2DTranspose``, the layers between the last
    pooling and the first transposed convolution are the bottleneck, and the
    final 1x1 ``Conv2D`` is the head.

    Parameters
    ----------
    model : keras.Model
        A U-Net from :func:`unet_course.model.build_unet` (or one with the
        same layer order).

    Returns
    -------
    list of BlockSummary
        Encoders top to bottom, the bottleneck, decoders bottom to top, the head.
        Their ``params`` add up to ``model.count_params()``.

    Raises
    ------
    ValueError
        Naming the model, when its layers do not form a U (no head, no
        bottleneck, or unequal numbers of encoder and decoder blocks).
    """
    segments, head = _segments(model)
    kinds = [_classify(segment) for segment in segments]
    n_enc, n_dec = kinds.count("encoder"), kinds.count("decoder")
    expected = ["encoder"] * n_enc + ["bottleneck"] + ["decoder"] * n_dec
    if n_enc == 0 or n_enc != n_dec or kinds != expected:
        raise ValueError(
            f"model {model.name!r} has blocks {kinds}; expected N encoder blocks, "
            f"one bottleneck and N decoder blocks, as build_unet() makes them"
        )
    blocks = []
    for index, (kind, segment) in enumerate(zip(kinds, segments)):
        if kind == "encoder":
            level, name = index + 1, f"encoder {index + 1}"
            skip = _shape(segment[-2].output)
        elif kind == "bottleneck":
            level, name, skip = n_enc + 1, "bottleneck", None
        else:
            level = 2 * n_enc + 1 - index
            name, skip = f"decoder {level}", _decoder_skip(segment)
        blocks.append(BlockSummary(
            name=name, kind=kind, level=level,
            input_shape=_shape(segment[0].input),
            output_shape=_shape(segment[-1].output),
            skip_shape=skip,
            params=int(sum(layer.count_params() for layer in segment)),
            layers=tuple(type(layer).__name__ for layer in segment),
        ))
    blocks.append(BlockSummary(
        name="head", kind="head", level=1, input_shape=_shape(head.input),
        output_shape=_shape(head.output), skip_shape=None,
        params=int(head.count_params()), layers=("Conv2D",),
    ))
    return blocks


def block_parameter_formula(kind, in_channels, filters, skip_channels=None):
    """Count a block's parameters by hand: weights plus biases of each convolution.

    A k x k convolution from ``c_in`` to ``c_out`` channels has
    ``k*k*c_in*c_out + c_out`` parameters; dropout, pooling and concatenation
    have none. Lesson 6 compares these counts with what Keras reports.

    Parameters
    ----------
    kind : {"encoder", "bottleneck", "decoder", "head"}
        The block.
    in_channels : int
        Channels of the block's input (for a decoder: of the features from below).
    filters : int
        The block's filters (1 for the head).
    skip_channels : int, optional
        Decoder only: channels of the skip connection (default ``filters``,
        as in a U-Net whose encoder and decoder mirror each other).

    Returns
    -------
    int

    Examples
    --------
    >>> block_parameter_formula("encoder", 3, 32)   # 3*3*3*32+32 + 3*3*32*32+32
    10144
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    whole_number(in_channels, "in_channels")
    whole_number(filters, "filters")

    def conv(k, c_in, c_out):
        return k * k * c_in * c_out + c_out

    if kind in ("encoder", "bottleneck"):
        return conv(3, in_channels, filters) + conv(3, filters, filters)
    if kind == "decoder":
        skip = filters if skip_channels is None else skip_channels
        whole_number(skip, "skip_channels")
        return (conv(2, in_channels, filters) + conv(3, filters + skip, filters)
                + conv(3, filters, filters))
    return conv(1, in_channels, filters)


def unet_parameter_formula(filters=32, in_channels=3, depth=4):
    """Count the whole U-Net's parameters with :func:`block_parameter_formula`.

    Lesson 6 uses it to explain 7,760,097: the seed's ``filters=32`` and
    three input bands. The count does not depend on the tile size.

    Parameters
    ----------
    filters : int, default 32
        Filters of the first encoder block; each level doubles them.
    in_channels : int, default 3
        Bands of the input image.
    depth : int, default 4
        Number of encoder (and decoder) blocks.

    Returns
    -------
    int
    """
    whole_number(filters, "filters")
    whole_number(depth, "depth")
    total, channels = 0, in_channels
    for level in range(depth):
        total += block_parameter_formula("encoder", channels, filters * 2**level)
        channels = filters * 2**level
    total += block_parameter_formula("bottleneck", channels, filters * 2**depth)
    channels = filters * 2**depth
    for level in reversed(range(depth)):
        total += block_parameter_formula("decoder", channels, filters * 2**level)
        channels = filters * 2**level
    return total + block_parameter_formula("head", channels, 1)


def fmt_shape(shape):
    """A shape as lesson 6 prints it: ``(256, 256, 32)`` -> ``"256x256x32"``; ``None`` -> ``"-"``."""
    return "-" if shape is None else "x".join(str(n) for n in shape)


def format_block_table(blocks):
    """An aligned text table of :func:`unet_blocks`, one row per block.

    Columns: block, input, output, skip, parameters and their share of the
    total. Lesson 6 prints it for the seed's model and the profile's model.

    Parameters
    ----------
    blocks : list of BlockSummary

    Returns
    -------
    str
    """
    if not blocks:
        raise ValueError("blocks is empty; pass the list unet_blocks(model) returns")
    total = sum(b.params for b in blocks)
    rows = [("block", "input", "output", "skip", "parameters", "share")]
    for b in blocks:
        share = b.params / total if total else 0.0
        rows.append((b.name, fmt_shape(b.input_shape), fmt_shape(b.output_shape),
                     fmt_shape(b.skip_shape), f"{b.params:,}", f"{share:6.1%}"))
    rows.append(("total", "", "", "", f"{total:,}", f"{1:6.1%}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
        if n == 0 or n == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def coarse_view(image, factor=16):
    """What a tile looks like at the bottleneck's resolution.

    Averages ``factor`` x ``factor`` blocks of pixels and blows them back up
    to the original size. With ``factor = 2**4 = 16`` it shows how much
    detail survives four poolings: lesson 6 uses it to motivate the skip
    connections, which bring the full-resolution detail back.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)``; H and W divisible by ``factor``.
    factor : int, default 16

    Returns
    -------
    numpy.ndarray
        Same shape as ``image``, float64.
    """
    whole_number(factor, "factor")
    array = np.asarray(image, dtype=np.float64)
    if array.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {array.shape}")
    height, width = array.shape[:2]
    if height % factor or width % factor:
        raise ValueError(
            f"image height and width must be divisible by factor={factor}, "
            f"got shape {array.shape}"
        )
    rest = array.shape[2:]
    blocks = array.reshape(height // factor, factor, width // factor, factor, *rest)
    means = blocks.mean(axis=(1, 3))
    return np.repeat(np.repeat(means, factor, axis=0), factor, axis=1)

