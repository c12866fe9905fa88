"""Tests of unet_course.lessons.initializers: the variance argument and the measured statistics."""
import numpy as np
import pytest

from unet_course.lessons.initializers import (
    INITIALIZERS,
    layer_gain,
    make_initializer,
    predicted_rms,
    relu_gain,
    stack_statistics,
    weight_variance,
)


def test_weight_variance_formulas():
    fan_in, fan_out = 288, 576
    assert weight_variance("zeros", fan_in, fan_out) == 0.0
    assert weight_variance("large normal", fan_in, fan_out) == 1.0
    assert weight_variance("glorot normal", fan_in, fan_out) == pytest.approx(2 / (288 + 576))
    assert weight_variance("he_normal", fan_in, fan_out) == pytest.approx(2 / 288)
    assert weight_variance("lecun_normal", fan_in, fan_out) == pytest.approx(1 / 288)


def test_gains_with_the_lesson_numbers():
    # 3x3 kernels on 32 channels: fan_in = 288
    assert relu_gain("large normal", 288) == pytest.approx(144.0)
    assert relu_gain("he normal", 288) == pytest.approx(1.0)
    assert relu_gain("lecun normal", 288) == pytest.approx(0.5)
    assert relu_gain("glorot normal", 288) == pytest.approx(0.5)
    assert layer_gain("lecun normal", 288, activation="linear") == pytest.approx(1.0)
    np.testing.assert_allclose(predicted_rms("lecun normal", 4, 288), np.sqrt(0.5) ** np.arange(1, 5))


@pytest.mark.parametrize("name", ["large normal", "glorot normal", "he normal", "lecun normal"])
def test_sampled_weights_have_the_predicted_variance(name):
    kernel = np.asarray(make_initializer(name, seed=1)((3, 3, 32, 32)))
    fan_in = fan_out = 9 * 32
    assert kernel.var() == pytest.approx(weight_variance(name, fan_in, fan_out), rel=0.05)
    assert abs(kernel.mean()) < 0.05 * kernel.std()


def test_one_layer_matches_numpy():
    """One relu conv layer: the measured rms equals a plain-numpy convolution's."""
    stats = stack_statistics("he normal", depth=1, filters=4, size=6, batch=2, seed=3)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 6, 4)).astype(np.float32)
    kernel = np.asarray(make_initializer("he normal", seed=3)((3, 3, 4, 4)))
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((2, 6, 6, 4))
    for dy in range(3):
        for dx in range(3):
            out += padded[:, dy:dy + 6, dx:dx + 6, :] @ kernel[dy, dx]
    relu = np.maximum(out, 0)
    assert stats["activation_rms"][0] == pytest.approx(np.sqrt(np.mean(relu ** 2)), rel=1e-4)
    assert stats["dead_fraction"][0] == pytest.approx(np.mean(relu == 0))
    assert stats["fan_in"] == 36


def test_deep_stack_follows_the_variance_argument():
    he = stack_statistics("he normal", depth=8, filters=16, size=16, batch=2)
    lecun = stack_statistics("lecun normal", depth=8, filters=16, size=16, batch=2)
    large = stack_statistics("large normal", depth=8, filters=16, size=16, batch=2)
    # He keeps the scale; LeCun halves the mean square per relu layer; large explodes
    assert 0.3 < he["activation_rms"][-1] < 3
    # same seeds: LeCun's weights are He's divided by sqrt(2), and relu is positively
    # homogeneous, so layer k of LeCun is exactly sqrt(1/2)**k times layer k of He
    layers = np.arange(1, 9)
    np.testing.assert_allclose(lecun["activation_rms"] / he["activation_rms"],
                               np.sqrt(0.5) ** layers, rtol=1e-4)
    assert large["activation_rms"][-1] > 1e5   # predicted: sqrt(72) ** 8 = 2.7e7
    # gradients: the top gradient has mean square about 1 and shrinks going down for LeCun
    assert lecun["gradient_rms"][-1] == pytest.approx(1.0, rel=0.1)
    assert lecun["gradient_rms"][0] < 0.1


def test_zeros_stop_everything():
    stats = stack_statistics("zeros", depth=3, filters=4, size=8, batch=1)
    assert not stats["activation_rms"].any()
    assert not stats["kernel_gradient_rms"].any()
    assert (stats["dead_fraction"] == 1.0).all()
    assert not stats["gradient_rms"][:-1].any() and stats["gradient_rms"][-1] > 0


def test_bad_input():
    with pytest.raises(ValueError, match="orthogonal"):
        make_initializer("orthogonal")
    with pytest.raises(ValueError, match="activation"):
        layer_gain("he normal", 9, activation="tanh")
    with pytest.raises(ValueError, match="fan_in"):
        weight_variance("he normal", 0)
    with pytest.raises(ValueError, match="depth"):
        stack_statistics("he normal", depth=0)
    assert set(INITIALIZERS) == {"zeros", "large normal", "glorot normal", "he normal", "lecun normal"}
