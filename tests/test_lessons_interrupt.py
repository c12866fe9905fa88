"""Tests for unet_course.lessons.interrupt (lesson 7: interrupt a run for real, then resume it)."""
from __future__ import annotations

import signal
import time

import keras
import numpy as np
import pytest

from unet_course.lessons.interrupt import BACKUP_STATE, backed_up_epochs, interrupt_after_backup


class SlowEpochs(keras.callbacks.Callback):
    """Make each epoch last a while, so the watcher has time to act."""

    def on_epoch_begin(self, epoch, logs=None):
        time.sleep(0.25)


def _fit(run_dir, epochs=6):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 4), dtype="float32")
    backup = keras.callbacks.BackupAndRestore(str(run_dir / "backup"), double_checkpoint=True)
    return model.fit(x, x[:, :1], epochs=epochs, verbose=0, callbacks=[backup, SlowEpochs()])


def test_backed_up_epochs_reads_keras_state(tmp_path):
    assert backed_up_epochs(tmp_path) == 0
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / BACKUP_STATE).write_text('{"epoch": 3, "batch": 0}')
    assert backed_up_epochs(tmp_path) == 3
    (tmp_path / "backup" / BACKUP_STATE).write_text('{"epo')  # being written
    assert backed_up_epochs(tmp_path) == 0


def test_interrupt_then_resume_continues_with_the_next_epoch(tmp_path):
    before = signal.getsignal(signal.SIGINT)
    with interrupt_after_backup(tmp_path, 2) as stop:
        _fit(tmp_path)
        pytest.fail("training was not interrupted")
    assert stop.interrupted and stop.sent
    assert stop.epochs_at_interrupt == 2 == backed_up_epochs(tmp_path)
    assert "2 finished epoch(s)" in stop.report()
    assert signal.getsignal(signal.SIGINT) is before
    resumed = _fit(tmp_path)
    assert resumed.epoch == [2, 3, 4, 5]
    assert backed_up_epochs(tmp_path) == 0  # a finished run deletes its backup


def test_a_block_that_ends_first_is_not_interrupted(tmp_path):
    with interrupt_after_backup(tmp_path, 1) as stop:
        pass
    assert not stop.sent and not stop.interrupted
    assert "nothing was interrupted" in stop.report()


def test_other_errors_pass_through(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with interrupt_after_backup(tmp_path, 1):
            raise RuntimeError("boom")


@pytest.mark.parametrize("kwargs, word", [
    (dict(epochs=0), "epochs"), (dict(epochs=1.5), "epochs"), (dict(epochs=1, poll_seconds=0), "poll_seconds"),
])
def test_bad_arguments(tmp_path, kwargs, word):
    with pytest.raises(ValueError, match=word):
        interrupt_after_backup(tmp_path, **kwargs)
