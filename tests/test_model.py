"""The U-Net and its blocks against the seed's architecture (unet_course.model)."""
import keras
import numpy as np
import pytest

from unet_course.model import (bottleneck, build_unet, decoder_block, encoder_block, level_costs,
                               receptive_field)


# --- the seed's network, written out independently ---------------------------------


def conv(filters, init="LecunNormal", rate=0.1):
    """A 3x3 relu convolution followed by spatial dropout, as (class, config) pairs."""
    return [
        ("Conv2D", {"filters": filters, "kernel_size": (3, 3), "strides": (1, 1),
                    "padding": "same", "activation": "relu", "init": init}),
        ("SpatialDropout2D", {"rate": rate}),
    ]


def seed_layers(f=32, init="LecunNormal", rate=0.1):
    """The seed's layer sequence: 4 encoders, bottleneck, 4 decoders, 1x1 sigmoid head."""
    layers = [("InputLayer", {})]
    for filters in (f, 2 * f, 4 * f, 8 * f):
        layers += conv(filters, init, rate) * 2
        layers += [("MaxPooling2D", {"pool_size": (2, 2), "strides": (2, 2), "padding": "same"})]
    layers += conv(16 * f, init, rate) * 2
    for filters in (8 * f, 4 * f, 2 * f, f):
        layers += [("Conv2DTranspose", {"filters": filters, "kernel_size": (2, 2),
                                         "strides": (2, 2), "padding": "same",
                                         "activation": "relu", "init": init})]
        layers += [("Concatenate", {})]
        layers += conv(filters, init, rate) * 2
    layers += [("Conv2D", {"filters": 1, "kernel_size": (1, 1), "strides": (1, 1),
                           "padding": "valid", "activation": "sigmoid",
                           "init": "GlorotUniform"})]
    return layers


def describe(model):
    """The model's layers as (class, key config) pairs, in the same vocabulary."""
    described = []
    for layer in model.layers:
        config = layer.get_config()
        keys = {}
        for key in ("filters", "kernel_size", "strides", "padding", "activation",
                    "rate", "pool_size"):
            if key in config:
                keys[key] = tuple(config[key]) if isinstance(config[key], list) else config[key]
        if "kernel_initializer" in config:
            keys["init"] = config["kernel_initializer"]["class_name"]
        if type(layer).__name__ == "MaxPooling2D":
            keys.pop("rate", None)
        described.append((type(layer).__name__, keys))
    return described


def unet_parameters(f, channels=3):
    """Parameter count of the seed's U-Net, by hand: k*k*c_in*c_out + c_out per convolution."""
    def conv_params(c_in, c_out, k=3):
        return k * k * c_in * c_out + c_out

    total, c_in = 0, channels
    for filters in (f, 2 * f, 4 * f, 8 * f):
        total += conv_params(c_in, filters) + conv_params(filters, filters)
        c_in = filters
    total += conv_params(c_in, 16 * f) + conv_params(16 * f, 16 * f)
    c_in = 16 * f
    for filters in (8 * f, 4 * f, 2 * f, f):
        total += conv_params(c_in, filters, k=2)           # transposed convolution
        total += conv_params(2 * filters, filters) + conv_params(filters, filters)
        c_in = filters
    return total + conv_params(f, 1, k=1)


@pytest.fixture(scope="module")
def seed_unet():
    return build_unet()


@pytest.fixture(scope="module")
def small_unet():
    keras.utils.set_random_seed(0)
    return build_unet((64, 64, 3), filters=4)


# --- the default network is the seed's ---------------------------------------------


def test_default_unet_has_the_seeds_parameter_count(seed_unet):
    assert seed_unet.count_params() == 7_760_097
    assert unet_parameters(32) == 7_760_097


def test_default_unet_has_the_seeds_layers_in_order(seed_unet):
    got, expected = describe(seed_unet), seed_layers()
    assert len(got) == len(expected) == 50
    for index, (have, want) in enumerate(zip(got, expected)):
        assert have[0] == want[0], f"layer {index}: {have} != {want}"
        for key, value in want[1].items():
            assert have[1][key] == value, f"layer {index} {have[0]}.{key}: {have[1]} != {want}"


def test_default_unet_shapes_name_and_head_dtype(seed_unet):
    assert seed_unet.name == "unet"
    assert seed_unet.input_shape == (None, 256, 256, 3)
    assert seed_unet.output_shape == (None, 256, 256, 1)
    assert seed_unet.layers[-1].dtype_policy.name == "float32"


