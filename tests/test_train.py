"""Lesson 7's training recipe: schedule, callbacks, run folder, NaN stop, resume."""
from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import replace

import keras
import numpy as np
import pytest
import tensorflow as tf

import unet_course
from unet_course import accelerator, rundir, train
from unet_course.accelerator import configure_accelerator
from unet_course.data import Splits, TileSet, synthetic_tiles

SMOKE = unet_course.profile("smoke")
QUICK = replace(SMOKE, epochs=2)


@pytest.fixture(scope="module")
def splits():
    """A few smoke-sized synthetic tiles: 16 train, 8 validation, 8 test."""
    tiles = synthetic_tiles(32, size=SMOKE.image_size, seed=5)
    return Splits(tiles.subset(np.arange(16)), tiles.subset(np.arange(16, 24)),
                  tiles.subset(np.arange(24, 32)))


@pytest.fixture(scope="module")
def finished(splits, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    return train.train_unet(QUICK, run_dir, data=splits, verbose=0, source="synthetic")


def test_learning_rate_schedule_decays_exponentially():
    schedule = train.learning_rate_schedule()
    for step in (0, 500, 1000, 5000):
        assert float(schedule(step)) == pytest.approx(1e-3 * 0.9 ** (step / 1000), rel=1e-5)
    assert float(train.learning_rate_schedule(0.01, 10, 0.5)(20)) == pytest.approx(0.0025)


def test_callbacks_follow_the_recipe(tmp_path):
    nan, csv_logger, checkpoint, early, backup = train.make_callbacks(tmp_path, patience=3)
    assert isinstance(nan, keras.callbacks.TerminateOnNaN)
    assert isinstance(csv_logger, keras.callbacks.CSVLogger) and not csv_logger.append
    assert csv_logger.filename == str(tmp_path / "history.csv")
    assert checkpoint.filepath == str(tmp_path / "best.keras") and checkpoint.save_best_only
    assert checkpoint.monitor == "val_loss" and checkpoint.best in (None, np.inf)
    assert early.patience == 3 and early.restore_best_weights and early.monitor == "val_loss"
    assert isinstance(backup, keras.callbacks.BackupAndRestore)
    assert backup.backup_dir == str(tmp_path / "backup")


def test_resumed_callbacks_append_and_remember_the_best(tmp_path):
    (tmp_path / "history.csv").write_text("epoch,loss,val_loss\n0,0.9,0.8\n1,0.7,0.6\n2,0.6,0.65\n")
    _, csv_logger, checkpoint, _, _ = train.make_callbacks(tmp_path, resume=True)
    assert csv_logger.append and checkpoint.best == pytest.approx(0.6)


def test_read_history_keeps_the_last_row_of_a_repeated_epoch(tmp_path):
    path = tmp_path / "history.csv"
    with path.open("w", newline="") as file:
        csv.writer(file).writerows([["epoch", "loss", "val_loss"], [0, 0.9, 0.8], [1, 0.7, 0.6],
                                    [1, 0.65, 0.55], [2, 0.5, 0.5]])
    assert rundir.read_history(path) == {"epoch": [0, 1, 2], "loss": [0.9, 0.65, 0.5],
                                        "val_loss": [0.8, 0.55, 0.5]}
    with pytest.raises(FileNotFoundError, match="history"):
        rundir.read_history(tmp_path / "none.csv")


def test_accelerator_choice_matches_the_machine():
    accel = configure_accelerator(128)
    gpus = tf.config.list_physical_devices("GPU")
    assert accel["gpus"] == len(gpus) and accel["jit_compile"] == bool(gpus)
    assert accel["reason"]
    if not gpus:
        native = bool({"avx512_bf16", "amx_bf16"} & accelerator.cpu_flags())
        assert accel["policy"] == ("mixed_bfloat16" if native else "float32")
        assert configure_accelerator(64)["policy"] == "float32"      # the smoke profile's tiles
        assert accel["device"].startswith("CPU")
    else:
        capability = tf.config.experimental.get_device_details(gpus[0])["compute_capability"]
        assert accel["mixed_precision"] == (tuple(capability) >= (7, 0))


@pytest.mark.parametrize("gpus, capability, flags, size, want", [
    (1, (8, 0), set(), 256, ("mixed_float16", True)),
    (1, (6, 1), set(), 256, ("float32", True)),
    (0, None, {"avx512_bf16", "avx2"}, 128, ("mixed_bfloat16", False)),
    (0, None, {"amx_bf16"}, 256, ("mixed_bfloat16", False)),
    (0, None, {"avx512_bf16"}, 64, ("float32", False)),
    (0, None, {"avx2", "avx512f"}, 256, ("float32", False)),
])
def test_the_rule_for_precision_and_xla(gpus, capability, flags, size, want, monkeypatch):
    monkeypatch.delenv(accelerator.PRECISION_ENV, raising=False)
    monkeypatch.delenv(accelerator.XLA_ENV, raising=False)
    got = accelerator.choose_settings(gpus, capability, flags, size)
    assert (got["policy"], got["jit_compile"]) == want


def test_the_user_can_force_either_way(monkeypatch):
    monkeypatch.setenv(accelerator.XLA_ENV, "on")
    got = accelerator.choose_settings(0, None, {"avx512_bf16"}, 128, precision="float32")
    assert (got["policy"], got["jit_compile"]) == ("float32", True) and "forced" in got["reason"]
    assert accelerator.choose_settings(1, (8, 0), set(), 256, xla="off")["jit_compile"] is False
    with pytest.raises(ValueError, match="UNET_COURSE_PRECISION"):
        accelerator.choose_settings(0, None, set(), 128, precision="float64")


def test_a_bfloat16_model_leaves_the_global_policy_alone():
    from unet_course import profile
    from dataclasses import replace
    prof = replace(profile("smoke"), image_size=32, base_filters=2)
    accel = {**configure_accelerator(32), "policy": "mixed_bfloat16"}
    model = train.compiled_unet(prof, accel=accel)
    assert model.layers[1].dtype_policy.name == "mixed_bfloat16"
    assert model.layers[-1].dtype_policy.name == "float32"          # the sigmoid head
    assert keras.config.dtype_policy().name == "float32"

def test_compiled_unet_is_sized_by_the_profile_and_seeded():
    keras.utils.set_random_seed(SMOKE.seed)
    first = train.compiled_unet(SMOKE)
    keras.utils.set_random_seed(SMOKE.seed)
    second = train.compiled_unet(SMOKE)
    assert first.input_shape == (None, 64, 64, 3) and first.output_shape == (None, 64, 64, 1)
    first_conv = next(layer for layer in first.layers if isinstance(layer, keras.layers.Conv2D))
    assert first_conv.filters == SMOKE.base_filters
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert isinstance(first.optimizer, keras.optimizers.Adam)
    assert float(first.optimizer.learning_rate) == pytest.approx(1e-3)


def test_run_folder_and_run_json(finished):
    run_dir, info = finished.run_dir, json.loads((finished.run_dir / "run.json").read_text())
    assert info == finished.metadata
    assert info["status"] == "finished" and info["profile"] == "smoke"
    assert info["data"].startswith("synthetic (16/8/8")
    assert info["package_version"] == unet_course.__version__
    assert info["tensorflow_version"] == tf.__version__
    assert info["epochs_run"] == 2 and info["max_epochs"] == 2 and info["seconds"] > 0
    assert info["best_epoch"] in (1, 2) and info["resumed_from_epoch"] is None
    assert {"device", "mixed_precision", "jit_compile"} <= set(info)
    assert info["loss"] == "bce_dice" and info["recipe"] == "seed"      # the seed's, by default
    assert info["data_tile_size"] == info["profile_settings"]["image_size"]
    assert not (run_dir / "backup").exists()  # removed once training finished
    history = rundir.read_history(run_dir / "history.csv")
    assert history == finished.history and history["epoch"] == [0, 1]
    assert {"loss", "val_loss", "dice", "val_dice", "iou", "precision", "recall"} <= set(history)
    assert info["best_val_loss"] == pytest.approx(min(history["val_loss"]))


def test_model_holds_the_best_epoch(finished, splits):
    best = keras.models.load_model(finished.run_dir / "best.keras", compile=False)
    for a, b in zip(best.get_weights(), finished.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    val_loss = finished.model.evaluate(splits.validation.images / 255.0,
                                       splits.validation.masks[..., None], verbose=0)[0]
    assert val_loss == pytest.approx(finished.metadata["best_val_loss"], rel=1e-3)


def test_existing_run_is_never_overwritten(finished, splits):
    before = (finished.run_dir / "history.csv").read_text()
    with pytest.raises(FileExistsError, match="--resume"):
        train.train_unet(QUICK, finished.run_dir, data=splits, verbose=0)
    assert (finished.run_dir / "history.csv").read_text() == before


def test_resuming_a_finished_run_reloads_it(finished, splits, capsys):
    again = train.train_unet(QUICK, finished.run_dir, data=splits, resume=True, verbose=0)
    assert "nothing to resume" in capsys.readouterr().out
    assert again.history == finished.history and again.metadata == finished.metadata
    with pytest.raises(FileExistsError, match="profile 'smoke'"):
        train.train_unet(unet_course.profile("laptop"), finished.run_dir, resume=True)


def test_tiles_of_the_wrong_size_are_refused(splits, tmp_path):
    with pytest.raises(ValueError, match="64x64 pixels but profile 'laptop' expects 128x128"):
        train.train_unet(unet_course.profile("laptop"), tmp_path, data=splits, verbose=0)


def test_nan_loss_stops_with_advice(splits, tmp_path, capsys):
    """A label with a NaN pixel (nodata left in a float label) makes the loss NaN."""
    masks = splits.train.masks.astype(np.float32)
    masks[3, 10, 10] = np.nan
    broken = TileSet(splits.train.images, masks, splits.train.names, splits.train.origins)
    with pytest.raises(train.TrainingDiverged) as error:
        train.train_unet(QUICK, tmp_path, data=Splits(broken, splits.validation, splits.test), verbose=0)
    message = str(error.value)
    assert "in epoch 1" in message and "learning rate" in message and "masks" in message
    assert message in capsys.readouterr().out
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["status"] == "diverged" and info["message"] == message


def test_forward_flops_counts_each_convolution_by_hand():
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.Conv2D(4, 3, padding="same"),                       # 2*9*3*4 per output pixel, 64 pixels
        keras.layers.MaxPooling2D(2, padding="same"),
        keras.layers.Conv2DTranspose(2, 2, strides=2, padding="same"),   # 2*4*4*2 per input pixel, 16 pixels
    ])
    assert accelerator.forward_flops(model) == 2 * 9 * 3 * 4 * 64 + 2 * 4 * 4 * 2 * 16
    # the hand count for the laptop U-Net: about 1.52 GFLOP forward per 128 px tile
    from unet_course.model import build_unet
    assert accelerator.forward_flops(build_unet((128, 128, 3), filters=16)) / 1e9 == pytest.approx(1.516, abs=0.001)


