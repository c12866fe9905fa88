"""Training: the seed's recipe, made safe to interrupt (lesson 7 "Training").

The seed trained with Adam and an exponentially decaying learning rate from
1e-3, batches of 8, up to 50 epochs, stopping early after 3 epochs without a
lower validation loss. :func:`train_unet` keeps that recipe and adds what a
long run needs: a run folder (:mod:`unet_course.rundir` owns its format)
with the best epoch's model, the history, a backup to resume from
(``resume=True``, CLI ``--resume``) and ``run.json``; and a stop with advice
when the loss becomes NaN or infinite.

:mod:`unet_course.accelerator` chooses the precision, XLA and the input path
for the machine, by measuring them (:mod:`unet_course.tuning`); the run
announces how long it will take from its own first steps
(:mod:`unet_course.estimate`).
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import unet_course
from unet_course.accelerator import TRACED, configure_accelerator
from unet_course.backend import tf, keras
from unet_course import recipes
from unet_course.estimate import AnnounceTime
from unet_course.tuning import carry_over
from unet_course.data import Splits, load_data, make_dataset
from unet_course.losses import get_loss
from unet_course.metrics import dataset_metrics
from unet_course.model import build_unet
from unet_course.rundir import (BACKUP, BEST_MODEL, HISTORY, check_run_dir, read_history,
                                 write_history, write_run_info)


__all__ = [
    "learning_rate_schedule", "compile_unet", "StopOnNaN", "make_callbacks",
    "compiled_unet", "run_accelerator", "train_unet", "TrainResult", "TrainingDiverged",
]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite, so training stopped (lesson 7)."""


@dataclass
class TrainResult:
    """What :func:`train_unet` returns (lesson 7): the model with the weights of
    the best epoch, the history of the whole run (``{"epoch": [...], "loss":
    [...], "val_loss": [...], "dice": [...], ...}``, resumed parts included),
    the run folder and the content of its ``run.json``."""

    model: keras.Model
    history: dict
    run_dir: Path
    metadata: dict


# --- the recipe -----------------------------------------------------------------


def learning_rate_schedule(initial=1e-3, decay_steps=1000, decay_rate=0.9):
    """The seed's learning rate: ``initial * decay_rate ** (step / decay_steps)``.

    Lesson 7 "Training" plots it. With the defaults the rate falls by 10 %
    every 1,000 batches: about 5 times lower after the full profile's 50 epochs.

    Parameters
    ----------
    initial : float, default 1e-3
        Learning rate of the first batch.
    decay_steps : int, default 1000
        Batches over which the rate is multiplied by ``decay_rate``.
    decay_rate : float, default 0.9
        Factor per ``decay_steps`` batches.

    Examples
    --------
    >>> round(float(learning_rate_schedule()(1000)), 7)
    0.0009
    """
    return keras.optimizers.schedules.ExponentialDecay(initial, decay_steps, decay_rate)


def compile_unet(model, loss="bce_dice", learning_rate=None, jit_compile="auto", schedule=None):
    """Compile a U-Net the seed's way: Adam, decaying learning rate, dataset metrics.

    Lesson 7 "Training" explains each choice.

    Parameters
    ----------
    model : keras.Model
        For example ``build_unet((128, 128, 3), filters=16)``.
    loss : str or callable, default "bce_dice"
        ``"bce"``, ``"dice"``, ``"bce_dice"`` or a loss function (lesson 3).
    learning_rate : float, optional
        Starting learning rate of the schedule (default: the seed's 1e-3).
    jit_compile : bool or "auto", default "auto"
        XLA compilation; ``"auto"`` lets Keras use it on a GPU only.
    schedule : keras LearningRateSchedule, optional
        Instead of the seed's (:mod:`unet_course.recipes` passes a cosine).

    Returns
    -------
    keras.Model
        The same model, compiled; its metrics (``dice``, ``iou``, ``precision``,
        ``recall``, ``accuracy``) count pixels over each whole epoch.
    """
    initial = 1e-3 if learning_rate is None else float(learning_rate)
    optimizer = keras.optimizers.Adam(learning_rate=schedule or learning_rate_schedule(initial))
    model.compile(optimizer=optimizer, loss=get_loss(loss), metrics=dataset_metrics(),
                  jit_compile=jit_compile)
    return model


