"""Shared test fixtures: small real raster files written with rasterio (data tests only), and the
``sandbox`` marker: a test that needs bubblewrap's sandbox skips, saying why, where none can be made
(a failure instead under ``UNET_COURSE_REQUIRE_SANDBOX=1``, which ``.ci/run`` sets)."""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

REAL_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "real_sample"
#: The 160 real labelled tiles (128 training, 32 validation) in the seed's format, when present.
REAL_TILES = REAL_SAMPLE.parent / "real_tiles"

# The speed measurements a test run makes go to a folder of its own, never the user's cache.
os.environ.setdefault("UNET_COURSE_CACHE_DIR", tempfile.mkdtemp(prefix="unet-course-cache-"))


def write_raster(path, bands: np.ndarray, dtype="float32", georeferenced=True) -> Path:
    """Write ``bands`` ``(count, H, W)`` as a GeoTIFF (EPSG:26986, 1.171875 m pixels) or a plain TIFF."""
    import rasterio
    from affine import Affine

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count, height, width = bands.shape
    profile = dict(driver="GTiff", width=width, height=height, count=count, dtype=dtype)
    if georeferenced:
        profile.update(crs="EPSG:26986", transform=Affine(1.171875, 0, 226586.0, 0, -1.171875, 898571.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(bands.astype(dtype))
    return path


@pytest.fixture
def tile_layout(tmp_path):
    """Write the seed's tile layout: ``make(split, x, y, image, label)`` returns the root."""
    root = tmp_path / "tiles"

    def make(split, x, y, image, label):
        write_raster(root / split / "images" / f"image_{x}_{y}.tif", np.transpose(image, (2, 0, 1)))
        write_raster(root / split / "labels" / f"label_{x}_{y}.tif", label[None])
        return root

    return make


@pytest.fixture
def official_layout(tmp_path):
    """Write the official Massachusetts layout: ``make(split, name, image, mask01)`` returns the root."""
    root = tmp_path / "mass"

    def make(split, name, image, mask, georeferenced=False):
        write_raster(root / split / "sat" / f"{name}.tiff", np.transpose(image, (2, 0, 1)), "uint8",
                     georeferenced)
        write_raster(root / split / "map" / f"{name}.tif", (mask[None] * 255), "uint8", georeferenced)
        return root

    return make


@pytest.fixture
def real_sample():
    """The 8 real tiles in the seed's layout; skips the test when they are absent."""
    if not (REAL_SAMPLE / "training" / "images").is_dir():
        pytest.skip(f"real sample tiles not found at {REAL_SAMPLE}")
    return REAL_SAMPLE


#: What the sandboxed tests need of the machine: the namespaces and mounts of the grader's own
#: ``bwrap`` command line (unet_course.grading.autograde.sandbox), here around ``true``.
SANDBOX_PROBE = ["--die-with-parent", "--new-session", "--unshare-all", "--uid", "65534", "--gid", "65534",
                 "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "true"]


@functools.cache
def sandbox_problem_here():
    """``None`` when bubblewrap can make the grader's sandbox on this machine, else why not (one line).

    Tried for real, once per test session. It tests the machine, not the package: a broken
    ``sandbox_argv`` still fails its tests instead of skipping them.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed: `sudo apt-get install bubblewrap` or `make grading-deps`"
    try:
        done = subprocess.run([bwrap, *SANDBOX_PROBE], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not start: {error}"
    if done.returncode == 0:
        return None
    said = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
    apparmor = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
    if apparmor.exists() and apparmor.read_text().strip() == "1":
        fix = ("AppArmor restricts unprivileged user namespaces: "
               "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`")
    else:
        fix = ("user namespaces or mounts are refused here (in a container: `docker run --privileged`; "
               "elsewhere: sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone=1)")
    return f"bubblewrap cannot make the sandbox here ({said}): {fix}"


def pytest_configure(config):
    config.addinivalue_line("markers", "sandbox: grades in bubblewrap's sandbox (skips, saying why, where "
                                       "none can be made; fails instead under UNET_COURSE_REQUIRE_SANDBOX=1)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before any fixture of a ``sandbox`` test: skip it (or fail it, where the sandbox is required)."""
    if item.get_closest_marker("sandbox") is None:
        return
    problem = sandbox_problem_here()
    if problem is None:
        return
    if os.environ.get("UNET_COURSE_REQUIRE_SANDBOX") == "1":
        pytest.fail(f"UNET_COURSE_REQUIRE_SANDBOX=1 but {problem}", pytrace=False)
    pytest.skip(f"no sandbox: {problem}")
