"""Tests for unet_course.lessons.schedules (lesson 7: the learning-rate schedule)."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from unet_course.lessons.schedules import learning_rates, plot_learning_rate, steps_per_epoch


def learning_rate_schedule():
    """The seed's schedule, built here without the rest of the package."""
    return keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=1000, decay_rate=0.9)


def test_learning_rates_follow_the_formula():
    steps = np.array([0, 1, 500, 1000, 14650])
    rates = learning_rates(learning_rate_schedule(), steps)
    np.testing.assert_allclose(rates, 1e-3 * 0.9 ** (steps / 1000), rtol=1e-5)
    assert np.all(np.diff(rates) < 0)
    np.testing.assert_allclose(learning_rates(lambda step: 2.0 * step, [0, 3]), [0.0, 6.0])
    with pytest.raises(ValueError, match="steps"):
        learning_rates(learning_rate_schedule(), [[1, 2]])
    with pytest.raises(ValueError, match="steps"):
        learning_rates(learning_rate_schedule(), [-1])


def test_steps_per_epoch_rounds_up():
    assert steps_per_epoch(16, 8) == 2
    assert steps_per_epoch(17, 8) == 3
    assert steps_per_epoch(1, 8) == 1
    with pytest.raises(ValueError, match="batch_size"):
        steps_per_epoch(10, 0)


def test_plot_has_one_line_per_curve_ending_at_the_last_epoch():
    schedule = learning_rate_schedule()
    fig = plot_learning_rate({"a": (schedule, 10, 3), "b": (schedule, 293, 50)})
    ax = fig.axes[0]
    assert len(ax.lines) == 2
    assert ax.lines[0].get_xdata()[-1] == pytest.approx(3.0)
    assert ax.lines[1].get_ydata()[-1] == pytest.approx(1e-3 * 0.9 ** 14.65, rel=1e-4)
    with pytest.raises(ValueError, match="empty"):
        plot_learning_rate({})
    with pytest.raises(ValueError, match="'c'"):
        plot_learning_rate({"c": (schedule, 0, 3)})
