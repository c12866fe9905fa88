"""Reading GeoTIFFs and checking data folders: one reader for every real source (lesson 1).

The seed's tiles (:mod:`~unet_course.data.tiles`) and the official scenes
(:mod:`~unet_course.data.massachusetts`) are both GeoTIFFs in a folder
layout. Both read through :func:`read_raster` and check their folders with
:func:`layout_folders`, so a wrong file or folder gets the same kind of
message, naming it and saying what was expected.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from unet_course.data.errors import DatasetError

__all__ = ["read_raster", "layout_folders"]


def _band_counts(bands) -> str:
    return " or ".join(str(b) for b in bands)


def read_raster(path, bands) -> tuple:
    """Read every band of a GeoTIFF: ``(array (bands, H, W), transform or None)``.

    Parameters
    ----------
    path : str or pathlib.Path
    bands : int or tuple of int
        The band counts accepted (3 for an RGB image, 1 for a label).

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
                return src.read(), (src.transform if georeferenced else None)
    except RasterioError as err:
        raise DatasetError(f"{path} could not be read as a GeoTIFF ({err}); expected a readable "
                           f"GeoTIFF with {_band_counts(bands)} band(s)") from err


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