class StopOnNaN(keras.callbacks.TerminateOnNaN):
    """Keras' ``TerminateOnNaN`` that says in which epoch and what to check (lesson 7).

    Its ``message`` holds the explanation once the loss became NaN or infinite.
    """

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.message = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or np.isfinite(float(loss)) or self.message:
            return
        self.message = (
            f"training stopped: the loss became {float(loss)} in epoch {self.epoch + 1} "
            f"(batch {batch + 1}). Check the learning rate (try one 10 times smaller), "
            "the images (NaN or infinite values? scaled to [0, 1]?) and the masks "
            "(only 0 and 1, no NaN from nodata?)."
        )
        print("\n" + self.message, flush=True)
        self.model.stop_training = True


def make_callbacks(run_dir, patience=3, resume=False):
    """The callbacks of the seed's recipe, plus the ones a long run needs (lesson 7).

    Parameters
    ----------
    run_dir : str or pathlib.Path
        Where ``best.keras``, ``history.csv`` and ``backup/`` go.
    patience : int, default 3
        Epochs without a lower validation loss before training stops.
    resume : bool, default False
        Continue a run: append to ``history.csv`` and only replace
        ``best.keras`` by a model better than the best one already there.
        (Early stopping's patience counts again from the resumed epoch.)

    Returns
    -------
    list of keras.callbacks.Callback
        ``StopOnNaN``, ``CSVLogger``, ``ModelCheckpoint``, ``EarlyStopping``
        (``restore_best_weights=True``) and ``BackupAndRestore``, in that
        order: an epoch's row is written before its state is backed up.
    """
    run_dir, best_so_far = Path(run_dir), None
    if resume and (run_dir / HISTORY).is_file():
        val_loss = read_history(run_dir / HISTORY).get("val_loss", [])
        best_so_far = float(np.nanmin(val_loss)) if np.isfinite(val_loss).any() else None
    return [
        StopOnNaN(),
        keras.callbacks.CSVLogger(str(run_dir / HISTORY), append=resume),
        keras.callbacks.ModelCheckpoint(str(run_dir / BEST_MODEL), monitor="val_loss",
                                        save_best_only=True, initial_value_threshold=best_so_far),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        keras.callbacks.BackupAndRestore(str(run_dir / BACKUP), double_checkpoint=True),
    ]


def compiled_unet(prof, loss="bce_dice", learning_rate=None, accel=None, seed=None, schedule=None,
                  traced=None, **unet_options):
    """A seeded ``build_unet`` sized by the profile, compiled by :func:`compile_unet` (lesson 7).

    The one way the course makes a model to train: lessons 4 and 5 vary the
    initializer and the dropout rate through ``unet_options``, the grading and
    :func:`train_unet` use the defaults. With several GPUs the model is built
    under ``tf.distribute.MirroredStrategy``, which splits each batch across them.

    Parameters
    ----------
    prof : unet_course.Profile
        Gives the tile size (input ``(s, s, 3)``), ``base_filters`` and the seed.
    loss, learning_rate
        See :func:`compile_unet`.
    accel : dict, optional
        What :func:`unet_course.accelerator.configure_accelerator` returned
        (default: :func:`run_accelerator` for the profile).
    seed : int, optional
        Seed of the starting weights (default ``prof.seed``).
    traced : keras.Model, optional
        The measured way's model, already traced (:func:`train_unet` passes it
        for the seed's recipe on first use). It is returned instead of the new
        model, holding the new model's starting weights and a fresh optimizer,
        so the run does not trace the same step again. The caller has set
        TensorFlow's seed: setting it again would make the model trace again.
    **unet_options
        Passed to :func:`unet_course.model.build_unet`, for example
        ``kernel_initializer="he_normal"`` or ``dropout_rate=0.0``.
    """
    accel = accel or run_accelerator(prof)
    seed = prof.seed if seed is None else seed
    if traced is None:
        keras.utils.set_random_seed(seed)
    else:          # the starting weights come from Python's generator (Keras' initializers draw from it)
        random.seed(seed)
        np.random.seed(seed)
    several = accel["gpus"] > 1
    strategy = tf.distribute.MirroredStrategy() if several else tf.distribute.get_strategy()
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(accel["policy"])       # this model only: restored below
    try:
        with strategy.scope():
            model = build_unet((prof.image_size, prof.image_size, 3), filters=prof.base_filters,
                               **unet_options)
            model = compile_unet(model, loss, learning_rate, jit_compile=accel["jit_compile"],
                                 schedule=schedule)
    finally:
        keras.config.set_dtype_policy(previous)
    return model if traced is None else carry_over(model, traced)


