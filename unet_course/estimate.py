"""How long a run will take, from its own measured steps (lesson 7).

A machine shared with other work, a laptop on battery or a CPU without
native bfloat16 all train at speeds no formula predicts, so the run times
itself. :class:`RunEstimate` turns the run's own step and epoch durations into
the seconds left; :class:`AnnounceTime`, a Keras callback that
:func:`unet_course.train.train_unet` adds, prints the estimate after the
first few steps and again after every epoch:

    From its first 3 steps (0.41 s each), this run should take about 4.2 min (15 epochs at most).
    Epoch 1 of 15 took 21 s; about 3.9 min left (less if early stopping ends the run).

The first step is never counted: it traces the model (seconds, not a step's
time). Until the first epoch has finished, an epoch is estimated as its steps
times the median step plus the validation pass; after it, as that epoch less
its traces (so what the first steps do not show counts);
once an epoch without tracing has finished, as the
median of the last :data:`RECENT` measured epochs from the second on, so the
estimate follows a shared machine whose speed changes during the run.

Examples
--------
>>> clock = RunEstimate(epochs=10, steps_per_epoch=20)
>>> for seconds in (9.0, 0.5, 0.5, 0.5):      # the first step traces
...     clock.add_step(seconds)
>>> clock.seconds_left()     # 10 epochs x 20 steps x 0.5 s, less the 3 steps done
98.5
"""
from __future__ import annotations

import statistics
import time

from unet_course.backend import keras

__all__ = ["RunEstimate", "AnnounceTime", "minutes"]

#: How many of the latest epochs the estimate of an epoch is the median of.
RECENT = 3


def minutes(seconds):
    """``"45 s"`` under two minutes, else ``"3.2 min"``."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class RunEstimate:
    """Seconds left in a run of ``epochs`` epochs, from its measured steps and epochs.

    Parameters
    ----------
    epochs : int
        Epochs of the run at most (early stopping may end it sooner).
    steps_per_epoch : int
        Training steps per epoch.
    validation_steps : int, default 0
        Validation batches per epoch; each costs about a third of a training
        step (a forward pass against forward and backward) until one
        validation pass has been timed.
    first_epoch : int, default 0
        The epoch a resumed run starts at.
    """

    def __init__(self, epochs, steps_per_epoch, validation_steps=0, first_epoch=0):
        self.epochs, self.steps_per_epoch = int(epochs), max(1, int(steps_per_epoch))
        self.validation_steps, self.first_epoch = int(validation_steps), int(first_epoch)
        self.steps, self.epoch_seconds, self.validation_seconds = [], [], []

    def add_step(self, seconds):
        """A training step of the first epoch took ``seconds`` (the first one traces)."""
        self.steps.append(float(seconds))

    def add_epoch(self, seconds, validation_seconds=None):
        """An epoch, validation included, took ``seconds``; its validation ``validation_seconds``."""
        self.epoch_seconds.append(float(seconds))
        if validation_seconds is not None:
            self.validation_seconds.append(float(validation_seconds))

    def step_seconds(self):
        """Median of the timed steps after the first, or None before two steps."""
        return statistics.median(self.steps[1:]) if len(self.steps) > 1 else None

    def epoch_estimate(self):
        """Seconds an epoch takes: the latest measured epochs after the first traced one, else from the steps.

        After the first epoch only, that epoch less its traces: its first
        step's time above the median step, and its validation pass less a
        pass of the validation batches at a third of a step each. What the
        first steps do not show (the end-of-epoch checkpoints, a machine
        that got busier after them) is counted from then on.
        """
        if len(self.epoch_seconds) > 1:
            return statistics.median(self.epoch_seconds[1:][-RECENT:])
        step = self.step_seconds()
        if step is None:
            return None
        validation = self.validation_steps * step / 3
        if self.epoch_seconds:
            traced = self.validation_seconds[0] - validation if self.validation_seconds else 0.0
            return self.epoch_seconds[0] - (self.steps[0] - step) - traced
        return self.steps_per_epoch * step + validation

    def seconds_left(self):
        """Seconds until the last epoch ends, or None before two steps were timed.

        Before the first epoch ends, the running epoch counts whole, minus
        the steps already done, plus the first validation pass's trace
        (a third of the training step's: it traces a forward pass only).
        """
        per_epoch = self.epoch_estimate()
        if per_epoch is None:
            return None
        done = len(self.epoch_seconds)
        left = max(0, self.epochs - self.first_epoch - done) * per_epoch
        if not done:
            left -= sum(self.steps[1:])
            if self.validation_steps and not self.validation_seconds:
                left += self.steps[0] / 3      # the validation pass traces too: a forward pass only
        return round(max(0.0, left), 1)


class AnnounceTime(keras.callbacks.Callback):
    """Print how long the run will take, from its first steps, then after every epoch (lesson 7).

    ``say`` receives each line (default ``print``); ``clock`` gives the time
    in seconds (default ``time.perf_counter``; tests pass their own).
    ``budget_minutes``: the profile's budget; a run estimated at over 1.5
    times it is told so once, with what to do.
    """

    def __init__(self, epochs, steps_per_epoch, validation_steps=0, announce_after=3,
                 budget_minutes=0.0, profile_name="", say=print, clock=time.perf_counter):
        super().__init__()
        self.estimate = RunEstimate(epochs, steps_per_epoch, validation_steps)
        self.announce_after, self.budget_minutes, self.profile_name = announce_after, budget_minutes, profile_name
        self.say, self.clock = say, clock
        self.announced, self.first_epoch = None, None
        self._step = self._epoch = self._validation = self._validation_seconds = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.first_epoch is None:
            self.first_epoch = self.estimate.first_epoch = epoch
        self._epoch, self._validation_seconds = self.clock(), None

    def on_train_batch_begin(self, batch, logs=None):
        self._step = self.clock()

    def on_train_batch_end(self, batch, logs=None):
        if self.estimate.epoch_seconds or self.announced is not None:
            return
        self.estimate.add_step(self.clock() - self._step)
        if len(self.estimate.steps) == self.announce_after + 1:
            self.announced = self.estimate.seconds_left() + sum(self.estimate.steps)
            self.say(f"From its first {self.announce_after} steps ({self.estimate.step_seconds():.2f} s "
                     f"each), this run should take about {minutes(self.announced)} "
                     f"({self.estimate.epochs - self.first_epoch} epochs at most).")
            self._check_budget(self.announced)

    def on_test_begin(self, logs=None):
        self._validation = self.clock()

    def on_test_end(self, logs=None):
        self._validation_seconds = self.clock() - self._validation

    def on_epoch_end(self, epoch, logs=None):
        self.estimate.add_epoch(self.clock() - self._epoch, self._validation_seconds)
        left = self.estimate.seconds_left()
        if left is None:
            return
        tail = "; about " + minutes(left) + " left (less if early stopping ends the run)" if left else ""
        self.say(f"Epoch {epoch + 1} of {self.estimate.epochs} took {self.estimate.epoch_seconds[-1]:.0f} s{tail}.")

    def _check_budget(self, seconds):
        if self.budget_minutes and seconds > 1.5 * 60 * self.budget_minutes:
            self.say(f"That is more than the {self.profile_name} profile's budget of "
                     f"{self.budget_minutes:g} min: this machine is slower than the profile assumes. "
                     "Pass fewer epochs, or use the smoke profile to try things out.")
