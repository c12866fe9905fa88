"""Checks of assignment 3, "The U-Net's blocks" (lessons 4, 5 and 6).

Each block is graded on its own, against the seed's layers and settings
(:mod:`unet_course.model` is the seed's network, layer for layer): the seed's
block code typed in earns full marks. The check builds a small Keras model around
the student's block and around :mod:`unet_course.model`'s, and compares them
layer by layer (:mod:`unet_course.grading.architecture`): class, filters,
kernel size, strides, padding, activation, initializer class, dropout rate,
output shape, parameters and wiring. When ``build_unet`` is graded, the
package's blocks stand in for the student's (in the notebook's globals), so a
wrong block costs only its own points; while ``unet-course autograde``
grades, they stand in as data (:mod:`unet_course.grading.block_templates`).

The visible checks use the seed's defaults and one other setting; the hidden
ones (``hidden=True``) use other tile shapes, channel counts, filters, dropout
rates and initializers, and pass the arguments by position, so that only a
block that follows its arguments passes.
"""
from __future__ import annotations

from unet_course.backend import keras
from unet_course.grading.architecture import compare_models
from unet_course.grading.block_templates import block_templates
from unet_course.grading.common import Item, quiet
from unet_course.grading.messages import fail

__all__ = ["check_encoder_block", "check_bottleneck", "check_decoder_block", "check_build_unet"]

_LESSON = "lesson 6 \"The U-Net's three kinds of block\""
_HELPER = "unet_course.model._conv_dropout"

ENCODER = Item("encoder_block", ("unet_course.model.encoder_block", _HELPER), _LESSON)
BOTTLENECK = Item("bottleneck", ("unet_course.model.bottleneck", _HELPER), _LESSON)
DECODER = Item("decoder_block", ("unet_course.model.decoder_block", _HELPER), _LESSON)
UNET = Item(
    "build_unet", ("unet_course.model.build_unet",), _LESSON,
    stand_ins={"encoder_block": "unet_course.model.encoder_block",
               "bottleneck": "unet_course.model.bottleneck",
               "decoder_block": "unet_course.model.decoder_block"},
)

_PAIR = ("each 3x3 convolution of the seed has stride 1, 'same' padding, a relu and the "
         "kernel_initializer it is given, and spatial dropout at dropout_rate follows it")
HINTS = {
    "encoder_block": f"{_PAIR}. Two such pairs give the skip connection; a 2x2 max pooling "
                     "with the seed's 'same' padding then halves it. The block gives back both "
                     "tensors, the skip first.",
    "bottleneck": f"{_PAIR}. The bottleneck is two such pairs, without pooling: its output has "
                  "the size of its input.",
    "decoder_block": "first a 2x2 transposed convolution with stride 2 ('same' padding, relu, "
                     "the given initializer) doubles the size of inputs; the skip connections "
                     "are joined to it on the channel axis, the upsampled features first; "
                     f"then two pairs ({_PAIR}).",
    "build_unet": "filters double at each of the four encoder blocks, the bottleneck has 16 "
                  "times filters, and each decoder block halves them again and takes the skip "
                  "of the encoder block of its size; the head is the seed's 1x1 convolution "
                  "to one channel with a sigmoid (Keras' default initializer); every block "
                  "gets dropout_rate and kernel_initializer.",
}


def _reference(name):
    import unet_course.model as model
    return getattr(model, name)


