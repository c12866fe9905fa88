"""Practice for lessons 4-6: initializers, spatial dropout, the U-Net's blocks.

Plain numpy and arithmetic: the checks build no Keras layer, so they cost
nothing under nbval.
"""
from __future__ import annotations

import numpy as np

from unet_course.grading.messages import fail
from unet_course.lessons.practice.exercise import Exercise, call, expect_cases, expect_number, same_array

# --- lesson 4: kernel initializers ----------------------------------------------


def _check_fan_in(fn):
    cases = [(((3, 3, 32, 32),), 288, ""), (((3, 3, 3, 32),), 27, ""), (((2, 2, 64, 32),), 256, ""),
             (((1, 1, 32, 1),), 32, "")]
    expect_cases(fn, "kernel_fan_in", cases, 1e-9,
                 hint="a kernel's shape is (height, width, input channels, filters): one output "
                      "value reads the window over every input channel, whatever the filters")


FAN_IN = Exercise(
    4, "kernel_fan_in",
    "write kernel_fan_in(kernel_shape): how many inputs one output value of a convolution sums over, for a "
    "kernel of shape (kh, kw, c_in, c_out).",
    ("The fan-in counts the products one output value adds up: the positions of the window times the "
     "channels it reads.",
     "fan_in = kernel height × kernel width × input channels; the number of filters does not enter."),
    "def kernel_fan_in(kernel_shape):\n    kh, kw, c_in, _ = kernel_shape\n    return kh * kw * c_in\n",
    _check_fan_in,
)


def _check_gain(fn):
    cases = [((288, 1 / 288), 0.5, "LeCun normal"), ((288, 2 / 288), 1.0, "He normal"),
             ((27, 1.0), 13.5, "a normal of variance 1 on 27 inputs")]
    expect_cases(fn, "gain", cases, 1e-6,
                 hint="the sum over the fan-in multiplies the mean square by fan_in * Var(w), and "
                      "the relu keeps only half of it")


GAIN = Exercise(
    4, "gain",
    "write gain(fan_in, variance): the factor by which one convolution + relu layer multiplies the mean "
    "square of its input, for weights of that variance.",
    ("The variance argument: a sum of fan-in independent products, then a relu that zeroes the "
     "negative half of a symmetric signal.",
     "g = fan_in · Var(w) / 2."),
    "def gain(fan_in, variance):\n    return fan_in * variance / 2\n",
    _check_gain,
)


def _check_rms_after_10(value):
    expect_number("rms_after_10, the rms after 10 conv + relu layers with LeCun normal (input rms 1)",
                  value, np.sqrt(0.5 ** 10), 1e-4,
                  hint="the gain multiplies the mean square, not the rms: 0.5 ** 10 is the mean square, "
                       "take its square root")


RMS_AFTER_10 = Exercise(
    4, "rms_after_10",
    "set rms_after_10 to the root mean square of the activations after 10 convolution + relu layers "
    "initialised with LeCun normal, for an input of rms 1.",
    ("LeCun normal's gain with a relu is the same at every layer, and gains multiply; remember which "
     "quantity the gain multiplies.",
     "mean square after L layers = g^L with g = fan_in · (1 / fan_in) / 2; the rms is its square root."),
    "rms_after_10 = np.sqrt(0.5 ** 10)\n",
    _check_rms_after_10,
)

# --- lesson 5: spatial dropout --------------------------------------------------


def _check_inverted_dropout(fn):
    values = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    keep = np.array([[1, 0, 1], [1, 1, 0]])
    for rate in (0.5, 0.1):
        shown = f"inverted_dropout(values, keep, rate={rate}) on 2 x 3 values, 2 of them dropped"
        same_array(shown, call(fn, values, keep, rate, shown=shown), values * keep / (1 - rate), 1e-6,
                   hint="dropped values become 0, and the survivors are scaled up so the average "
                        "output stays the same")


INVERTED_DROPOUT = Exercise(
    5, "inverted_dropout",
    "write inverted_dropout(values, keep, rate): what Dropout(rate) outputs while training, given the "
    "0/1 array keep of the values it keeps.",
    ("Dropout zeroes the dropped values and rescales the survivors, so that the expected output equals "
     "the input and nothing changes at inference.",
     "output = values · keep / (1 − rate)."),
    "def inverted_dropout(values, keep, rate):\n    return values * keep / (1 - rate)\n",
    _check_inverted_dropout,
)


