"""The inputs of whole-scene prediction: an image to open, a model to load, a scale (lesson 10).

Three facts decide how a scene is predicted:

- the **image**: an RGB raster (GeoTIFF or anything GDAL reads) of whole
  numbers 0-255, uint8 or the seed's float32, with or without a georeference
  and nodata (:func:`open_image`; the rule is
  :func:`unet_course.data.geotiff.image_pixels`, checked on every window read);
- the **model**: a ``.keras`` file that ``train_unet`` wrote, or a
  ``.weights.h5`` file beside the ``run.json`` of its run (:func:`load_model`);
- the **scale**: a model of the ``laptop`` profile was trained on 256 px tiles
  resized to 128 px, so it has only seen buildings at half the source
  resolution; the scene is resampled by the same factor before prediction
  (:func:`training_scale`, read from the run's ``run.json``).

Every problem raises :class:`~unet_course.footprints.FootprintError` naming
the file and what was expected.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unet_course.footprints import FootprintError, FootprintWarning
from unet_course.rundir import read_run_info

__all__ = ["SOURCE_TILE", "SceneInfo", "open_image", "training_scale", "load_model",
           "check_fits", "model_window", "read_window"]

#: Side in pixels of the source tiles every profile resizes from (the seed's 256 px tiles).
SOURCE_TILE = 256


@dataclass(frozen=True)
class SceneInfo:
    """What prediction needs to know about an image (lesson 10).

    Attributes
    ----------
    path : pathlib.Path
    height, width : int
        Pixels.
    crs : rasterio.crs.CRS or None
        None when the image has no georeference.
    transform : affine.Affine
        Pixel to map coordinates (the identity without georeference).
    georeferenced : bool
    has_nodata : bool
        Whether pixels may be missing: a nodata value, an alpha band or a mask,
        or floats (which may hold NaN).
    nodata : float or None
        The declared nodata value.
    mask_band : bool
        Whether a mask or alpha band (not the nodata value) marks missing pixels.
    """

    path: Path
    height: int
    width: int
    crs: object
    transform: object
    georeferenced: bool
    has_nodata: bool
    nodata: object = None
    mask_band: bool = False

    @property
    def pixel_area(self):
        """Area of one pixel in map units (1 without georeference)."""
        return abs(self.transform.a * self.transform.e - self.transform.b * self.transform.d)


def open_image(path):
    """Open an RGB raster for prediction and describe it (lesson 10).

    The pixels follow the course's image rule
    (:func:`unet_course.data.geotiff.image_pixels`): 3 bands of whole numbers
    0-255, as uint8 or any type holding only such values (the seed's float32
    with its nodata -3.4e38). The type and band count are checked here, the
    values in every window :func:`read_window` reads.

    Returns
    -------
    (rasterio.DatasetReader, SceneInfo)
        The caller closes the dataset.

    Raises
    ------
    FootprintError
        The file does not exist, GDAL cannot read it, it has other than 3 bands,
        or its pixels are not numbers (complex, boolean).

    Warns
    -----
    FootprintWarning
        The image has no georeference: outputs will be in pixel coordinates.
    """
    import rasterio
    from rasterio.enums import MaskFlags
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    path = Path(path)
    if not path.is_file():
        raise FootprintError(f"{path}: no such image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            dataset = rasterio.open(path)
    except RasterioIOError:
        raise FootprintError(f"{path}: not a raster GDAL can read (not an image format it knows, "
                             "or a damaged file); expected an RGB GeoTIFF") from None
    if dataset.count != 3:
        dataset.close()
        raise FootprintError(f"{path}: has {dataset.count} band(s); expected 3 (red, green, blue): "
                             "keep the colour bands, e.g. gdal_translate -b 1 -b 2 -b 3 IN.tif OUT.tif")
    if len(set(dataset.dtypes)) != 1 or np.dtype(dataset.dtypes[0]).kind not in "uif":
        dataset.close()
        raise FootprintError(f"{path}: pixels are {'/'.join(sorted(set(dataset.dtypes)))}; expected "
                             "whole numbers 0-255 in one type (uint8, or the seed's float32)")
    georeferenced = dataset.crs is not None
    if not georeferenced:
        warnings.warn(f"{path} has no georeference (no CRS): its outputs are in pixel "
                      "coordinates (x = column, y = row), not on a map", FootprintWarning,
                      stacklevel=2)
    flags = dataset.mask_flag_enums[0]
    mask_band = MaskFlags.per_dataset in flags or MaskFlags.alpha in flags
    has_nodata = dataset.nodata is not None or mask_band or dataset.dtypes[0].startswith("float")
    info = SceneInfo(path, dataset.height, dataset.width, dataset.crs, dataset.transform,
                     georeferenced, has_nodata, dataset.nodata, mask_band)
    return dataset, info


def training_scale(run_dir):
    """The resampling factor of a run: the model's tile side over the source tiles' (lesson 10).

    A ``laptop`` run (``image_size`` 128) gives 0.5: the scene is shrunk by
    half before prediction, as its training tiles were. A run whose recipe
    trained on crops at full resolution records ``data_tile_size`` 256 and
    gives 1.0. None when the folder has no ``run.json`` (the model is then
    taken to work at the image's own resolution).

    Examples
    --------
    >>> import tempfile, json
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "run.json").write_text(json.dumps({"profile_settings": {"image_size": 128}}))
    >>> training_scale(folder)
    0.5
    """
    info = read_run_info(run_dir)
    if info is None:
        return None
    size = info.get("data_tile_size") or (info.get("profile_settings") or {}).get("image_size")
    if not isinstance(size, int) or size < 1:
        raise FootprintError(f"{Path(run_dir) / 'run.json'}: profile_settings.image_size is "
                             f"{size!r}; expected the tile side the run trained on")
    return size / SOURCE_TILE


def _check_shapes(model, path):
    """The model must map ``(batch, h, w, 3)`` to ``(batch, h, w, 1)``."""
    shape_in, shape_out = tuple(model.input_shape), tuple(model.output_shape)
    if len(shape_in) != 4 or shape_in[-1] != 3 or len(shape_out) != 4 or shape_out[-1] != 1:
        raise FootprintError(f"{path}: the model maps {shape_in} to {shape_out}; expected a "
                             "U-Net from RGB tiles (batch, h, w, 3) to one probability per pixel")


def load_model(weights):
    """Load the model to predict with, and the scale it was trained at (lesson 10).

    Parameters
    ----------
    weights : str or pathlib.Path
        ``RUN/best.keras`` (a whole model), or a ``.weights.h5`` file in a run
        folder whose ``run.json`` says which U-Net it belongs to.

    Returns
    -------
    (keras.Model, float)
        The model, and the factor to resample scenes by (1.0 without ``run.json``).

    Raises
    ------
    FootprintError
        The file does not exist, is not a Keras model, or does not fit the
        U-Net its ``run.json`` describes.
    """
    from unet_course.backend import keras

    path = Path(weights)
    if path.is_dir():
        path = path / "best.keras"
    if not path.is_file():
        raise FootprintError(f"{path}: no such weights file; expected RUN/best.keras written "
                             "by `unet-course train`")
    scale = training_scale(path.parent)
    if path.name.endswith(".weights.h5"):
        model = _model_from_weights(path)
    else:
        try:
            model = keras.models.load_model(path, compile=False)
        except Exception:  # Keras raises several types for a bad file
            raise FootprintError(f"{path}: not a Keras model file Keras can load (damaged, or "
                                 "written by another program); expected RUN/best.keras written by "
                                 "`unet-course train`") from None
    _check_shapes(model, path)
    return model, (1.0 if scale is None else scale)


def _model_from_weights(path):
    """Build the run's U-Net from ``run.json`` and load ``path`` into it."""
    from unet_course.model import build_unet

    info = read_run_info(path.parent)
    settings = (info or {}).get("profile_settings") or {}
    if not {"image_size", "base_filters"} <= set(settings):
        raise FootprintError(f"{path}: a weights file needs the run.json of its run beside it "
                             "(with profile_settings.image_size and base_filters); none found")
    size, filters = settings["image_size"], settings["base_filters"]
    model = build_unet((size, size, 3), filters)
    failed = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(path)
        except Exception:  # shape mismatch, not HDF5, wrong layer count
            failed = True
    # Keras only warns when layers of the file are missing, and keeps random weights for them.
    if failed or any("Skipping" in str(w.message) for w in caught):
        raise FootprintError(f"{path}: these weights do not fit the U-Net of its run.json "
                             f"({size} px, base {filters} filters): other layers or shapes, or "
                             "not a Keras weights file")
    return model