def test_decoder_concatenates_upsampled_then_skip(seed_unet):
    concatenates = [layer for layer in seed_unet.layers if type(layer).__name__ == "Concatenate"]
    skip_sizes = [32, 64, 128, 256]
    for layer, size in zip(concatenates, skip_sizes):
        up, skip = layer.input
        assert type(up._keras_history[0]).__name__ == "Conv2DTranspose"
        assert type(skip._keras_history[0]).__name__ == "SpatialDropout2D"
        assert tuple(skip.shape[1:3]) == (size, size)


# --- options ---------------------------------------------------------------------


@pytest.mark.parametrize("shape, filters", [((64, 64, 3), 8), ((32, 48, 4), 4)])
def test_parameter_count_follows_filters_and_channels(shape, filters):
    model = build_unet(shape, filters=filters)
    assert model.count_params() == unet_parameters(filters, channels=shape[2])
    assert model.output_shape == (None, shape[0], shape[1], 1)


def test_initializer_and_dropout_reach_every_block():
    model = build_unet((32, 32, 3), filters=4, dropout_rate=0.3, kernel_initializer="he_normal")
    got, expected = describe(model), seed_layers(4, init="HeNormal", rate=0.3)
    assert [name for name, _ in got] == [name for name, _ in expected]
    assert got == [(name, {**have, **want}) for (name, have), (_, want) in zip(got, expected)]


def test_initializer_object_is_accepted():
    model = build_unet((32, 32, 3), filters=4, kernel_initializer=keras.initializers.HeUniform())
    classes = {cfg["init"] for _, cfg in describe(model)[:-1] if "init" in cfg}
    assert classes == {"HeUniform"}


# --- forward pass on small shapes -----------------------------------------------------


def test_forward_pass_gives_probabilities(small_unet):
    images = np.random.default_rng(0).random((2, 64, 64, 3)).astype("float32")
    probs = np.asarray(small_unet(images, training=False))
    assert probs.shape == (2, 64, 64, 1)
    assert probs.dtype == np.float32
    assert np.all((probs >= 0) & (probs <= 1))
    np.testing.assert_array_equal(probs, np.asarray(small_unet(images, training=False)))


def test_dropout_is_active_only_in_training(small_unet):
    images = np.random.default_rng(1).random((1, 64, 64, 3)).astype("float32")
    inference = np.asarray(small_unet(images, training=False))
    training = np.asarray(small_unet(images, training=True))
    assert not np.allclose(inference, training)


def test_spatial_dropout_drops_whole_feature_maps():
    layer = build_unet((16, 16, 3), filters=8, dropout_rate=0.5).layers[2]
    out = np.asarray(layer(np.ones((4, 16, 16, 8), "float32"), training=True))
    per_map = out.reshape(4, 256, 8)
    assert np.all(per_map.min(axis=1) == per_map.max(axis=1))   # each map all 0 or all 2
    assert set(np.unique(out)) <= {0.0, 2.0}


# --- blocks in isolation -----------------------------------------------------------


def test_encoder_block_shapes_and_parameters():
    inputs = keras.Input((16, 16, 3))
    skip, pooled = encoder_block(4, inputs)
    assert tuple(skip.shape) == (None, 16, 16, 4)
    assert tuple(pooled.shape) == (None, 8, 8, 4)
    block = keras.Model(inputs, [skip, pooled])
    assert block.count_params() == (27 * 4 + 4) + (36 * 4 + 4)
    assert [type(layer).__name__ for layer in block.layers[1:]] == [
        "Conv2D", "SpatialDropout2D", "Conv2D", "SpatialDropout2D", "MaxPooling2D"]


def test_bottleneck_keeps_the_size():
    inputs = keras.Input((4, 4, 8))
    outputs = bottleneck(16, inputs, dropout_rate=0.2)
    assert tuple(outputs.shape) == (None, 4, 4, 16)
    block = keras.Model(inputs, outputs)
    assert block.count_params() == (72 * 16 + 16) + (144 * 16 + 16)
    assert [layer.rate for layer in block.layers if hasattr(layer, "rate")] == [0.2, 0.2]


