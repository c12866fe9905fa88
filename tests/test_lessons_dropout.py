"""Tests for unet_course.lessons.dropout (lesson 5: spatial dropout)."""
from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf

matplotlib.use("Agg")

from unet_course.lessons.dropout import (  # noqa: E402
    GAP_KEY,
    DropoutOffLoss,
    apply_dropout,
    dropped_mask,
    first_layer_features,
    generalization_gap,
    neighbour_correlation,
    plot_dropout_comparison,
    plot_dropout_runs,
)


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(0)
    return rng.uniform(0.5, 1.5, size=(32, 32, 16)).astype(np.float32)


def test_spatial_dropout_drops_whole_maps(features):
    out = apply_dropout(features, 0.5, kind="spatial", seed=3)
    kept = 0
    for c in range(features.shape[-1]):
        channel = out[..., c]
        if np.all(channel == 0):
            continue
        kept += 1
        np.testing.assert_allclose(channel, features[..., c] / 0.5, rtol=1e-6)
    assert 0 < kept < features.shape[-1]


def test_regular_dropout_drops_single_values(features):
    rate = 0.3
    out = apply_dropout(features, rate, kind="regular", seed=3)
    zero = out == 0
    assert abs(zero.mean() - rate) < 0.03
    # within every map some values survive and some do not
    per_map = zero.reshape(-1, features.shape[-1]).mean(axis=0)
    assert np.all((per_map > 0) & (per_map < 1))
    np.testing.assert_allclose(out[~zero], features[~zero] / (1 - rate), rtol=1e-6)


@pytest.mark.parametrize("kind", ["regular", "spatial"])
def test_no_dropout_at_inference_or_rate_zero(features, kind):
    np.testing.assert_array_equal(apply_dropout(features, 0.5, kind, training=False), features)
    np.testing.assert_array_equal(apply_dropout(features, 0.0, kind), features)


def test_apply_dropout_rejects_bad_input(features):
    with pytest.raises(ValueError, match="kind"):
        apply_dropout(features, 0.5, kind="channel")
    with pytest.raises(ValueError, match="rate"):
        apply_dropout(features, 1.0)
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        apply_dropout(features[..., 0], 0.5)


def test_dropped_mask_ignores_values_already_zero():
    before = np.array([[[0.0, 1.0], [2.0, 0.0]]])
    after = np.array([[[0.0, 0.0], [4.0, 0.0]]])
    np.testing.assert_array_equal(dropped_mask(before, after), [[[False, True], [False, False]]])
    with pytest.raises(ValueError, match="same shape"):
        dropped_mask(before, after[..., :1])


def test_neighbour_correlation_edge_cases():
    ramp = np.tile(np.arange(8.0), (8, 1))[..., None]
    assert neighbour_correlation(ramp) == pytest.approx(1.0)
    checker = (np.indices((8, 8)).sum(axis=0) % 2).astype(float)[..., None]
    assert neighbour_correlation(checker) == pytest.approx(-1.0)
    flat = np.ones((8, 8, 1))
    assert np.isnan(neighbour_correlation(flat))
    both = np.concatenate([ramp, flat], axis=-1)  # the flat map is skipped
    assert neighbour_correlation(both) == pytest.approx(1.0)
    noise = np.random.default_rng(1).normal(size=(64, 64, 1))
    assert abs(neighbour_correlation(noise)) < 0.1
    with pytest.raises(ValueError, match="2 columns"):
        neighbour_correlation(np.ones((4, 1, 1)))


def test_first_layer_features_are_deterministic_relu_maps():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    a = first_layer_features(image, filters=5, seed=7)
    b = first_layer_features(image.astype(np.float32) / 255.0, filters=5, seed=7)
    assert a.shape == (16, 16, 5) and a.min() >= 0.0
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(a, first_layer_features(image, filters=5, seed=8))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        first_layer_features(image[..., :2])


def _tiny_model(rate):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.SpatialDropout2D(rate)(x)
    outputs = keras.layers.Conv2D(1, 1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=keras.losses.binary_crossentropy)
    return model


def _dataset():
    rng = np.random.default_rng(4)
    images = rng.uniform(size=(10, 8, 8, 3)).astype(np.float32)
    masks = (rng.uniform(size=(10, 8, 8, 1)) > 0.7).astype(np.float32)
    return tf.data.Dataset.from_tensor_slices((images, masks)).batch(4)


def test_dropout_off_loss_matches_keras_evaluate():
    model = _tiny_model(0.5)
    callback = DropoutOffLoss(_dataset())
    callback.set_model(model)
    expected = model.evaluate(_dataset(), verbose=0)
    assert callback.loss_without_dropout() == pytest.approx(expected, rel=1e-5)


def test_dropout_off_loss_lands_in_the_history():
    model = _tiny_model(0.5)
    history = model.fit(_dataset(), validation_data=_dataset(), epochs=2, verbose=0, shuffle=False,
                        callbacks=[DropoutOffLoss(_dataset())]).history
    assert len(history[GAP_KEY]) == 2
    # same tiles for validation and the dropout-off loss: no gap at all
    np.testing.assert_allclose(generalization_gap(history), 0.0, atol=1e-5)


def test_generalization_gap_and_plot():
    histories = {
        "a": {"val_loss": [1.0, 0.8], GAP_KEY: [0.9, 0.5]},
        "b": {"val_loss": [1.0, 0.9, 0.7], GAP_KEY: [1.0, 0.9, 0.6]},
    }
    np.testing.assert_allclose(generalization_gap(histories["a"]), [0.1, 0.3])
    fig = plot_dropout_runs(histories)
    left, right = fig.axes
    assert len(left.lines) == 4 and len(right.lines) == 2 + 1  # gaps + zero line
    np.testing.assert_allclose(right.lines[0].get_ydata(), [0.1, 0.3])
    with pytest.raises(ValueError, match="val_loss"):
        generalization_gap({GAP_KEY: [1.0]})
    with pytest.raises(ValueError, match="empty"):
        plot_dropout_runs({})


def test_comparison_figure_marks_dropped_maps(features):
    fig = plot_dropout_comparison(features, rate=0.5, channels=6, seed=3)
    assert len(fig.axes) == 18
    spatial = apply_dropout(features, 0.5, "spatial", seed=3)
    titles = [ax.get_title() for ax in fig.axes[12:]]          # the SpatialDropout2D row
    shown = [int(title.split()[1].rstrip(":")) - 1 for title in titles]
    means = features.mean(axis=(0, 1))
    assert sorted(shown) == shown
    assert set(shown) == set(np.argsort(-means)[:6])           # the six most active maps
    flagged = [channel for channel, title in zip(shown, titles) if title.endswith("dropped")]
    assert flagged == [channel for channel in shown if not spatial[..., channel].any()]
    assert 0 < len(flagged) < 6
