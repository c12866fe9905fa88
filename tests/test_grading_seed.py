"""The seed's own code, typed into the assignments as a student would (issue 11, items 1 and 4).

The seed's ``encoder_block``, ``baseline_layer`` (the assignment's
``bottleneck``) and ``decoder_block``, as ``tests/test_seed_fidelity.py``
transcribes them verbatim, are pasted with the seed's imports into
assignment 3's cells: they earn full marks, visible and
hidden. ``build_unet`` is the seed's ``unet()`` with the assignment's
arguments in place of its constants, and the seed's head. The seed's
``dice_metric`` passes assignment 2's check except where the course
deliberately differs (0/0), and there the message says so.
"""
import inspect

import pytest
import test_seed_fidelity as fidelity
from _grading_notebooks import define, solution_namespace

from unet_course import grading

SEED_IMPORTS = """
import tensorflow as tf
import keras
from keras.layers import Conv2D, Conv2DTranspose, Input, MaxPooling2D, SpatialDropout2D, concatenate
from keras.models import Model
"""

#: The seed's blocks, from the one transcription of its listings (tests/test_seed_fidelity.py).
SEED_ENCODER = inspect.getsource(fidelity.encoder_block)
SEED_BASELINE = inspect.getsource(fidelity.baseline_layer) + "bottleneck = baseline_layer\n"
SEED_DECODER = inspect.getsource(fidelity.decoder_block)

#: The seed's unet() with the assignment's arguments in place of 256x256x3, 32, 0.1, lecun_normal.
SEED_UNET = """
def build_unet(input_shape=(256, 256, 3), filters=32, dropout_rate=0.1, kernel_initializer="lecun_normal"):
    inputs = Input(shape = input_shape)
    s1, p1 = encoder_block(filters, inputs, dropout_rate, kernel_initializer)
    s2, p2 = encoder_block(2 * filters, p1, dropout_rate, kernel_initializer)
    s3, p3 = encoder_block(4 * filters, p2, dropout_rate, kernel_initializer)
    s4, p4 = encoder_block(8 * filters, p3, dropout_rate, kernel_initializer)
    baseline = baseline_layer(16 * filters, p4, dropout_rate, kernel_initializer)
    d1 = decoder_block(8 * filters, s4, baseline, dropout_rate, kernel_initializer)
    d2 = decoder_block(4 * filters, s3, d1, dropout_rate, kernel_initializer)
    d3 = decoder_block(2 * filters, s2, d2, dropout_rate, kernel_initializer)
    d4 = decoder_block(filters, s1, d3, dropout_rate, kernel_initializer)
    outputs = Conv2D(1, 1, activation = 'sigmoid')(d4)
    model = Model(inputs = inputs, outputs = outputs, name = 'Unet')
    return model
"""

SEED_DICE = """
def dice_metric(y_true, y_pred):
    y_pred = tf.cast(y_pred > 0.5, tf.float32)
    intersection = tf.reduce_sum(y_true * y_pred)
    total_sum = tf.reduce_sum(y_true) + tf.reduce_sum(y_pred)
    dice = tf.math.divide_no_nan(2 * intersection, total_sum)
    return dice
"""


@pytest.fixture(scope="module")
def seed_a3():
    """Assignment 3's setup cell, then the seed's code in place of every answer."""
    namespace = solution_namespace("a3_unet_blocks")
    for name in ("encoder_block", "bottleneck", "decoder_block", "build_unet", "baseline_layer"):
        namespace.pop(name, None)
    for source in (SEED_IMPORTS, SEED_ENCODER, SEED_BASELINE, SEED_DECODER, SEED_UNET):
        define(source, namespace)
    return namespace


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("name", ["encoder_block", "bottleneck", "decoder_block", "build_unet"])
def test_the_seeds_code_earns_full_marks_in_assignment_3(seed_a3, name, hidden):
    getattr(grading, f"check_{name}")(seed_a3[name], hidden=hidden)


def test_the_seeds_dice_metric_meets_the_course_convention_with_an_explanation():
    namespace = define(SEED_IMPORTS + SEED_DICE)
    with pytest.raises(AssertionError) as error:
        grading.check_dice_metric(namespace["dice_metric"])
    message = str(error.value)
    assert "an empty mask predicted empty" in message
    assert "divide_no_nan" in message and "deliberately differs" in message
    assert "expected: 1 (the course's convention for 0/0)" in message
