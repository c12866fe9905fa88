"""The layer-by-layer comparison of assignment 3, on small Keras models."""
from __future__ import annotations

import keras
import pytest
from keras import layers

from unet_course.grading.architecture import align, compare_models, format_table, layer_rows


def block(conv=None, rate=0.1, drop=True, extra=False, order=("up", "skip"), outputs="both"):
    """A small two-input block in the decoder's shape; arguments change one thing each."""
    conv = {"filters": 4, "kernel_size": (3, 3), "padding": "same", "activation": "relu",
            "kernel_initializer": "lecun_normal", "strides": (1, 1), **(conv or {})}
    skip_in, x_in = keras.Input((8, 8, 3)), keras.Input((4, 4, 5))
    up = layers.Conv2DTranspose(4, (2, 2), strides=(2, 2), padding="same")(x_in)
    parts = {"up": up, "skip": skip_in}
    x = layers.Concatenate()([parts[name] for name in order])
    x = layers.Conv2D(**conv)(x)
    if drop:
        x = layers.SpatialDropout2D(rate)(x)
    if extra:
        x = layers.Activation("relu")(x)
    pooled = layers.MaxPooling2D((2, 2))(x)
    outs = [x, pooled] if outputs == "both" else [pooled, x]
    return keras.Model([skip_in, x_in], outs)


def test_identical_architectures_match():
    assert compare_models(block(), block()) is None


def test_rows_describe_class_settings_shape_params_and_inputs():
    rows = layer_rows(block())
    conv = next(r for r in rows if r.kind == "Conv2D")
    assert conv.describe() == "4, 3x3, s1x1, same, relu, LecunNormal"
    assert conv.output == "8x8x4" and conv.params == 3 * 3 * 7 * 4 + 4
    assert [r.kind for r in rows[:2]] == ["InputLayer", "InputLayer"]
    concat = next(r for r in rows if r.kind == "Concatenate")
    assert concat.inputs == (3, 1)


@pytest.mark.parametrize("change, field", [
    ({"filters": 6}, "filters 4 -> 6"),
    ({"kernel_size": (5, 5)}, "kernel size 3x3 -> 5x5"),
    ({"strides": (2, 2)}, "strides s1x1 -> s2x2"),
    ({"padding": "valid"}, "padding same -> valid"),
    ({"activation": "sigmoid"}, "activation relu -> sigmoid"),
    ({"kernel_initializer": "he_normal"}, "initializer LecunNormal -> HeNormal"),
])
def test_each_setting_of_a_convolution_is_compared(change, field):
    report = compare_models(block(), block(conv=change))
    assert report.startswith("the layers differ (")
    assert field in report


def test_a_different_dropout_rate_is_reported():
    assert "dropout rate rate 0.1 -> rate 0.3" in compare_models(block(), block(rate=0.3))


def test_a_missing_layer_is_one_row_not_a_shift():
    report = compare_models(block(), block(drop=False))
    assert report.startswith("the layers differ (1 layer(s) missing;")
    lines = [line for line in report.splitlines() if "missing" in line and "SpatialDropout2D" in line]
    assert len(lines) == 1
    assert "expected" not in report.split("\n", 1)[1]


def test_an_extra_layer_is_one_row():
    report = compare_models(block(), block(extra=True))
    assert "1 layer(s) extra" in report
    assert any("extra" in line and "Activation" in line for line in report.splitlines())


def test_swapped_concatenation_is_a_wiring_difference():
    report = compare_models(block(), block(order=("skip", "up")))
    assert report.startswith("every layer matches, but they are connected differently")
    assert "Concatenate: expected inputs from layer(s) 3 (Conv2DTranspose), 1 (InputLayer)" in report


def test_swapped_outputs_are_reported():
    report = compare_models(block(), block(outputs="swapped"))
    assert report.startswith("every layer matches, but the outputs come from layer(s)")


def test_long_runs_of_matching_rows_collapse():
    rows = layer_rows(block())
    pairs = [("ok", r, r) for r in rows] * 4
    pairs[-1] = ("missing", rows[-1], None)
    table = format_table(align([p[1] for p in pairs], [p[2] for p in pairs if p[2]]))
    assert "matching layer(s)" in table
    assert len(table.splitlines()) < len(pairs)
