"""The official Massachusetts Buildings data set (Mnih 2013), cut into tiles.

Lesson 1, "Aerial tiles and masks", explains where the seed's tiles came
from. The official layout is ::

    ROOT/{train,valid,test}/sat/<name>.tiff   1500 x 1500, 3 bands uint8 (RGB, 1 m pixels)
    ROOT/{train,valid,test}/map/<name>.tif    1500 x 1500, 1 band: 255 building, 0 background

137 / 4 / 10 images. White areas (all three bands 255) are no-data: the
aerial survey did not cover them. :func:`load_massachusetts` cuts every image
into ``tile_size`` tiles, drops the tiles that are mostly no-data, and keeps
the official split names. Download the files with
:func:`unet_course.data.download_massachusetts`.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from unet_course.data.errors import DatasetError
from unet_course.data.geotiff import layout_folders, read_raster
from unet_course.data.tiles import TileSet

OFFICIAL_SPLITS = ("train", "valid", "test")
IMAGE_SPACING = 10_000.0        # origins of different images are this far apart when not georeferenced


def tile_starts(length: int, tile_size: int) -> np.ndarray:
    """First pixel of each tile along one side: as few tiles as cover it, spread evenly.

    When ``length`` is not a multiple of ``tile_size`` neighbouring tiles
    overlap by a few pixels instead of leaving a strip out (1500 px: six
    256 px tiles, 7 or 8 px of overlap).

    Examples
    --------
    >>> tile_starts(1500, 256).tolist()
    [0, 249, 498, 746, 995, 1244]
    """
    if length < tile_size:
        raise DatasetError(f"an image side of {length} px is shorter than tile_size={tile_size}; "
                           f"expected images at least one tile wide")
    count = math.ceil(length / tile_size)
    return np.round(np.linspace(0, length - tile_size, count)).astype(np.int64)


def cut_tiles(image: np.ndarray, mask: np.ndarray, tile_size: int = 256) -> tuple:
    """Cut an image and its mask into square tiles (lesson 1).

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)``.
    mask : numpy.ndarray
        ``(H, W)``.
    tile_size : int
        Tile side in pixels.

    Returns
    -------
    tiles : numpy.ndarray
        ``(n, tile_size, tile_size, 3)``, row by row.
    masks : numpy.ndarray
        ``(n, tile_size, tile_size)``.
    offsets : numpy.ndarray
        int64 ``(n, 2)``: the ``(row, column)`` of each tile's top-left pixel.
    """
    image, mask = np.asarray(image), np.asarray(mask)
    if image.ndim != 3 or image.shape[2] != 3 or mask.shape != image.shape[:2]:
        raise DatasetError(f"cut_tiles got an image of shape {image.shape} and a mask of shape "
                           f"{mask.shape}; expected (H, W, 3) and (H, W)")
    rows, cols = tile_starts(image.shape[0], tile_size), tile_starts(image.shape[1], tile_size)
    offsets = np.array([(r, c) for r in rows for c in cols], dtype=np.int64)
    tiles = np.stack([image[r:r + tile_size, c:c + tile_size] for r, c in offsets])
    masks = np.stack([mask[r:r + tile_size, c:c + tile_size] for r, c in offsets])
    return tiles, masks, offsets


def nodata_fraction(tiles: np.ndarray) -> np.ndarray:
    """Share of no-data pixels (all three bands 255) in each tile ``(n, H, W, 3)``."""
    return np.all(tiles == 255, axis=-1).mean(axis=(1, 2))


def read_official_pair(sat_path, map_path) -> tuple:
    """Read one official image and its building map.

    Returns
    -------
    image : numpy.ndarray
        uint8 ``(H, W, 3)``.
    mask : numpy.ndarray
        uint8 ``(H, W)``, 1 on buildings (map values >= 128; maps stored as
        0/1 are read with the 0.5 threshold).
    transform : affine.Affine or None
        The image's georeference, when it has one.
    """
    sat_path, map_path = Path(sat_path), Path(map_path)
    image, transform = read_raster(sat_path, 3)
    label, _ = read_raster(map_path, (1, 3))
    label = label[0]
    if label.shape != image.shape[1:]:
        raise DatasetError(f"{map_path} is {label.shape[1]}x{label.shape[0]} pixels; expected "
                           f"{image.shape[2]}x{image.shape[1]} like its image {sat_path.name}")
    cut = 128 if label.max() > 1 else 0.5
    image = np.clip(image, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    return image, (label >= cut).astype(np.uint8), transform


def load_massachusetts(root, split: str = "train", tile_size: int = 256,
                       max_nodata: float = 0.5) -> TileSet:
    """Load one official split as tiles (lesson 1).

    Parameters
    ----------
    root : str or pathlib.Path
        Folder holding ``train/``, ``valid/`` and ``test/``.
    split : {"train", "valid", "test"}
        The official split names.
    tile_size : int
        Tile side in pixels.
    max_nodata : float
        Tiles with a larger share of no-data (white) pixels are dropped.

    Returns
    -------
    TileSet
        Tiles named ``<image>_<row>_<col>`` (top-left pixel). ``origins`` are
        the tiles' lower-left corners in map units when the image is
        georeferenced; otherwise pixel offsets (1 m pixels), with images
        placed 10 km apart so no block of a spatial split spans two images.
    """
    if split not in OFFICIAL_SPLITS:
        raise DatasetError(f"unknown split {split!r} for {root}; expected one of {OFFICIAL_SPLITS}")
    sat_dir, map_dir = layout_folders(root, split, ("sat", "map"),
                                      f"ROOT/{split}/sat/<name>.tiff and ROOT/{split}/map/<name>.tif")
    sat_paths = sorted(sat_dir.glob("*.tiff"))
    if not sat_paths:
        raise DatasetError(f"{sat_dir} holds no .tiff images; expected the official <name>.tiff files")
    parts = []
    for k, sat_path in enumerate(sat_paths):
        map_path = map_dir / f"{sat_path.stem}.tif"
        if not map_path.is_file():
            raise DatasetError(f"{sat_path} has no building map: expected {map_path}")
        image, mask, transform = read_official_pair(sat_path, map_path)
        tiles, masks, offsets = cut_tiles(image, mask, tile_size)
        keep = nodata_fraction(tiles) <= max_nodata
        offsets = offsets[keep]
        if transform is not None:
            x = transform.c + offsets[:, 1] * transform.a
            y = transform.f + (offsets[:, 0] + tile_size) * transform.e
        else:
            x, y = k * IMAGE_SPACING + offsets[:, 1], -offsets[:, 0].astype(np.float64) - tile_size
        names = [f"{sat_path.stem}_{r:04d}_{c:04d}" for r, c in offsets]
        parts.append((tiles[keep], masks[keep], names, np.stack([x, y], axis=1)))
    images = np.concatenate([p[0] for p in parts])
    if len(images) == 0:
        raise DatasetError(f"every tile of {sat_dir} is more than {max_nodata:.0%} no-data (white); "
                           f"expected some imagery")
    return TileSet(images, np.concatenate([p[1] for p in parts]),
                   [name for p in parts for name in p[2]], np.concatenate([p[3] for p in parts]))