def test_a_run_trains_the_way_the_cache_chose_and_records_it(splits, tmp_path, monkeypatch):
    """A measured choice of the seed's way (numpy arrays into fit) is what the run uses and records."""
    from unet_course import tuning

    monkeypatch.setenv(tuning.CACHE_ENV, str(tmp_path / "cache"))
    for name in (accelerator.PRECISION_ENV, accelerator.XLA_ENV):
        monkeypatch.delenv(name, raising=False)
    prof = replace(QUICK, epochs=1, measure_speed=True)
    key, described = tuning.machine_key(tuning.cpu_model(), accelerator.cpu_flags(), __import__("os").cpu_count(),
                                        [], tf.__version__, prof.image_size, prof.base_filters, prof.batch_size)
    steps = {"seed": {"step_seconds": [0.1, 0.1], "trace_seconds": 1.0},
             "float32": {"step_seconds": [0.2, 0.2], "trace_seconds": 1.0}}
    tuning.remember(key, {"key": described, "figures": steps, "left_out": {}, "xla_measured": True,
                          "measured_at": "2026-12-04T00:00:00", "cost_seconds": 2.0})
    result = train.train_unet(prof, tmp_path / "run", data=splits, verbose=0)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert (info["way"], info["inputs"], info["policy"]) == ("seed", "numpy", "float32")
    assert info["measurement"]["figures"] == steps and info["measurement"]["run_steps"] == 2
    assert "measured fastest" in info["reason"] and result.metadata["status"] == "finished"
    augmented = train.run_accelerator(prof, steps=2, augment=True)
    assert augmented["inputs"] == "tf.data" and augmented["way"] == "float32"


