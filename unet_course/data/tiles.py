"""Tiles in memory (:class:`TileSet`) and the seed's tile layout on disk.

Lesson 1, "Aerial tiles and masks", opens these files: each tile is a
256 x 256 GeoTIFF pair ::

    ROOT/{training,validation,test}/images/image_<x>_<y>.tif   float32, 3 bands, whole numbers 0-255
    ROOT/{training,validation,test}/labels/label_<x>_<y>.tif   float32, 1 band, building coverage in [0, 1]

``<x>_<y>`` is the tile's lower-left corner in metres (EPSG:26986). The labels
are *fractional* (a pixel half covered by a roof holds 0.5), so they become
binary masks by a named rule, and the choice changes the class balance that
lesson 2, "Class imbalance", measures: ``threshold`` (>= 0.5, the default)
or ``truncate`` (only exactly 1.0 counts, which is what ``astype(uint8)`` did
in the seed).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unet_course.data.errors import DatasetError
from unet_course.data.geotiff import image_pixels, label_coverage, layout_folders, read_raster

LABEL_RULES = ("threshold", "truncate")
TILE_SPLITS = ("training", "validation", "test")
_NAME = re.compile(r"^image_(-?\d+(?:\.\d+)?)_(-?\d+(?:\.\d+)?)$")


@dataclass
class TileSet:
    """Tiles and their building masks, the in-memory format of every lesson.

    Attributes
    ----------
    images : numpy.ndarray
        uint8 ``(N, H, W, 3)``, values 0..255.
    masks : numpy.ndarray
        uint8 ``(N, H, W)``, 1 where a building is, 0 elsewhere.
    names : list of str
        One name per tile, e.g. ``"image_226586_898271"`` or ``"synthetic_00007"``.
    origins : numpy.ndarray
        float64 ``(N, 2)``: each tile's position ``(x, y)`` in metres, used by
        the spatial block split (:func:`unet_course.data.spatial_block_split`).
    """

    images: np.ndarray
    masks: np.ndarray
    names: list
    origins: np.ndarray

    def __post_init__(self):
        n = len(self.images)
        if self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise DatasetError(f"TileSet images have shape {self.images.shape}; expected (N, H, W, 3)")
        if self.masks.shape != self.images.shape[:3]:
            raise DatasetError(f"TileSet masks have shape {self.masks.shape}; "
                               f"expected {self.images.shape[:3]} to match the images")
        if len(self.names) != n or np.shape(self.origins) != (n, 2):
            raise DatasetError(f"TileSet has {n} images but {len(self.names)} names and "
                               f"origins of shape {np.shape(self.origins)}; expected {n} and ({n}, 2)")
        self.names = list(self.names)
        self.origins = np.asarray(self.origins, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, indices) -> "TileSet":
        """Return the tiles at ``indices`` (any integer index array) as a new TileSet."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        return TileSet(self.images[idx], self.masks[idx],
                       [self.names[i] for i in idx], self.origins[idx])

    def building_fraction(self) -> float:
        """Share of building pixels over all tiles (lesson 2: the real data has 13.4 %)."""
        return float(self.masks.mean()) if self.masks.size else 0.0


def binarize_label(label: np.ndarray, rule: str = "threshold") -> np.ndarray:
    """Turn a fractional building-coverage label into a 0/1 mask.

    Lesson 1 shows why a rule is needed, lesson 2 how it moves the class
    balance.

    Parameters
    ----------
    label : numpy.ndarray
        Coverage in [0, 1], any shape.
    rule : {"threshold", "truncate"}
        ``threshold``: a pixel is building when at least half covered (>= 0.5).
        ``truncate``: only fully covered pixels (exactly 1.0) count, as
        ``label.astype(uint8)`` did in the seed.

    Returns
    -------
    numpy.ndarray
        uint8 mask of the same shape.
    """
    if rule not in LABEL_RULES:
        raise DatasetError(f"unknown label rule {rule!r}; expected one of {LABEL_RULES}")
    label = np.asarray(label)
    if rule == "threshold":
        return (label >= 0.5).astype(np.uint8)
    return (label >= 1.0).astype(np.uint8)


