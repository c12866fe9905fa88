"""The learning-rate schedule, step by step and drawn (lesson 7).

Lesson 7 "Training" plots the seed's schedule,
:func:`unet_course.train.learning_rate_schedule`: Adam starts at 1e-3 and the
rate is multiplied by 0.9 every 1,000 batches, smoothly
(``ExponentialDecay`` without staircase). Because the decay counts
*batches*, how far the rate falls depends on how many batches an epoch has,
so the lesson draws it against epochs for the profile's training set and for
the seed's.

Examples
--------
>>> from unet_course.train import learning_rate_schedule
>>> rates = learning_rates(learning_rate_schedule(), [0, 1000, 2000])
>>> [round(float(r), 6) for r in rates]
[0.001, 0.0009, 0.00081]
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from unet_course.validate import whole_number

__all__ = ["learning_rates", "steps_per_epoch", "plot_learning_rate"]


def learning_rates(schedule, steps):
    """The learning rate a Keras schedule gives at each optimizer step.

    Parameters
    ----------
    schedule : callable
        A ``keras.optimizers.schedules.LearningRateSchedule`` (or any
        ``step -> rate`` function).
    steps : array_like of int
        Optimizer steps (batches since the start of training).

    Returns
    -------
    numpy.ndarray
        float64, one rate per step.
    """
    steps = np.asarray(steps)
    if steps.ndim != 1 or (steps.size and steps.min() < 0):
        raise ValueError(f"steps must be a 1-D sequence of steps >= 0, got shape {steps.shape}")
    return np.array([float(schedule(int(step))) for step in steps], dtype=np.float64)


def steps_per_epoch(n_tiles, batch_size):
    """Batches in one epoch: ``ceil(n_tiles / batch_size)`` (the last batch may be smaller).

    Examples
    --------
    >>> steps_per_epoch(2343, 8)
    293
    """
    whole_number(n_tiles, "n_tiles")
    whole_number(batch_size, "batch_size")
    return math.ceil(n_tiles / batch_size)


def plot_learning_rate(curves, title="The learning rate during training"):
    """Learning rate against epochs, one line per ``(schedule, steps per epoch, epochs)``.

    Parameters
    ----------
    curves : dict
        ``{label: (schedule, steps_per_epoch, epochs)}``.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        The rate per batch, with the value at the end of the last epoch written
        beside each line.
    """
    if not curves:
        raise ValueError("curves is empty; pass {label: (schedule, steps_per_epoch, epochs)}")
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.subplots()
    for label, (schedule, per_epoch, epochs) in curves.items():
        if per_epoch < 1 or epochs < 1:
            raise ValueError(f"{label!r}: steps_per_epoch and epochs must be >= 1, "
                             f"got {per_epoch!r} and {epochs!r}")
        total = per_epoch * epochs
        steps = np.unique(np.linspace(0, total, num=min(total + 1, 400)).astype(int))
        rates = learning_rates(schedule, steps)
        line, = ax.plot(steps / per_epoch, rates, label=f"{label}: {per_epoch} batches x {epochs} epochs")
        ax.annotate(f"{rates[-1]:.2e}", (steps[-1] / per_epoch, rates[-1]), fontsize=8,
                    color=line.get_color(), xytext=(4, 0), textcoords="offset points", va="center")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return fig
