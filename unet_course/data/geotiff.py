"""Reading GeoTIFFs, the pixel rules, and checking data folders: one reader for every source (lesson 1).

The seed's tiles (:mod:`~unet_course.data.tiles`) and the official scenes
(:mod:`~unet_course.data.massachusetts`) are both GeoTIFFs in a folder
layout. Both read through :func:`read_raster` and check their folders with
:func:`layout_folders`, so a wrong file or folder gets the same kind of
message, naming it and saying what was expected.

Two rules say which pixel values the course accepts, for training tiles,
``unet-course predict``, ``evaluate-footprints`` and the lessons alike (the
data card, ``data/README.md``, states them):

- an **image** (:func:`image_pixels`) has 3 bands of whole numbers 0-255:
  uint8, or any type holding only such values, such as the seed's float32
  tiles. Pixels equal to the declared nodata value (the seed declares
  -3.4e38) or not finite are *no data*. Anything else (uint16 values above
  255, floats scaled to [0, 1], fractions) is refused with a message saying
  how to convert it; nothing is rescaled silently;
- a **label** (:func:`label_coverage`) has 1 band of building coverage in
  [0, 1] (the seed's fractional labels, or 0/1), or 0/255; 255 means fully
  covered. The coverage becomes a mask by the course's rule
  (:func:`unet_course.data.tiles.binarize_label`: ``threshold`` or ``truncate``).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from unet_course.data.errors import DatasetError

__all__ = ["read_raster", "layout_folders", "image_pixels", "label_coverage", "no_data"]


def _band_counts(bands) -> str:
    return " or ".join(str(b) for b in bands)


def read_raster(path, bands, with_nodata=False) -> tuple:
    """Read every band of a GeoTIFF: ``(array (bands, H, W), transform or None)``.

    Parameters
    ----------
    path : str or pathlib.Path
    bands : int or tuple of int
        The band counts accepted (3 for an RGB image, 1 for a label).
    with_nodata : bool
        Also return the file's declared nodata value (None when it has none).

    Returns
    -------
    array : numpy.ndarray
        The pixels in the file's own data type, bands first.
    transform : affine.Affine or None
        The georeference, or None when the file has no CRS or an identity transform.

    Raises
    ------
    DatasetError
        The file is missing, unreadable, or has another number of bands.
    """
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    path, bands = Path(path), (bands,) if isinstance(bands, int) else tuple(bands)
    if not path.is_file():
        raise DatasetError(f"{path} does not exist; expected a GeoTIFF with {_band_counts(bands)} band(s)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                if src.count not in bands:
                    raise DatasetError(f"{path} has {src.count} band(s); expected {_band_counts(bands)}")
                georeferenced = src.crs is not None and not src.transform.is_identity
                found = src.read(), (src.transform if georeferenced else None)
                return found + (src.nodata,) if with_nodata else found
    except RasterioError:
        raise DatasetError(f"{path} could not be read as a GeoTIFF (GDAL does not recognise it, or "
                           f"it is damaged); expected a readable GeoTIFF with {_band_counts(bands)} "
                           "band(s)") from None


def layout_folders(root, split, names, layout) -> list:
    """The folders ``root/split/<name>`` for each name, checked to exist.

    ``layout`` describes the expected layout for the message, for example
    ``"ROOT/training/images/image_<x>_<y>.tif and ROOT/training/labels/"``.
    """
    folders = [Path(root) / split / name for name in names]
    for folder in folders:
        if not folder.is_dir():
            raise DatasetError(f"{folder} is not a folder; expected the layout {layout}")
    return folders


def _holds(dtype, value):
    """Whether ``dtype`` can hold ``value`` exactly (a uint8 image cannot hold -3.4e38)."""
    if dtype.kind == "f":
        return abs(value) <= np.finfo(dtype).max
    info = np.iinfo(dtype)
    return float(value).is_integer() and info.min <= value <= info.max


def no_data(bands, nodata=None):
    """Boolean ``(H, W)``: True where every band of ``(count, H, W)`` is the nodata value, or any is not finite.

    As GDAL's dataset mask: a dark pixel with one band at a nodata value of 0
    is still a pixel.
    """
    bands = np.asarray(bands)
    missing = np.zeros(bands.shape[1:], bool)
    if bands.dtype.kind == "f":
        missing |= ~np.all(np.isfinite(bands), axis=0)
    if nodata is not None and np.isfinite(nodata) and _holds(bands.dtype, nodata):
        missing |= np.all(bands == np.asarray(nodata).astype(bands.dtype), axis=0)
    return missing


def _example(values, where):
    """One offending value, written briefly, for a message."""
    value = values[where][0]
    return f"{value:g}" if np.issubdtype(values.dtype, np.floating) else str(value)


def image_pixels(bands, nodata=None, name="image"):
    """The course's image rule: 3 bands of whole numbers 0-255 as uint8 ``(H, W, 3)`` (lesson 1).

    Parameters
    ----------
    bands : numpy.ndarray
        ``(3, H, W)`` in the file's own type (uint8, the seed's float32, ...).
    nodata : float, optional
        The file's declared nodata value.
    name : str
        The file (and window) named in a message.

    Returns
    -------
    image : numpy.ndarray
        uint8 ``(H, W, 3)``; no-data pixels are 0.
    valid : numpy.ndarray or None
        Boolean ``(H, W)``, False on no-data pixels; None when every pixel is valid.

    Raises
    ------
    DatasetError
        Other than 3 bands, or valid pixels that are not whole numbers 0-255
        (the message says what was found and how to convert it).

    Examples
    --------
    >>> seed = np.array([[[0.0, -3.4e38]], [[7.0, -3.4e38]], [[9.0, -3.4e38]]], np.float32)
    >>> image, valid = image_pixels(seed, nodata=-3.4e38)
    >>> image[0].tolist(), valid.tolist()
    ([[0, 7, 9], [0, 0, 0]], [[True, False]])
    """
    bands = np.asarray(bands)
    if bands.ndim != 3 or bands.shape[0] != 3:
        count = bands.shape[0] if bands.ndim == 3 else "no"
        raise DatasetError(f"{name} has {count} band(s); expected 3 (red, green, blue): keep the "
                           "three colour bands, e.g. gdal_translate -b 1 -b 2 -b 3 IN.tif OUT.tif")
    if bands.dtype.kind not in "uif":
        raise DatasetError(f"{name}: pixels are {bands.dtype}; expected whole numbers 0-255 "
                           "(uint8, or the seed's float32)")
    missing = no_data(bands, nodata)
    if bands.dtype != np.uint8:
        values = bands[:, ~missing]
        if values.size:
            low, high = values.min(), values.max()
            if high <= 1 and bands.dtype.kind == "f" and np.any(values != np.round(values)):
                raise DatasetError(f"{name}: pixels are {bands.dtype} in [0, 1]; expected whole "
                                   "numbers 0-255 like the seed's float32 tiles: multiply by 255 "
                                   "first, e.g. gdal_translate -scale 0 1 0 255 -ot Byte IN.tif OUT.tif")
            if low < 0 or high > 255:
                raise DatasetError(f"{name}: pixels are {bands.dtype} from {low:g} to {high:g}, "
                                   "outside 0-255; expected whole numbers 0-255 (8-bit RGB): "
                                   "rescale to 8 bits first, e.g. gdal_translate -ot Byte -scale "
                                   f"{low:g} {high:g} 0 255 IN.tif OUT.tif")
            fractional = values != np.round(values)
            if np.any(fractional):
                raise DatasetError(f"{name}: pixels are {bands.dtype} with fractions (such as "
                                   f"{_example(values, fractional)}); expected whole numbers 0-255")
    image = np.where(missing, 0, bands).astype(np.uint8) if missing.any() else bands.astype(np.uint8)
    return np.moveaxis(image, 0, -1), (~missing if missing.any() else None)


def label_coverage(band, nodata=None, name="label"):
    """The course's label rule: building coverage in [0, 1] as float32 ``(H, W)`` (lesson 1).

    A label holds the seed's fractional coverage in [0, 1], 0/1, or 0/255
    (255 becomes 1.0). No-data pixels (the declared value, or not finite) are
    0 and False in ``valid`` (None when every pixel is valid). The mask is
    then ``binarize_label(coverage, rule)``.

    Examples
    --------
    >>> coverage, valid = label_coverage(np.array([[0, 255, 255]], np.uint8))
    >>> coverage.tolist(), valid
    ([[0.0, 1.0, 1.0]], None)
    """
    band = np.asarray(band)
    if band.ndim != 2:
        raise DatasetError(f"{name} has shape {band.shape}; expected one band (height, width)")
    if band.dtype.kind not in "uifb":
        raise DatasetError(f"{name}: pixels are {band.dtype}; expected building coverage in "
                           "[0, 1], 0/1 or 0/255")
    missing = no_data(band[None], nodata)
    values = np.where(missing, 0, band).astype(np.float32)
    full = values == 255
    wrong = ~full & ((values < 0) | (values > 1))
    if np.any(wrong):
        raise DatasetError(f"{name} holds values outside [0, 1] (such as {_example(values, wrong)}); "
                           "expected building coverage in [0, 1], 0/1 or 0/255")
    values[full] = 1.0
    return values, (~missing if missing.any() else None)
