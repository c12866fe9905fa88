"""The time a run announces comes from its own steps and epochs (issue 16), driven by a fake clock."""
from __future__ import annotations

import pytest

from unet_course.estimate import AnnounceTime, RunEstimate, minutes


def test_nothing_is_estimated_from_the_tracing_step_alone():
    clock = RunEstimate(epochs=5, steps_per_epoch=10)
    assert clock.seconds_left() is None
    clock.add_step(12.0)                                   # traces: not a step's time
    assert clock.seconds_left() is None and clock.step_seconds() is None


def test_before_the_first_epoch_ends_the_estimate_counts_steps_and_validation():
    clock = RunEstimate(epochs=4, steps_per_epoch=10, validation_steps=3)
    for seconds in (12.0, 1.0, 3.0, 1.0):                  # median 1.0 s (the 3.0 is a hiccup)
        clock.add_step(seconds)
    # an epoch: 10 steps of 1 s + 3 validation batches of a third of a step = 11 s; 4 epochs, 3 steps done
    assert clock.epoch_estimate() == pytest.approx(11.0)
    assert clock.seconds_left() == pytest.approx(4 * 11.0 - 5.0 + 12.0 / 3)   # + validation's trace


def test_measured_epochs_replace_the_step_estimate_once_one_ran_without_tracing():
    clock = RunEstimate(epochs=6, steps_per_epoch=10)
    for seconds in (12.0, 1.0, 1.0):
        clock.add_step(seconds)
    clock.add_epoch(25.0, validation_seconds=2.0)          # traced: 12 s of it were the first step
    assert clock.epoch_estimate() == pytest.approx(10 * 1.0 + 2.0)      # steps, and the timed validation
    assert clock.seconds_left() == pytest.approx(5 * 12.0)
    clock.add_epoch(14.0)
    clock.add_epoch(16.0)
    assert clock.epoch_estimate() == pytest.approx(15.0)  # the median of epochs 2 and 3
    assert clock.seconds_left() == pytest.approx(3 * 15.0)


def test_after_the_first_epoch_what_the_steps_do_not_show_counts():
    clock = RunEstimate(epochs=5, steps_per_epoch=10, validation_steps=3)
    for seconds in (0.6, 0.5, 0.5, 0.5):                   # a model traced before the run: no long first step
        clock.add_step(seconds)
    assert clock.epoch_estimate() == pytest.approx(10 * 0.5 + 3 * 0.5 / 3)
    clock.add_epoch(12.0, validation_seconds=1.5)          # 5 s of steps, 1.5 s validated, 5.5 s of checkpoints
    # the epoch less its first step's 0.1 s above the median and its validation, plus a validation pass untraced
    assert clock.epoch_estimate() == pytest.approx(12.0 - 0.1 - 1.5 + 0.5)
    assert clock.seconds_left() == pytest.approx(4 * 10.9)


def test_the_estimate_follows_a_machine_that_speeds_up():
    clock = RunEstimate(epochs=10, steps_per_epoch=10)
    for seconds in (30.0, 18.0, 18.0, 17.0, 12.0, 9.0, 9.0):    # the other work on the machine stopped
        clock.add_epoch(seconds)
    assert clock.epoch_estimate() == pytest.approx(9.0)       # the latest three epochs, not all six
    assert clock.seconds_left() == pytest.approx(3 * 9.0)


def test_a_resumed_run_counts_only_its_remaining_epochs():
    clock = RunEstimate(epochs=10, steps_per_epoch=5, first_epoch=7)
    clock.add_epoch(20.0)
    clock.add_epoch(10.0)
    assert clock.seconds_left() == pytest.approx(1 * 10.0)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def drive(callback, clock, epochs, step_times, validation=1.0):
    """Call the callback as Keras' fit does, moving the fake clock by the given step times."""
    for epoch in range(epochs):
        callback.on_epoch_begin(epoch)
        for batch, seconds in enumerate(step_times[epoch]):
            callback.on_train_batch_begin(batch)
            clock.now += seconds
            callback.on_train_batch_end(batch)
        callback.on_test_begin()
        clock.now += validation
        callback.on_test_end()
        callback.on_epoch_end(epoch)


def test_the_callback_announces_early_then_after_every_epoch():
    clock, lines = FakeClock(), []
    callback = AnnounceTime(epochs=3, steps_per_epoch=6, validation_steps=3, say=lines.append, clock=clock)
    drive(callback, clock, 3, [[10.0, 2, 2, 2, 2, 2]] + [[2.0] * 6] * 2, validation=2.0)
    # after 3 timed steps: epoch = 6 x 2 + 3 x 2/3 = 14 s; 3 epochs = 42 s, less the 6 s done,
    # plus validation's trace (10 / 3 s) and the 16 s spent
    assert lines[0] == ("From its first 3 steps (2.00 s each), this run should take about 55 s "
                        "(3 epochs at most).")
    assert lines[1] == "Epoch 1 of 3 took 22 s; about 28 s left (less if early stopping ends the run)."
    assert lines[2] == "Epoch 2 of 3 took 14 s; about 14 s left (less if early stopping ends the run)."
    assert lines[3] == "Epoch 3 of 3 took 14 s."
    actual = clock.now
    assert abs(callback.announced - actual) / actual < 0.30


def test_a_run_over_its_budget_is_told_what_to_do():
    clock, lines = FakeClock(), []
    callback = AnnounceTime(epochs=50, steps_per_epoch=100, budget_minutes=3.0, profile_name="laptop",
                            say=lines.append, clock=clock)
    drive(callback, clock, 1, [[5.0] + [1.0] * 99])
    assert "more than the laptop profile's budget of 3 min" in lines[1] and "fewer epochs" in lines[1]


def test_minutes_reads_well():
    assert (minutes(45), minutes(119.4), minutes(250)) == ("45 s", "119 s", "4.2 min")
