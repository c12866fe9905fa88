"""Interrupting a training run for real, to show that it resumes (lesson 7).

Lesson 7 "Training" stops a running :func:`unet_course.train.train_unet`
the way a student's stop button (or a closed laptop, or a cluster's time
limit) does, then resumes it with ``resume=True``. Jupyter's stop button
sends the kernel the signal ``SIGINT``, which Python turns into
``KeyboardInterrupt`` wherever the code happens to be: in the middle of an
epoch, with nothing saved since the last ``BackupAndRestore`` backup.

:func:`interrupt_after_backup` does exactly that from a watcher thread, once
the backup on disk says that a given number of epochs is complete, so the
lesson knows where the resumed run must continue. Inside the ``with`` block
the ``KeyboardInterrupt`` it caused is caught and reported; any other
exception passes through.

Examples
--------
>>> backed_up_epochs("no-such-run")
0
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time
import _thread
from pathlib import Path

from unet_course.validate import whole_number

__all__ = ["BACKUP_STATE", "backed_up_epochs", "Interrupter", "interrupt_after_backup"]

#: The file in which Keras' ``BackupAndRestore`` records the last backed-up epoch.
BACKUP_STATE = "training_metadata.json"


def backed_up_epochs(run_dir, backup="backup"):
    """How many epochs the run's ``BackupAndRestore`` backup holds (lesson 7).

    Parameters
    ----------
    run_dir : str or pathlib.Path
        A training run's folder (``train_unet``'s ``run_dir``).
    backup : str, default "backup"
        The backup folder inside it.

    Returns
    -------
    int
        Finished epochs saved in the backup; 0 when there is no backup (never
        started, or finished: Keras deletes the backup at the end of training)
        or while its state file is being written.
    """
    path = Path(run_dir) / backup / BACKUP_STATE
    try:
        return int(json.loads(path.read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _send_interrupt():
    """Raise ``KeyboardInterrupt`` in the main thread, as Jupyter's stop button does."""
    if hasattr(signal, "SIGINT") and os.name == "posix":
        os.kill(os.getpid(), signal.SIGINT)
    else:
        _thread.interrupt_main()


class Interrupter:
    """Context manager that interrupts the main thread after ``epochs`` backed-up epochs.

    Use :func:`interrupt_after_backup` to make one.

    Attributes
    ----------
    run_dir : pathlib.Path
    epochs : int
        Backed-up epochs to wait for.
    sent : bool
        Whether the interrupt was sent.
    interrupted : bool
        Whether the code in the ``with`` block was stopped by it.
    epochs_at_interrupt : int
        Backed-up epochs when the interrupt was sent.
    seconds : float
        Time from entering the block to the interrupt (or to its end).
    """

    def __init__(self, run_dir, epochs, poll_seconds=0.02, backup="backup"):
        whole_number(epochs, "epochs")
        if not poll_seconds > 0:
            raise ValueError(f"poll_seconds must be > 0, got {poll_seconds!r}")
        self.run_dir = Path(run_dir)
        self.epochs = epochs
        self.poll_seconds = float(poll_seconds)
        self.backup = backup
        self.sent = False
        self.interrupted = False
        self.epochs_at_interrupt = 0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread = None
        self._handler = None
        self._start = 0.0

    def _watch(self):
        while not self._stop.is_set():
            done = backed_up_epochs(self.run_dir, self.backup)
            if done >= self.epochs:
                self.epochs_at_interrupt = done
                self.seconds = time.perf_counter() - self._start
                self.sent = True
                _send_interrupt()
                return
            self._stop.wait(self.poll_seconds)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            # make sure SIGINT means KeyboardInterrupt while the block runs
            self._handler = signal.signal(signal.SIGINT, signal.default_int_handler)
        self._start = time.perf_counter()
        self._thread = threading.Thread(target=self._watch, name="interrupter", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        late = False
        try:
            self._stop.set()
            self._thread.join()
            if self.sent and exc_type is None:
                time.sleep(0.2)  # a late interrupt lands here, not in the next cell
        except KeyboardInterrupt:
            late = True
        finally:
            if self._handler is not None:
                signal.signal(signal.SIGINT, self._handler)
        if not self.sent:
            self.seconds = time.perf_counter() - self._start
        self.interrupted = self.sent and exc_type is KeyboardInterrupt
        return self.interrupted or late

    def report(self):
        """One sentence saying what happened."""
        if self.interrupted:
            return (f"Interrupted after {self.seconds:.1f} s: the backup in "
                    f"{self.run_dir / self.backup} holds {self.epochs_at_interrupt} finished "
                    f"epoch(s); the epoch that was running is lost.")
        if self.sent:
            return "The run finished before the interrupt arrived; nothing was interrupted."
        return (f"The run ended after {self.seconds:.1f} s, before {self.epochs} epoch(s) "
                f"were backed up; nothing was interrupted.")


def interrupt_after_backup(run_dir, epochs, poll_seconds=0.02, backup="backup"):
    """Interrupt the code in a ``with`` block once ``epochs`` epochs are backed up.

    Lesson 7 "Training" wraps ``train_unet`` in it, then resumes the run.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        The training run's folder, whose ``backup/`` is watched.
    epochs : int
        Interrupt as soon as the backup holds this many finished epochs.
    poll_seconds : float, default 0.02
        How often the watcher looks at the backup.
    backup : str, default "backup"
        The backup folder inside ``run_dir``.

    Returns
    -------
    Interrupter
        Use it in a ``with`` statement; afterwards ``.interrupted`` says
        whether the block was stopped and ``.report()`` says how.

    Examples
    --------
    ::

        with interrupt_after_backup(run_dir, 2) as stop:
            train_unet(prof, run_dir)           # stopped during epoch 3
        print(stop.report())
        train_unet(prof, run_dir, resume=True)  # continues with epoch 3
    """
    return Interrupter(run_dir, epochs, poll_seconds, backup)
