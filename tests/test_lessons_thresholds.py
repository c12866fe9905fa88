"""Tests for unet_course.lessons.thresholds (lesson 8: the precision-recall trade-off)."""
from __future__ import annotations

import numpy as np
import pytest

from unet_course.lessons.thresholds import best_threshold, plot_threshold_curve


def test_best_threshold_takes_the_first_maximum():
    curve = {"threshold": [0.1, 0.2, 0.3, 0.4], "dice": [0.5, 0.8, 0.8, 0.1], "recall": [1, 0.9, 0.7, 0.2]}
    assert best_threshold(curve) == (0.2, 0.8)
    assert best_threshold(curve, "recall") == (0.1, 1.0)
    with pytest.raises(ValueError, match="precision"):
        best_threshold(curve, "precision")
    with pytest.raises(ValueError, match="equal length"):
        best_threshold({"threshold": [0.1], "dice": [0.2, 0.3]})


def test_plot_draws_three_scores_and_the_thresholds():
    t = np.round(np.arange(0.05, 0.951, 0.05), 2)
    curve = {"threshold": t, "precision": t, "recall": 1 - t, "dice": 2 * t * (1 - t)}
    fig = plot_threshold_curve(curve, chosen=0.3)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["precision", "recall", "dice", "threshold 0.50", "chosen 0.30"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), 1 - t)
    with pytest.raises(ValueError, match="lacks"):
        plot_threshold_curve({"threshold": t, "dice": t})