def _steps(tiles, batch_size):
    return -(-int(tiles) // int(batch_size))


def run_accelerator(prof, steps=None, precision=None, xla=None, augment=False, retune=False):
    """The way a run of this profile trains here: measured and cached, or the rule (lesson 7).

    ``steps``: the run's training steps (default: the profile's synthetic
    training split times its epochs). Profiles with ``measure_speed`` off (smoke)
    get the rule of :func:`unet_course.accelerator.choose_settings`.
    """
    if steps is None:
        steps = _steps(round(prof.n_tiles * prof.split[0]), prof.batch_size) * prof.epochs
    return configure_accelerator(prof.image_size, precision, xla,
                                 filters=prof.base_filters if prof.measure_speed else None,
                                 batch_size=prof.batch_size, run_steps=steps, numpy_inputs=not augment,
                                 retune=retune)


# --- a run ----------------------------------------------------------------------


def _splits(data, prof, source):
    """``(Splits, source)`` from a Splits or a source string, checked against the profile."""
    if not isinstance(data, Splits):
        source = data or prof.data
        data = load_data(source, prof)
    size = data.train.images.shape[1:3]
    if tuple(size) != (prof.image_size, prof.image_size):
        raise ValueError(
            f"training tiles are {size[0]}x{size[1]} pixels but profile {prof.name!r} expects "
            f"{prof.image_size}x{prof.image_size}; resize them with unet_course.data.resize_tiles")
    counts = "/".join(str(len(part)) for part in (data.train, data.validation, data.test))
    note = f"; {data.note}" if data.note else ""
    return data, f"{source or 'in-memory Splits'} ({counts} train/validation/test tiles{note})"


def _finished_run(run_dir, info, loss):
    """Reload a run that already finished: ``resume=True`` has nothing left to do."""
    print(f"The run in {run_dir} finished after {info['epochs_run']} epochs; nothing to resume.")
    model = keras.models.load_model(run_dir / BEST_MODEL, compile=False)
    compile_unet(model, loss, jit_compile=info.get("jit_compile", "auto"))
    return TrainResult(model, read_history(run_dir / HISTORY), run_dir, info)


def _inputs(tiles, accel, batch_size, shuffle, augment, seed):
    """What ``fit`` takes for ``tiles``: ``make_dataset``, or the seed's float32 arrays."""
    if accel.get("inputs") != "numpy":
        return {"x": make_dataset(tiles, batch_size, shuffle=shuffle, augment=augment, seed=seed)}
    return {"x": tiles.images.astype(np.float32) / np.float32(255.0),
            "y": tiles.masks[..., None].astype(np.float32), "batch_size": batch_size, "shuffle": shuffle}


def train_unet(prof, run_dir, data=None, loss=None, resume=False, augment=False,
               epochs=None, verbose="auto", learning_rate=None, source=None, precision=None, xla=None,
               retune=False, recipe=None):
    """Train a U-Net with the seed's recipe; resumable, reported in ``run.json``.

    Lesson 7 "Training" walks through it. The model is ``build_unet((s, s, 3),
    filters=prof.base_filters)`` with ``s = prof.image_size``, seeded with
    ``prof.seed``. At the end it holds the weights of the best epoch.

    Parameters
    ----------
    prof : unet_course.Profile
        Sizes, epochs, batch size, patience and seed (``unet_course.profile()``).
    run_dir : str or pathlib.Path
        Output folder, created if needed. An existing run is never overwritten.
    data : Splits or str, optional
        The tiles, or a source for ``load_data`` (``"synthetic"``,
        ``"tiles:PATH"``, ``"massachusetts:PATH"``); default: the profile's.
    loss : str or callable, optional
        See :func:`compile_unet` (default: the recipe's, else the seed's ``"bce_dice"``).
    resume : bool, default False
        Continue the run in ``run_dir`` from the epoch after its last backup
        (a finished run is reloaded, not trained again).
    augment : bool, default False
        Random flips, rotations, brightness and contrast on the training tiles.
    epochs : int, optional
        Most epochs (default ``prof.epochs``).
    verbose : "auto", 0, 1 or 2, default "auto"
        Keras' progress bars; 0 is quiet.
    learning_rate : float, optional
        Starting learning rate (default 1e-3).
    source : str, optional
        Where a ``Splits`` passed as ``data`` came from, for ``run.json``.
    precision, xla : str, optional
        Force the precision policy or XLA (``"on"``/``"off"``); default: the
        machine's measured choice, see :mod:`unet_course.accelerator`.
    retune : bool, default False
        Measure the ways to train again instead of reading the cache.
    recipe : str or unet_course.recipes.Recipe, optional
        ``"seed"`` (the default) or ``"best-laptop"``, see :mod:`unet_course.recipes`.

    Returns
    -------
    TrainResult

    Raises
    ------
    FileExistsError
        ``run_dir`` holds a run and ``resume`` is False.
    TrainingDiverged
        The loss became NaN or infinite; the message says where and what to check.
    """
    run_dir = Path(run_dir)
    rec = recipes.get_recipe(recipe)
    loss = loss or rec.loss or "bce_dice"                        # a loss argument wins over the recipe's
    info = check_run_dir(run_dir, prof, resume)
    if resume and info and info.get("status") == "finished":
        return _finished_run(run_dir, info, loss)
    loaded = recipes.data_profile(rec, prof)
    splits, described = _splits(data, loaded, source)
    splits = recipes.recipe_splits(rec, splits, prof)
    max_epochs = int(epochs or rec.epochs or prof.epochs)      # --epochs wins over the recipe's
    per_epoch = _steps(len(splits.train), prof.batch_size)
    keras.utils.set_random_seed(prof.seed)        # before the measurement traces: seeding traces again
    accel = run_accelerator(prof, per_epoch * max_epochs, precision, xla, augment, retune)
    traced = accel.pop(TRACED, None)
    seeds_model = not rec.batch_norm and rec.schedule == "seed"
    if not seeds_model or loss != "bce_dice" or learning_rate not in (None, 1e-3):
        traced = None                             # not the model the measurement traced
    run_dir.mkdir(parents=True, exist_ok=True)
    metadata = {
        "status": "running", "profile": prof.name,
        "profile_settings": {**asdict(prof), "split": list(prof.split)},
        "data": described, "loss": loss if isinstance(loss, str) else getattr(loss, "__name__", "custom"),
        "max_epochs": max_epochs, "recipe": rec.name, "package_version": unet_course.__version__,
        "data_tile_size": loaded.image_size,       # the tiles' side at the model's ground resolution
        "tensorflow_version": tf.__version__, "keras_version": keras.__version__, **accel,
    }
    write_run_info(run_dir, metadata)
    if rec.full_resolution or rec.augment:     # the recipe's own tf.data pipeline (random crops, augmentation)
        train_ds, val_ds = recipes.recipe_datasets(rec, splits, prof, augment)
        train, val = {"x": train_ds}, {"x": val_ds}
    else:                                       # the way measured fastest here (numpy arrays or tf.data)
        train = _inputs(splits.train, accel, prof.batch_size, True, augment, prof.seed)
        val = _inputs(splits.validation, accel, prof.batch_size, False, False, prof.seed)
    model = compiled_unet(prof, loss, learning_rate, accel, batch_norm=rec.batch_norm, traced=traced,
                          schedule=recipes.recipe_schedule(rec, learning_rate or 1e-3, per_epoch * max_epochs))
    callbacks = make_callbacks(run_dir, prof.patience, resume=resume)
    if verbose != 0:
        callbacks.append(AnnounceTime(max_epochs, per_epoch, _steps(len(splits.validation), prof.batch_size),
                                      budget_minutes=prof.budget_minutes, profile_name=prof.name))
    if resume and (run_dir / HISTORY).is_file():
        print(f"Resuming the run in {run_dir}: {len(read_history(run_dir / HISTORY)['epoch'])} epochs done.")
    start = time.perf_counter()
    validation = val["x"] if "y" not in val else (val["x"], val["y"])
    fitted = model.fit(**{"shuffle": False, **train},  # make_dataset shuffles the tiles itself
                       validation_data=validation, epochs=max_epochs, callbacks=callbacks, verbose=verbose)
    metadata["seconds"] = round(time.perf_counter() - start, 2)
    return _finish(model, run_dir, metadata, fitted, callbacks[0])


def _finish(model, run_dir, metadata, fitted, nan_stop):
    """Tidy the history, reload the best epoch's weights, complete ``run.json``."""
    history = read_history(run_dir / HISTORY)
    write_history(run_dir / HISTORY, history)
    first = fitted.epoch[0] if fitted.epoch else 0
    metadata.update(epochs_run=len(history["epoch"]), resumed_from_epoch=first + 1 if first else None)
    if nan_stop.message:
        metadata.update(status="diverged", message=nan_stop.message)
        write_run_info(run_dir, metadata)
        raise TrainingDiverged(nan_stop.message)
    if (run_dir / BEST_MODEL).is_file():
        model.load_weights(run_dir / BEST_MODEL)
    val_loss = np.array(history.get("val_loss") or [np.nan])
    known = np.isfinite(val_loss).any()
    metadata.update(
        status="finished", best_epoch=int(np.nanargmin(val_loss)) + 1 if known else None,
        best_val_loss=float(np.nanmin(val_loss)) if known else None,
        stopped_early=metadata["epochs_run"] < metadata["max_epochs"],
    )
    write_run_info(run_dir, metadata)
    return TrainResult(model, history, run_dir, metadata)
