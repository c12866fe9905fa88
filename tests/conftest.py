"""Shared test fixtures: small real raster files written with rasterio (data tests only)."""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

REAL_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "real_sample"

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
