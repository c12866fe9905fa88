"""Tests for unet_course.lessons.blocks and unet_course.lessons.unet_figure (lesson 6: the U-Net's blocks)."""
from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from unet_course.lessons.blocks import (  # noqa: E402
    block_parameter_formula,
    coarse_view,
    format_block_table,
    unet_blocks,
    unet_parameter_formula,
)
from unet_course.lessons.unet_figure import plot_block_parameters, plot_unet  # noqa: E402
from unet_course.model import build_unet  # noqa: E402


@pytest.fixture(scope="module")
def small_unet():
    return build_unet((32, 32, 3), filters=2)


def conv_params(k, c_in, c_out):
    """Weights plus biases of a k x k convolution, written out independently."""
    return k * k * c_in * c_out + c_out


def test_blocks_names_order_and_total(small_unet):
    blocks = unet_blocks(small_unet)
    assert [b.name for b in blocks] == [
        "encoder 1", "encoder 2", "encoder 3", "encoder 4", "bottleneck",
        "decoder 4", "decoder 3", "decoder 2", "decoder 1", "head",
    ]
    assert sum(b.params for b in blocks) == small_unet.count_params()
    assert [b.level for b in blocks] == [1, 2, 3, 4, 5, 4, 3, 2, 1, 1]


def test_blocks_shapes_follow_the_u(small_unet):
    blocks = {b.name: b for b in unet_blocks(small_unet)}
    assert blocks["encoder 1"].input_shape == (32, 32, 3)
    assert blocks["encoder 1"].skip_shape == (32, 32, 2)
    assert blocks["encoder 1"].output_shape == (16, 16, 2)
    assert blocks["encoder 4"].output_shape == (2, 2, 16)
    assert blocks["bottleneck"].output_shape == (2, 2, 32)
    assert blocks["bottleneck"].skip_shape is None
    assert blocks["decoder 4"].output_shape == (4, 4, 16)
    assert blocks["decoder 1"].output_shape == (32, 32, 2)
    assert blocks["head"].output_shape == (32, 32, 1)
    for level in range(1, 5):
        # decoder k receives exactly what encoder k hands across
        assert blocks[f"decoder {level}"].skip_shape == blocks[f"encoder {level}"].skip_shape
    assert blocks["decoder 1"].layers[:2] == ("Conv2DTranspose", "Concatenate")
    assert blocks["encoder 1"].layers[-1] == "MaxPooling2D"


def test_block_formula_by_hand():
    assert block_parameter_formula("encoder", 3, 32) == conv_params(3, 3, 32) + conv_params(3, 32, 32)
    assert block_parameter_formula("encoder", 3, 32) == 10144
    assert block_parameter_formula("bottleneck", 256, 512) == 3_539_968
    assert block_parameter_formula("decoder", 512, 256) == (
        conv_params(2, 512, 256) + conv_params(3, 512, 256) + conv_params(3, 256, 256))
    assert block_parameter_formula("decoder", 8, 4, skip_channels=1) == (
        conv_params(2, 8, 4) + conv_params(3, 5, 4) + conv_params(3, 4, 4))
    assert block_parameter_formula("head", 32, 1) == 33


@pytest.mark.parametrize("filters, channels", [(2, 3), (3, 1)])
def test_formula_matches_keras_block_by_block(filters, channels):
    model = build_unet((16, 16, channels), filters=filters)
    for block in unet_blocks(model):
        filters_out = block.output_shape[-1]
        skip = block.skip_shape[-1] if block.kind == "decoder" else None
        assert block.params == block_parameter_formula(
            block.kind, block.input_shape[-1], filters_out, skip), block.name
    assert unet_parameter_formula(filters, channels) == model.count_params()


def test_whole_formula_seed_and_depth_one():
    assert unet_parameter_formula() == 7_760_097
    expected = (conv_params(3, 3, 4) + conv_params(3, 4, 4)            # encoder
                + conv_params(3, 4, 8) + conv_params(3, 8, 8)          # bottleneck
                + conv_params(2, 8, 4) + conv_params(3, 8, 4) + conv_params(3, 4, 4)
                + conv_params(1, 4, 1))
    assert unet_parameter_formula(filters=4, in_channels=3, depth=1) == expected


def test_params_do_not_depend_on_tile_size():
    a = build_unet((16, 16, 3), filters=2).count_params()
    b = build_unet((48, 32, 3), filters=2).count_params()
    assert a == b == unet_parameter_formula(2, 3)


@pytest.mark.parametrize("kwargs, word", [
    (dict(kind="pooling", in_channels=3, filters=4), "kind"),
    (dict(kind="encoder", in_channels=0, filters=4), "in_channels"),
    (dict(kind="encoder", in_channels=3, filters=2.5), "filters"),
    (dict(kind="decoder", in_channels=3, filters=4, skip_channels=0), "skip_channels"),
])
def test_formula_rejects_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        block_parameter_formula(**kwargs)


def test_unet_blocks_rejects_a_model_that_is_not_a_u():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    flat = keras.Model(inputs, keras.layers.Conv2D(1, 1)(x), name="flat")
    with pytest.raises(ValueError, match="'flat'"):
        unet_blocks(flat)
    headless = keras.Model(inputs, keras.layers.MaxPooling2D()(x), name="headless")
    with pytest.raises(ValueError, match="1x1 Conv2D head"):
        unet_blocks(headless)


def test_table_lists_every_block_and_the_total(small_unet):
    blocks = unet_blocks(small_unet)
    table = format_block_table(blocks)
    lines = table.splitlines()
    assert len(lines) == len(blocks) + 4  # header, rule, rows, rule, total
    assert lines[-1].startswith("total") and f"{small_unet.count_params():,}" in lines[-1]
    assert "32x32x3" in lines[2] and "100.0%" in lines[-1]
    with pytest.raises(ValueError, match="empty"):
        format_block_table([])


def test_figures_show_every_block(small_unet):
    blocks = unet_blocks(small_unet)
    fig = plot_unet(blocks)
    texts = {t.get_text() for t in fig.axes[0].texts}
    for block in blocks:
        assert block.name in texts
    assert "skip 32x32x2" in texts
    bars = plot_block_parameters(blocks)
    heights = [p.get_height() for p in bars.axes[0].patches]
    assert heights == [b.params for b in blocks]


def test_coarse_view_averages_blocks():
    image = np.arange(16, dtype=float).reshape(4, 4)
    out = coarse_view(image, factor=2)
    expected = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            bi, bj = (i // 2) * 2, (j // 2) * 2
            expected[i, j] = image[bi:bi + 2, bj:bj + 2].mean()
    np.testing.assert_allclose(out, expected)
    rgb = np.stack([image, 2 * image, np.zeros_like(image)], axis=-1).astype(np.uint8)
    out_rgb = coarse_view(rgb, factor=4)
    assert out_rgb.shape == (4, 4, 3)
    np.testing.assert_allclose(out_rgb[..., 0], image.mean())
    np.testing.assert_allclose(out_rgb[..., 2], 0.0)
    np.testing.assert_allclose(coarse_view(image, factor=1), image)


def test_coarse_view_rejects_bad_input():
    with pytest.raises(ValueError, match="divisible by factor=3"):
        coarse_view(np.zeros((4, 4)), factor=3)
    with pytest.raises(ValueError, match="shape"):
        coarse_view(np.zeros(4), factor=2)
    with pytest.raises(ValueError, match="factor"):
        coarse_view(np.zeros((4, 4)), factor=0)