def _arguments(args, kwargs):
    """``16, inputs, dropout_rate=0.2`` for a message (tensors by name)."""
    parts = [a if isinstance(a, str) else repr(a) for a in args]
    parts += [f"{k}={v!r}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _built(out, shown, what):
    """The model a block procedure built from the student's block, or a message saying why not."""
    __tracebackhide__ = True
    if "got" in out:
        fail(f"{shown} should return {what}", "Keras tensor(s)", out["got"],
             hint="apply layers to the input tensors and return the resulting tensors "
                  "(not the layers, not a model)")
    if "disconnected" in out:
        fail(f"{shown}: the tensors it returns are not computed from its inputs ({out['disconnected']})",
             hint="apply every layer to the tensors the function receives, starting from "
                  "the inputs argument; do not create a new keras.Input inside it")
    return _as_model(out["model"], shown)


def _as_model(got, shown):
    __tracebackhide__ = True
    if not isinstance(got, keras.Model):
        fail(f"{shown} should return a keras.Model", "a keras.Model", got,
             hint="the function gives back a Keras model built from its input tensor "
                  "to the head's output, not the tensors themselves")
    return got


def _compare(expected, got, shown, name):
    __tracebackhide__ = True
    report = compare_models(expected, got)
    if report:
        fail(f"{shown}: {report}", hint=HINTS[name])


def _check_block(item, fn, cases, n_outputs, what):
    """Build the student's and the reference block for each case and compare them."""
    __tracebackhide__ = True
    item.start(fn)
    reference = _reference(item.name)
    for filters, shapes, args, kwargs in cases:
        names = ["connections", "inputs"] if len(shapes) == 2 else ["inputs"]
        shown = (f"{item.name}({_arguments([filters, *names, *args], kwargs)}) with "
                 + " and ".join(f"{n} of shape {s}" for n, s in zip(names, shapes)))
        out = item.call(fn, filters, [tuple(s) for s in shapes], list(args), dict(kwargs), n_outputs,
                        procedure="block", shown=shown)
        got = _built(out, shown, what)
        ref_inputs = [keras.Input(shape) for shape in shapes]
        ref_outputs = reference(filters, *ref_inputs, *args, **kwargs)
        ref_outputs = list(ref_outputs) if n_outputs > 1 else [ref_outputs]
        _compare(keras.Model(ref_inputs, ref_outputs), got, shown, item.name)


@quiet
def check_encoder_block(encoder_block, hidden=False):
    """Grade ``encoder_block(filters, inputs, dropout_rate=0.1, kernel_initializer="lecun_normal")``.

    It must return ``(skip, pooled)``: two 3x3 convolutions, each followed by
    spatial dropout (the skip), then 2x2 max pooling. Lesson 6 explains it.
    """
    __tracebackhide__ = True
    cases = [
        (16, [(32, 32, 3)], [], {}),
        (8, [(16, 16, 4)], [], {"dropout_rate": 0.2, "kernel_initializer": "he_normal"}),
    ]
    if hidden:
        cases = [
            (12, [(24, 40, 5)], [0.3, "glorot_uniform"], {}),
            (5, [(8, 12, 2)], [], {"dropout_rate": 0.0, "kernel_initializer": "he_uniform"}),
        ]
    _check_block(ENCODER, encoder_block, cases, 2, "(skip, pooled)")


@quiet
def check_bottleneck(bottleneck, hidden=False):
    """Grade ``bottleneck(filters, inputs, dropout_rate=0.1, kernel_initializer="lecun_normal")``.

    Two 3x3 convolutions with spatial dropout and no pooling (the seed's
    ``baseline_layer``). Lesson 6 explains it.
    """
    __tracebackhide__ = True
    cases = [
        (32, [(4, 4, 16)], [], {}),
        (16, [(8, 8, 8)], [], {"dropout_rate": 0.2, "kernel_initializer": "he_normal"}),
    ]
    if hidden:
        cases = [
            (20, [(6, 10, 3)], [0.35, "glorot_normal"], {}),
            (7, [(5, 5, 9)], [], {"dropout_rate": 0.0, "kernel_initializer": "he_uniform"}),
        ]
    _check_block(BOTTLENECK, bottleneck, cases, 1, "one tensor")


@quiet
def check_decoder_block(decoder_block, hidden=False):
    """Grade ``decoder_block(filters, connections, inputs, dropout_rate=0.1, kernel_initializer="lecun_normal")``.

    A 2x2 transposed convolution with stride 2 on ``inputs``, concatenated
    with ``connections`` (in that order), then two 3x3 convolutions with
    spatial dropout. Lesson 6 explains it.
    """
    __tracebackhide__ = True
    cases = [
        (8, [(32, 32, 8), (16, 16, 16)], [], {}),
        (4, [(16, 16, 4), (8, 8, 8)], [], {"dropout_rate": 0.2, "kernel_initializer": "he_normal"}),
    ]
    if hidden:
        cases = [
            (6, [(24, 20, 5), (12, 10, 9)], [0.25, "glorot_uniform"], {}),
            (3, [(8, 16, 7), (4, 8, 2)], [], {"dropout_rate": 0.0, "kernel_initializer": "he_uniform"}),
        ]
    _check_block(DECODER, decoder_block, cases, 1, "one tensor")


@quiet
def check_build_unet(build_unet, hidden=False):
    """Grade ``build_unet(input_shape=(256, 256, 3), filters=32, dropout_rate=0.1, kernel_initializer="lecun_normal")``.

    While it is checked, the package's ``encoder_block``, ``bottleneck`` and
    ``decoder_block`` take the place of the notebook's, so only
    ``build_unet``'s own wiring is graded. With the defaults the model has
    7,760,097 parameters, as the seed's.
    """
    __tracebackhide__ = True
    UNET.start(build_unet)
    cases = [((), {}), ((), {"input_shape": (64, 64, 3), "filters": 4})]
    if hidden:
        cases = [
            (((32, 48, 4), 2, 0.25, "he_uniform"), {}),
            ((), {"input_shape": (16, 16, 1), "filters": 3, "dropout_rate": 0.0,
                  "kernel_initializer": "glorot_normal"}),
        ]
    reference = _reference("build_unet")
    for args, kwargs in cases:
        shown = f"build_unet({_arguments([repr(a) for a in args], kwargs)})"
        got = _as_model(UNET.call(build_unet, *args, shown=shown, stand_ins=block_templates, **kwargs), shown)
        expected = reference(*args, **kwargs)
        _compare(expected, got, f"{shown} (the package's blocks stood in for yours)",
                 "build_unet")
        if not args and not kwargs and got.count_params() != 7_760_097:
            fail(f"{shown} should have the seed's parameter count", "7,760,097",
                 f"{got.count_params():,}", hint=HINTS["build_unet"])
