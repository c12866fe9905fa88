"""The package's U-Net is the seed's network, layer for layer (issue 11, item 1).

The seed's listings (``/work/shared/seed/001_310bc2cc4ebff8b5.txt``) are
transcribed below, by hand, in the seed's own words: the same Keras calls,
the same arguments, the same order; only the Chinese function names
(``基础层``, ``解码器块``) are written as the names the seed's ``unet()`` calls
(``baseline_layer``, ``decoder_block``). Nothing here is imported from
``unet_course.model``: the tests build both networks and compare every
layer's class, order and full Keras config, the wiring, the parameter count
and the outputs on identical weights.
"""
import keras
import numpy as np
import pytest
from keras.layers import (Conv2D, Conv2DTranspose, Input, MaxPooling2D, SpatialDropout2D,
                          concatenate)
from keras.models import Model

from unet_course import model as package


# --- the seed's listings, transcribed --------------------------------------------------


def encoder_block(filters, inputs, dropout_rate=0.1, kernel_initializer='lecun_normal'):
    x = Conv2D(filters, kernel_size=(3, 3), padding='same', strides=1, activation='relu',
               kernel_initializer=kernel_initializer)(inputs)
    x = SpatialDropout2D(dropout_rate)(x)
    s = Conv2D(filters, kernel_size=(3, 3), padding='same', strides=1, activation='relu',
               kernel_initializer=kernel_initializer)(x)
    s = SpatialDropout2D(dropout_rate)(s)
    p = MaxPooling2D(pool_size=(2, 2), padding='same')(s)
    return s, p


def baseline_layer(filters, inputs, dropout_rate=0.1, kernel_initializer='lecun_normal'):
    x = Conv2D(filters, kernel_size=(3, 3), padding='same', strides=1, activation='relu',
               kernel_initializer=kernel_initializer)(inputs)
    x = SpatialDropout2D(dropout_rate)(x)
    x = Conv2D(filters, kernel_size=(3, 3), padding='same', strides=1, activation='relu',
               kernel_initializer=kernel_initializer)(x)
    x = SpatialDropout2D(dropout_rate)(x)
    return x


def decoder_block(filters, connections, inputs, dropout_rate=0.1, kernel_initializer='lecun_normal'):
    x = Conv2DTranspose(filters, kernel_size=(2, 2), padding='same', activation='relu', strides=2,
                        kernel_initializer=kernel_initializer)(inputs)
    skip_connections = concatenate([x, connections], axis=-1)
    x = Conv2D(filters, kernel_size=(3, 3), padding='same', activation='relu',
               kernel_initializer=kernel_initializer)(skip_connections)
    x = SpatialDropout2D(dropout_rate)(x)
    x = Conv2D(filters, kernel_size=(3, 3), padding='same', activation='relu',
               kernel_initializer=kernel_initializer)(x)
    x = SpatialDropout2D(dropout_rate)(x)
    return x


def unet():
    inputs = Input(shape = (256, 256, 3))
    s1, p1 = encoder_block(32, inputs = inputs)
    s2, p2 = encoder_block(64, inputs = p1)
    s3, p3 = encoder_block(128, inputs = p2)
    s4, p4 = encoder_block(256, inputs = p3)
    baseline = baseline_layer(512, p4)
    d1 = decoder_block(256, s4, baseline)
    d2 = decoder_block(128, s3, d1)
    d3 = decoder_block(64, s2, d2)
    d4 = decoder_block(32, s1, d3)
    outputs = Conv2D(1, 1, activation = 'sigmoid')(d4)
    model = Model(inputs = inputs, outputs = outputs, name = 'Unet')
    return model


# --- comparing two networks ---------------------------------------------------------------

#: The settings the issue names; every other config key is compared too (``config`` below).
NAMED = ("filters", "kernel_size", "strides", "padding", "activation", "kernel_initializer",
         "rate", "pool_size")


def config(layer):
    """A layer's full Keras config without its (auto-numbered) name."""
    return {key: value for key, value in layer.get_config().items() if key != "name"}


def feeders(model):
    """For each layer, the indices (in ``model.layers``) of the layers that feed it."""
    index = {id(layer): n for n, layer in enumerate(model.layers)}
    wiring = []
    for layer in model.layers:
        nodes = layer._inbound_nodes
        wiring.append(tuple(index[id(t._keras_history.operation)] for t in nodes[0].input_tensors)
                      if nodes and nodes[0].input_tensors else ())
    return wiring


