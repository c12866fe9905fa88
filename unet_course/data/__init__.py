"""Data for the course: synthetic scenes, real tiles, splits and the tf.data pipeline.

Lessons 1 ("Aerial tiles and masks"), 2 ("Class imbalance") and 9 ("Data
augmentation") teach from this subpackage. Everything is held in a
:class:`TileSet` (uint8 images and 0/1 masks); :func:`load_data` turns a
source string into train / validation / test sets, and :func:`make_dataset`
feeds them to Keras.

Modules: :mod:`~unet_course.data.synthetic` (procedural scenes),
:mod:`~unet_course.data.tiles` (the seed's tile layout),
:mod:`~unet_course.data.geotiff` (one GeoTIFF reader, one folder check),
:mod:`~unet_course.data.massachusetts` (the official data set),
:mod:`~unet_course.data.download` (resumable, checksummed download),
:mod:`~unet_course.data.splits`, :mod:`~unet_course.data.pipeline`,
:mod:`~unet_course.data.sources`.

The tf.data pipeline (``scale_image``, ``augment_pair``, ``make_dataset``)
is imported on first use, so reading tiles does not wait for TensorFlow.
"""
import importlib

from unet_course.data.download import download_file, download_massachusetts
from unet_course.data.errors import DatasetError
from unet_course.data.massachusetts import cut_tiles, load_massachusetts
from unet_course.data.sources import Splits, load_data, resize_tiles
from unet_course.data.splits import random_split, spatial_block_split
from unet_course.data.synthetic import synthetic_tile, synthetic_tiles
from unet_course.data.tiles import LABEL_RULES, TileSet, binarize_label, load_tiles, read_tile_pair

__all__ = [
    "DatasetError", "TileSet", "LABEL_RULES", "binarize_label", "read_tile_pair", "load_tiles",
    "synthetic_tile", "synthetic_tiles", "cut_tiles", "load_massachusetts",
    "download_file", "download_massachusetts", "random_split", "spatial_block_split",
    "scale_image", "augment_pair", "make_dataset", "Splits", "resize_tiles", "load_data",
]

#: Names that need TensorFlow, served from :mod:`unet_course.data.pipeline` on first use.
_PIPELINE = ("scale_image", "augment_pair", "make_dataset")


def __getattr__(name):
    """Import the tf.data pipeline only when one of its functions is asked for."""
    if name in _PIPELINE:
        return getattr(importlib.import_module("unet_course.data.pipeline"), name)
    raise AttributeError(f"module 'unet_course.data' has no attribute {name!r}")