def check_fits(info, window):
    """Raise unless the image holds at least one window of ``window`` x ``window`` pixels."""
    if info.height < window or info.width < window:
        raise FootprintError(f"{info.path}: is {info.height} x {info.width} px, smaller than one "
                             f"window of {window} px; use a larger image (or a model trained on "
                             "smaller tiles)")


def model_window(model, scale):
    """The window side in source pixels: the model's input side divided by ``scale``."""
    side = model.input_shape[1] or int(round(SOURCE_TILE * scale))
    return int(round(side / scale)), int(side)


def read_window(dataset, info, row, col, size):
    """Read a ``size`` x ``size`` window: uint8 ``(size, size, 3)`` and its valid-pixel mask (or None).

    The pixels pass the course's image rule
    (:func:`unet_course.data.geotiff.image_pixels`); a window that breaks it
    raises :class:`~unet_course.footprints.FootprintError` naming the file and
    the window.
    """
    from rasterio.windows import Window

    from unet_course.data.errors import DatasetError
    from unet_course.data.geotiff import image_pixels

    window = Window(col, row, size, size)
    try:
        image, valid = image_pixels(dataset.read(window=window), info.nodata,
                                    f"{info.path} (window at row {row}, column {col})")
    except DatasetError as error:
        raise FootprintError(str(error)) from None
    if info.mask_band:
        masked = dataset.dataset_mask(window=window) > 0
        valid = masked if valid is None else valid & masked
    return image, valid
