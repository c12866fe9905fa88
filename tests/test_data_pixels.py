"""The course's pixel rules (``geotiff.image_pixels``, ``label_coverage``) against numpy written out."""
from __future__ import annotations

import numpy as np
import pytest

from unet_course.data import DatasetError, binarize_label
from unet_course.data.geotiff import image_pixels, label_coverage, no_data

SEED_NODATA = -3.3999999521443642e+38      # what the seed's GeoTIFFs declare (float32 -3.4e38)


def _seed_image(rng, shape=(3, 5, 7)):
    """Whole numbers 0-255 stored as float32, as in the seed's tiles."""
    return rng.integers(0, 256, shape).astype(np.float32)


def test_the_seeds_float32_and_uint8_give_the_same_pixels():
    bands = _seed_image(np.random.default_rng(0))
    image, valid = image_pixels(bands, SEED_NODATA)
    assert image.dtype == np.uint8 and image.shape == (5, 7, 3) and valid is None
    assert np.array_equal(image, np.transpose(bands, (1, 2, 0)).astype(np.uint8))
    same, _ = image_pixels(bands.astype(np.uint8))
    assert np.array_equal(same, image)
    wide, _ = image_pixels(bands.astype(np.uint16))         # uint16 holding 0-255 only: the same
    assert np.array_equal(wide, image)


def test_declared_nodata_and_nan_are_no_data_and_zero():
    bands = _seed_image(np.random.default_rng(1))
    bands[:, 0, 0] = SEED_NODATA                             # a gap of a mosaic: every band
    bands[:, 1, 2] = np.nan
    bands[0, 2, 3] = SEED_NODATA                             # one band only: not a gap ...
    with pytest.raises(DatasetError, match="outside 0-255"):  # ... but not a pixel value either
        image_pixels(bands, SEED_NODATA)
    bands[0, 2, 3] = 17
    image, valid = image_pixels(bands, SEED_NODATA)
    expected = np.ones((5, 7), bool)
    expected[0, 0] = expected[1, 2] = False
    assert np.array_equal(valid, expected)
    assert np.all(image[~expected] == 0) and image[2, 3, 0] == 17
    assert np.array_equal(no_data(bands, SEED_NODATA), ~expected)


def test_a_dark_uint8_pixel_with_one_band_at_nodata_is_still_a_pixel():
    bands = np.full((3, 2, 2), 9, np.uint8)
    bands[:, 0, 0] = 0
    bands[0, 1, 1] = 0
    _, valid = image_pixels(bands, nodata=0)
    assert valid.tolist() == [[False, True], [True, True]]
    assert image_pixels(bands, nodata=SEED_NODATA)[1] is None  # a uint8 image cannot hold -3.4e38


@pytest.mark.parametrize("bands, words", [
    (np.full((3, 4, 4), 4095, np.uint16), "uint16 from 4095 to 4095, outside 0-255; expected whole numbers 0-255"),
    (np.full((3, 4, 4), 0.5, np.float32), r"float32 in \[0, 1\]; expected whole numbers 0-255 like the seed's"),
    (np.full((3, 4, 4), 12.5, np.float32), r"with fractions \(such as 12.5\); expected whole numbers 0-255"),
    (np.full((3, 4, 4), -1, np.int16), "int16 from -1 to -1, outside 0-255"),
    (np.zeros((4, 4, 4), np.uint8), "has 4 band.s.; expected 3 .red, green, blue."),
    (np.zeros((1, 4, 4), np.uint8), "has 1 band.s.; expected 3"),
    (np.zeros((3, 4, 4), np.complex64), "pixels are complex64; expected whole numbers 0-255"),
])
def test_anything_else_is_refused_saying_what_and_how_to_convert(bands, words):
    with pytest.raises(DatasetError, match=words) as caught:
        image_pixels(bands, name="scene.tif")
    assert str(caught.value).startswith("scene.tif")


def test_labels_fractional_01_and_0255_by_the_training_rule():
    fractional = np.array([[0.0, 0.3, 0.5], [0.7, 1.0, SEED_NODATA]], np.float32)
    coverage, valid = label_coverage(fractional, SEED_NODATA)
    np.testing.assert_allclose(coverage, [[0, 0.3, 0.5], [0.7, 1, 0]], rtol=1e-6)
    assert valid.tolist() == [[True, True, True], [True, True, False]]
    assert binarize_label(coverage).tolist() == [[0, 0, 1], [1, 1, 0]]
    assert binarize_label(coverage, "truncate").tolist() == [[0, 0, 0], [0, 1, 0]]
    for scale in (1, 255):
        binary = np.array([[0, scale], [scale, 0]], np.uint8)
        coverage, valid = label_coverage(binary)
        assert coverage.tolist() == [[0, 1], [1, 0]] and valid is None
    with pytest.raises(DatasetError, match=r"labels.tif holds values outside \[0, 1\] \(such as 128\); "
                                           r"expected building coverage in \[0, 1\], 0/1 or 0/255"):
        label_coverage(np.array([[0, 128]], np.uint8), name="labels.tif")