def test_decoder_block_doubles_the_size():
    low, skip = keras.Input((4, 4, 16)), keras.Input((8, 8, 8))
    outputs = decoder_block(8, skip, low)
    assert tuple(outputs.shape) == (None, 8, 8, 8)
    block = keras.Model([low, skip], outputs)
    expected = (4 * 16 * 8 + 8) + (9 * 16 * 8 + 8) + (9 * 8 * 8 + 8)
    assert block.count_params() == expected


# --- bad arguments: one clear error naming the argument -------------------------------


@pytest.mark.parametrize("kwargs, word", [
    ({"input_shape": (60, 64, 3)}, "divisible by 16"),
    ({"input_shape": (64, 40, 3)}, "divisible by 16"),
    ({"input_shape": (64, 64)}, "input_shape"),
    ({"input_shape": (64, 64, 0)}, "channels"),
    ({"input_shape": "64x64"}, "input_shape"),
    ({"filters": 0}, "filters"),
    ({"filters": 2.5}, "filters"),
    ({"dropout_rate": 1.0}, "dropout_rate"),
    ({"dropout_rate": -0.1}, "dropout_rate"),
    ({"dropout_rate": "0.1"}, "dropout_rate"),
    ({"kernel_initializer": "lecun_normall"}, "kernel_initializer"),
    ({"kernel_initializer": None}, "kernel_initializer"),
])
def test_build_unet_rejects_bad_arguments(kwargs, word):
    arguments = {"input_shape": (64, 64, 3), "filters": 4, **kwargs}
    with pytest.raises(ValueError, match=word):
        build_unet(**arguments)


@pytest.mark.parametrize("block", [encoder_block, bottleneck])
def test_blocks_reject_bad_arguments(block):
    inputs = keras.Input((8, 8, 3))
    with pytest.raises(ValueError, match="filters"):
        block(-1, inputs)
    with pytest.raises(ValueError, match="dropout_rate"):
        block(4, inputs, dropout_rate=1.5)
    with pytest.raises(ValueError, match="kernel_initializer"):
        block(4, inputs, kernel_initializer="nope")


def test_decoder_block_rejects_bad_arguments():
    low, skip = keras.Input((4, 4, 8)), keras.Input((8, 8, 4))
    with pytest.raises(ValueError, match="filters"):
        decoder_block(0, skip, low)
    with pytest.raises(ValueError, match="dropout_rate"):
        decoder_block(4, skip, low, dropout_rate=2)


# --- what a level of the U costs (lesson 6) ----------------------------------------------


def test_receptive_field_of_a_bottleneck_position():
    # by hand: 3x3 convolutions add 2 * stride, 2x2 poolings add 1 * stride and double it
    field, stride = 1, 1
    for _ in range(4):
        field += 2 * stride + 2 * stride + stride
        stride *= 2
    field += 2 * stride + 2 * stride
    assert (field, stride) == (140, 16)
    assert receptive_field(build_unet()) == (140, 16)
    assert receptive_field(build_unet((64, 64, 3), filters=4)) == (140, 16)


def test_level_costs_by_hand(seed_unet):
    f, size = 32, 256
    by_hand = {}
    c_in = 3
    for level in range(4):                                    # encoder convolutions
        s, c = size >> level, f << level
        by_hand[level] = 9 * c_in * c * s * s + 9 * c * c * s * s
        c_in = c
    s, c = size >> 4, f << 4
    by_hand[4] = 9 * c_in * c * s * s + 9 * c * c * s * s     # bottleneck
    for level in range(4):                                    # decoder: up (on the input), two convolutions
        s, c = size >> level, f << level
        by_hand[level] += 4 * (2 * c) * c * (s // 2) ** 2 + 9 * (2 * c) * c * s * s + 9 * c * c * s * s
    by_hand[0] += f * 1 * size * size                         # the 1x1 head
    rows = level_costs(seed_unet)
    assert [row["level"] for row in rows] == [0, 1, 2, 3, 4]
    assert [row["size"] for row in rows] == [256, 128, 64, 32, 16]
    assert [row["multiply_adds"] for row in rows] == [by_hand[k] for k in range(5)]
    assert sum(row["params"] for row in rows) == seed_unet.count_params()
    # compute is about the same at every level above the bottleneck; activations shrink 4x per level
    top = [row["multiply_adds"] for row in rows[:4]]
    assert max(top) / min(top) < 1.1
    assert rows[0]["activations"] > 30 * rows[4]["activations"]