@pytest.mark.slow
def test_the_first_run_trains_the_measured_model_as_a_later_run_trains_a_new_one(splits, tmp_path, monkeypatch):
    """On first use the run trains the way's model the measurement traced (no second trace of the
    training step), and it trains exactly as the next run, which reads the cache and builds its own."""
    from unet_course import tuning

    monkeypatch.setenv(tuning.CACHE_ENV, str(tmp_path / "cache"))
    for name in (accelerator.PRECISION_ENV, accelerator.XLA_ENV):
        monkeypatch.delenv(name, raising=False)
    traces, train_step = [], keras.Model.train_step

    def counted(model, data):                 # Python runs the step only while tf.function traces it
        traces.append(id(model))
        return train_step(model, data)

    monkeypatch.setattr(keras.Model, "train_step", counted)
    prof = replace(QUICK, epochs=1, measure_speed=True)
    first = train.train_unet(prof, tmp_path / "first", data=splits, verbose=0)
    measured, calls = first.metadata["measurement"]["figures"], Counter(traces)
    assert len(measured) >= 2 and len(calls) == len(measured)            # a model per way measured,
    assert calls[id(first.model)] == min(calls.values())                 # and the run did not trace again
    assert "traced_model" not in json.loads((tmp_path / "first" / "run.json").read_text())
    second = train.train_unet(prof, tmp_path / "second", data=splits, verbose=0)
    assert len(traces) == sum(calls.values()) + calls[id(first.model)]  # a new model, traced once
    assert second.metadata["way"] == first.metadata["way"] and second.metadata["measurement"]["figures"] == measured
    np.testing.assert_allclose(first.history["loss"], second.history["loss"], rtol=1e-5)
    for a, b in zip(first.model.weights, second.model.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)