def _check_spatial_dropout(fn):
    features = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4) + 1
    dropped = np.array([False, True, False, True])
    for rate in (0.5, 0.25):
        shown = (f"spatial_dropout(features, dropped, rate={rate}) on features of shape (2, 3, 4), "
                 f"channels 1 and 3 dropped")
        got = same_array(shown, call(fn, features, dropped, rate, shown=shown),
                         features * ~dropped / (1 - rate), 1e-6,
                         hint="a dropped channel is zero at every pixel, the other channels are scaled "
                              "by 1 / (1 - rate)")
        if np.any(got[..., dropped] != 0):
            fail(shown + ": a dropped channel still has values", "0 everywhere", got[..., 1],
                 hint="the decision is per channel, the last axis")


SPATIAL_DROPOUT = Exercise(
    5, "spatial_dropout",
    "write spatial_dropout(features, dropped, rate): what SpatialDropout2D(rate) outputs while "
    "training for features (H, W, C), given the boolean vector dropped of the channels it drops.",
    ("A whole feature map goes at once: the same keep-or-drop decision for every pixel of a channel, "
     "broadcast over height and width, and the survivors rescaled as in Dropout.",
     "output[h, w, c] = features[h, w, c] · (not dropped[c]) / (1 − rate)."),
    "def spatial_dropout(features, dropped, rate):\n"
    "    keep = ~np.asarray(dropped)          # one decision per channel (the last axis)\n"
    "    return features * keep / (1 - rate)\n",
    _check_spatial_dropout,
)

# --- lesson 6: the U-Net's blocks -----------------------------------------------


def _check_conv_params(fn):
    cases = [((3, 3, 32), 3 * 3 * 3 * 32 + 32, "the first convolution of encoder 1"),
             ((3, 32, 32), 9248, ""), ((2, 64, 32), 8224, "a transposed convolution"), ((1, 32, 1), 33, "the head")]
    expect_cases(fn, "conv_params", cases, 1e-9,
                 hint="each filter has one k x k kernel for every input channel, and one bias")


CONV_PARAMS = Exercise(
    6, "conv_params",
    "write conv_params(k, c_in, c_out): the parameters of a k x k convolution from c_in channels to "
    "c_out filters, biases included.",
    ("Each filter holds one k x k kernel per input channel, plus one bias; the tile's size does not "
     "enter.",
     "parameters = k² · c_in · c_out + c_out."),
    "def conv_params(k, c_in, c_out):\n    return k * k * c_in * c_out + c_out\n",
    _check_conv_params,
)

_DECODER = (2 * 2 * 32 * 16 + 16) + (3 * 3 * 32 * 16 + 16) + (3 * 3 * 16 * 16 + 16)


def _check_decoder_params(value):
    expect_number("decoder_params, the parameters of a decoder block with 16 filters that receives "
                  "32 channels from below and a 16-channel skip", value, _DECODER, 1e-9,
                  hint="three layers learn; the first 3 x 3 convolution reads the upsampled and the "
                       "skip channels together (16 + 16)")


DECODER_PARAMS = Exercise(
    6, "decoder_params",
    "set decoder_params to the number of parameters of a decoder block with 16 filters, fed 32 channels "
    "from below and a 16-channel skip connection.",
    ("Three layers learn: the 2 x 2 transposed convolution, then two 3 x 3 convolutions; the first of "
     "those reads what the concatenation stacked.",
     "each layer has k² · c_in · c_out + c_out, with (k, c_in) = (2, 32), (3, 16 + 16) and (3, 16), "
     "and c_out = 16; add the three."),
    "decoder_params = (2 * 2 * 32 * 16 + 16) + (3 * 3 * (16 + 16) * 16 + 16) + (3 * 3 * 16 * 16 + 16)\n",
    _check_decoder_params,
)

EXERCISES = [FAN_IN, GAIN, RMS_AFTER_10, INVERTED_DROPOUT, SPATIAL_DROPOUT, CONV_PARAMS, DECODER_PARAMS]

__all__ = ["EXERCISES"]