def assert_same_network(seed_model, package_model):
    """Same layer classes in the same order, the same configs, the same wiring."""
    want, got = seed_model.layers, package_model.layers
    assert [type(layer).__name__ for layer in got] == [type(layer).__name__ for layer in want]
    for n, (w, g) in enumerate(zip(want, got)):
        wc, gc = config(w), config(g)
        for key in NAMED:
            assert (key in gc) == (key in wc), f"layer {n} {type(g).__name__}: {key} present?"
            assert gc.get(key) == wc.get(key), (
                f"layer {n} {type(g).__name__}.{key}: package {gc.get(key)!r}, seed {wc.get(key)!r}")
        assert gc == wc, f"layer {n} {type(g).__name__}: package {gc}, seed {wc}"
    assert feeders(package_model) == feeders(seed_model)
    assert package_model.count_params() == seed_model.count_params()


def _outputs(model, x):
    result = model(x, training=False)
    return [np.asarray(r) for r in (result if isinstance(result, (list, tuple)) else [result])]


def assert_same_outputs(seed_model, package_model, seed=0):
    """With the package's weights copied into the seed's network, the predictions agree.

    Dropout is inactive (``training=False``), so both are deterministic.
    """
    seed_model.set_weights(package_model.get_weights())
    rng = np.random.default_rng(seed)
    x = [rng.random((2, *tuple(t.shape)[1:])).astype("float32") for t in seed_model.inputs]
    x = x[0] if len(x) == 1 else x
    want, got = _outputs(seed_model, x), _outputs(package_model, x)
    assert len(want) == len(got)
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-6)
        assert w.std() > 0, "the outputs should depend on the input"


# --- the whole network ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def networks():
    keras.utils.set_random_seed(1)
    return unet(), package.build_unet()


def test_build_unet_is_the_seeds_unet_layer_for_layer(networks):
    seed_model, package_model = networks
    assert len(package_model.layers) == len(seed_model.layers) == 50
    assert_same_network(seed_model, package_model)


def test_the_seeds_parameter_count(networks):
    seed_model, package_model = networks
    assert seed_model.count_params() == package_model.count_params() == 7_760_097


def test_the_seeds_head_keeps_keras_default_initializer(networks):
    head = networks[1].layers[-1]
    assert type(head.kernel_initializer).__name__ == "GlorotUniform"
    assert head.get_config()["kernel_size"] == (1, 1)


def test_build_unet_predicts_what_the_seeds_unet_predicts(networks):
    seed_model, package_model = networks
    assert_same_outputs(seed_model, package_model)


# --- each block, at the defaults and with other settings --------------------------------------

BLOCK_CASES = [
    (8, (16, 16, 3), {}),
    (5, (12, 20, 4), {"dropout_rate": 0.3, "kernel_initializer": "he_uniform"}),
    (3, (7, 9, 2), {"dropout_rate": 0.0}),      # odd sizes: the pooling's padding shows
]


def _pair(block, seed_block, inputs_for, kwargs, filters):
    """The package's and the seed's block wrapped in models on fresh inputs."""
    models = []
    for fn in (seed_block, block):
        inputs = inputs_for()
        outputs = fn(filters, *inputs, **kwargs)
        inputs = inputs[0] if len(inputs) == 1 else inputs
        models.append(Model(inputs, list(outputs) if isinstance(outputs, tuple) else outputs))
    return models


@pytest.mark.parametrize("filters, shape, kwargs", BLOCK_CASES)
def test_encoder_block_is_the_seeds(filters, shape, kwargs):
    seed_model, package_model = _pair(package.encoder_block, encoder_block,
                                      lambda: [Input(shape)], kwargs, filters)
    assert_same_network(seed_model, package_model)
    assert package_model.outputs[1].shape[1:3] == (-(-shape[0] // 2), -(-shape[1] // 2))
    assert_same_outputs(seed_model, package_model)


@pytest.mark.parametrize("filters, shape, kwargs", BLOCK_CASES)
def test_bottleneck_is_the_seeds_baseline_layer(filters, shape, kwargs):
    seed_model, package_model = _pair(package.bottleneck, baseline_layer,
                                      lambda: [Input(shape)], kwargs, filters)
    assert_same_network(seed_model, package_model)
    assert_same_outputs(seed_model, package_model)


@pytest.mark.parametrize("filters, shape, kwargs", BLOCK_CASES[:2])
def test_decoder_block_is_the_seeds(filters, shape, kwargs):
    low = (shape[0] // 2, shape[1] // 2, 2 * filters)

    def inputs():
        return [Input((shape[0], shape[1], filters)), Input(low)]

    seed_model, package_model = _pair(package.decoder_block, decoder_block, inputs, kwargs,
                                      filters)
    assert_same_network(seed_model, package_model)
    assert_same_outputs(seed_model, package_model)
