"""The ``unet-course`` command in subprocesses: usage errors, demo, evaluate, a real kill and resume."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

ENV = {key: value for key, value in os.environ.items()
       if key not in ("UNET_COURSE_PROFILE", "UNET_COURSE_DATA", "NBGRADER_EXECUTION")}
COMMAND = [sys.executable, "-m", "unet_course"]
METRIC_KEYS = {"accuracy", "precision", "recall", "dice", "iou", "all_background_accuracy",
               "seconds", "profile"}


def cli(*args, timeout=300):
    return subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def assert_one_error_line(result):
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), result.stderr
    return errors[0]


@pytest.mark.parametrize("args, expected", [
    ([], "the following arguments are required: COMMAND"),
    (["fly"], "invalid choice: 'fly'"),
    (["train", "--profile", "smoke"], "the following arguments are required: --out"),
    (["train", "--data", "pictures", "--out", "x"], "expected one of synthetic, tiles:PATH"),
    (["train", "--data", "tiles:", "--out", "x"], "expected one of synthetic"),
    (["demo", "--profile", "huge"], "invalid choice: 'huge'"),
    (["train", "--epochs", "0", "--out", "x"], "expected a whole number of at least 1"),
    (["evaluate", "--out", "x", "--resume"], "unrecognized arguments: --resume"),
])
def test_wrong_arguments_print_usage_and_exit_2(args, expected):
    result = cli(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: unet-course") and expected in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_profile_in_the_environment_is_a_usage_error():
    result = subprocess.run([*COMMAND, "demo"], capture_output=True, text=True, timeout=60,
                            env={**ENV, "UNET_COURSE_PROFILE": "huge"})
    assert result.returncode == 2 and "unknown profile 'huge'" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_the_commands():
    result = cli("--help")
    assert result.returncode == 0
    assert all(name in result.stdout for name in ("demo", "train", "evaluate"))


def test_bad_data_is_one_error_line(tmp_path):
    missing = tmp_path / "no_such_folder"
    line = assert_one_error_line(cli("train", "--data", f"tiles:{missing}", "--profile", "smoke",
                                     "--out", tmp_path / "run"))
    assert str(missing) in line
    assert not (tmp_path / "run").exists()


def test_existing_run_is_refused_without_resume(tmp_path):
    (tmp_path / "run.json").write_text('{"profile": "smoke", "status": "finished"}\n')
    line = assert_one_error_line(cli("train", "--profile", "smoke", "--out", tmp_path))
    assert "already holds a training run" in line and "--resume" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = cli("demo", "--out", out, "--profile", "smoke", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result


def test_demo_writes_metrics_figures_and_prints_the_table(demo):
    out, result = demo
    metrics = json.loads((out / "metrics.json").read_text())
    assert METRIC_KEYS <= set(metrics) and metrics["profile"] == "smoke"
    assert all(0.0 <= metrics[key] <= 1.0 for key in METRIC_KEYS - {"seconds", "profile"})
    pixels = metrics["tp"] + metrics["fp"] + metrics["fn"] + metrics["tn"]
    assert pixels == metrics["test_tiles"] * 64 * 64
    assert metrics["accuracy"] == pytest.approx((metrics["tp"] + metrics["tn"]) / pixels)
    for name in ("curves.png", "error_maps.png", "probability_maps.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "best.keras").is_file() and (out / "history.csv").is_file()
    assert "seed (published)" in result.stdout and "76.7 %" in result.stdout
    assert f"{100 * metrics['dice']:5.1f} %" in result.stdout
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "finished" and run["data"].startswith("synthetic")


def test_evaluate_scores_the_saved_model_like_the_demo(demo):
    out, _ = demo
    before = json.loads((out / "metrics.json").read_text())
    result = cli("evaluate", "--data", "synthetic", "--profile", "smoke", "--out", out)
    assert result.returncode == 0, result.stderr
    after = json.loads((out / "metrics.json").read_text())
    for key in ("tp", "fp", "fn", "tn", "dice", "all_background_accuracy"):
        assert after[key] == before[key]
    missing = assert_one_error_line(cli("evaluate", "--profile", "smoke", "--out", out / "none"))
    assert "best.keras" in missing
    other = assert_one_error_line(cli("evaluate", "--profile", "laptop", "--out", out))
    assert "takes 64x64 tiles but profile 'laptop'" in other


def history_epochs(path):
    lines = path.read_text().splitlines()[1:] if path.is_file() else []
    return [int(line.split(",")[0]) for line in lines if line]


def test_killed_training_resumes_from_the_next_epoch(tmp_path):
    epochs = 4
    args = ["train", "--data", "synthetic", "--profile", "smoke", "--epochs", epochs,
            "--patience", epochs, "--out", tmp_path]
    process = subprocess.Popen([*COMMAND, *map(str, args), "--quiet"], env=ENV,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    backup = tmp_path / "backup" / "training_metadata.json"
    deadline = time.monotonic() + 240
    while not backup.is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL, "training ended before it was killed"
    done = json.loads(backup.read_text())["epoch"]
    rows_before = (tmp_path / "history.csv").read_text().splitlines()
    assert 1 <= done < epochs and history_epochs(tmp_path / "history.csv")[:done] == list(range(done))
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "running"

    result = cli(*args, "--resume")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Epoch {done + 1}/{epochs}" in result.stdout and "Epoch 1/" not in result.stdout
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["status"] == "finished" and info["resumed_from_epoch"] == done + 1
    assert info["epochs_run"] == epochs
    assert history_epochs(tmp_path / "history.csv") == list(range(epochs))
    rows_after = (tmp_path / "history.csv").read_text().splitlines()
    assert rows_after[: done + 1] == rows_before[: done + 1]  # header and finished epochs kept
    assert not (tmp_path / "backup").exists()