def read_tile_pair(image_path, label_path) -> tuple:
    """Read one image and its label in the seed's format (lesson 1).

    Parameters
    ----------
    image_path, label_path : str or pathlib.Path
        ``image_<x>_<y>.tif`` (3 bands, whole numbers 0-255) and
        ``label_<x>_<y>.tif`` (1 band, coverage in [0, 1]), read by the
        course's pixel rules (:func:`~unet_course.data.geotiff.image_pixels`,
        :func:`~unet_course.data.geotiff.label_coverage`): a uint8 image and a
        0/255 label are taken too.

    Returns
    -------
    image : numpy.ndarray
        float32 ``(H, W, 3)`` with whole numbers 0-255.
    label : numpy.ndarray
        float32 ``(H, W)`` with fractional coverage in [0, 1].
    """
    image_path, label_path = Path(image_path), Path(label_path)
    image, valid = _read_with_rule(image_path, 3, image_pixels)
    label, label_valid = _read_with_rule(label_path, 1, label_coverage)
    if image.shape[:2] != label.shape:
        raise DatasetError(f"{label_path} is {label.shape[1]}x{label.shape[0]} pixels; expected "
                           f"{image.shape[1]}x{image.shape[0]} like its image {image_path.name}")
    for path, mask in ((image_path, valid), (label_path, label_valid)):
        if mask is not None:
            raise DatasetError(f"{path} has {int((~mask).sum())} no-data pixel(s); expected a "
                               "complete tile (training needs every pixel)")
    return image.astype(np.float32), label


def _read_with_rule(path, bands, rule):
    """Read a tile and apply the course's pixel rule for it (:mod:`unet_course.data.geotiff`)."""
    pixels, _, nodata = read_raster(path, bands, with_nodata=True)
    return rule(pixels if bands == 3 else pixels[0], nodata, str(path))


def tile_origin(name: str) -> tuple:
    """Parse ``image_<x>_<y>`` into the tile's lower-left corner ``(x, y)`` in metres."""
    match = _NAME.match(name)
    if match is None:
        raise DatasetError(f"{name}.tif does not follow the tile naming; expected image_<x>_<y>.tif")
    return float(match.group(1)), float(match.group(2))


def tile_label_path(image_path) -> Path:
    """The label of a tile: ``ROOT/<split>/images/image_<x>_<y>.tif`` -> ``ROOT/<split>/labels/label_<x>_<y>.tif``."""
    image_path = Path(image_path)
    return image_path.parent.parent / "labels" / image_path.name.replace("image_", "label_", 1)


def load_tiles(root, split: str = "training", rule: str = "threshold") -> TileSet:
    """Load one split of the seed's tile layout into a :class:`TileSet` (lesson 1).

    Parameters
    ----------
    root : str or pathlib.Path
        Folder holding ``training/``, ``validation/`` and ``test/``.
    split : {"training", "validation", "test"}
        Which sub-folder to read.
    rule : {"threshold", "truncate"}
        How fractional labels become binary masks, see :func:`binarize_label`.

    Returns
    -------
    TileSet
        Tiles sorted by name; ``origins`` come from the file names.
    """
    if split not in TILE_SPLITS:
        raise DatasetError(f"unknown split {split!r} for {root}; expected one of {TILE_SPLITS}")
    if rule not in LABEL_RULES:
        raise DatasetError(f"unknown label rule {rule!r}; expected one of {LABEL_RULES}")
    image_dir, label_dir = layout_folders(
        root, split, ("images", "labels"),
        f"ROOT/{split}/images/image_<x>_<y>.tif and ROOT/{split}/labels/label_<x>_<y>.tif")
    image_paths = sorted(image_dir.glob("image_*.tif"))
    if not image_paths:
        raise DatasetError(f"{image_dir} holds no image_<x>_<y>.tif files; expected at least one tile")
    images, masks, names, origins = [], [], [], []
    for image_path in image_paths:
        origins.append(tile_origin(image_path.stem))
        label_path = tile_label_path(image_path)
        if not label_path.is_file():
            raise DatasetError(f"{image_path} has no label: expected {label_path}")
        image, label = read_tile_pair(image_path, label_path)
        if images and image.shape != images[0].shape:
            raise DatasetError(f"{image_path} is {image.shape[1]}x{image.shape[0]} pixels; expected "
                               f"{images[0].shape[1]}x{images[0].shape[0]} like {image_paths[0].name}")
        images.append(image.astype(np.uint8))
        masks.append(binarize_label(label, rule))
        names.append(image_path.stem)
    return TileSet(np.stack(images), np.stack(masks), names, np.array(origins))
