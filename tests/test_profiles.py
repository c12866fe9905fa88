"""The profile switch and the version check every lesson runs."""
import pytest

import unet_course
from unet_course.profiles import PROFILES, profile


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("UNET_COURSE_PROFILE", "UNET_COURSE_DATA", "NBGRADER_EXECUTION"):
        monkeypatch.delenv(name, raising=False)


def test_default_is_laptop():
    assert profile().name == "laptop"


def test_full_is_the_seed():
    full = profile("full")
    assert (full.image_size, full.base_filters, full.batch_size, full.epochs, full.patience) == (
        256, 32, 8, 50, 3)
    assert full.split == (0.70, 0.15, 0.15)
    assert full.n_tiles == 3347


def test_environment_variable_picks(monkeypatch):
    monkeypatch.setenv("UNET_COURSE_PROFILE", "full")
    assert profile().name == "full"
    monkeypatch.setenv("UNET_COURSE_PROFILE", " Smoke ")
    assert profile().name == "smoke"


def test_nbgrader_forces_smoke(monkeypatch):
    monkeypatch.setenv("UNET_COURSE_PROFILE", "full")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert profile().name == "smoke"


def test_data_override(monkeypatch):
    monkeypatch.setenv("UNET_COURSE_DATA", "tiles:/data/mass")
    assert profile("smoke").data == "tiles:/data/mass"
    assert PROFILES["smoke"].data == "synthetic"


def test_unknown_profile_names_the_choices(monkeypatch):
    monkeypatch.setenv("UNET_COURSE_PROFILE", "huge")
    with pytest.raises(ValueError, match="huge.*smoke, laptop, full"):
        profile()


def test_profiles_are_frozen():
    with pytest.raises(AttributeError):
        profile("smoke").epochs = 99


def test_profiles_grow_from_smoke_to_full():
    smoke, laptop, full = (PROFILES[n] for n in ("smoke", "laptop", "full"))
    for field in ("image_size", "base_filters", "n_tiles", "epochs"):
        assert getattr(smoke, field) <= getattr(laptop, field) <= getattr(full, field), field
    for p in PROFILES.values():
        assert p.image_size % 16 == 0, "four poolings need a side divisible by 16"
        assert abs(sum(p.split) - 1.0) < 1e-9


def test_check_version():
    assert unet_course.check_version("0.1") == unet_course.__version__
    with pytest.raises(RuntimeError, match="written for unet_course 9.9"):
        unet_course.check_version("9.9")


def test_tensorflow_start_up_is_quiet():
    """Students see their own output: no oneDNN/absl lines when the package loads TensorFlow."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    done = subprocess.run(
        [sys.executable, "-c", "from unet_course.backend import tf; print(tf.constant(2) * 3)"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "tf.Tensor(6" in done.stdout
    assert "oneDNN" not in done.stderr and "absl" not in done.stderr, done.stderr
