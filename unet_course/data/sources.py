"""One call from a data source string to train / validation / test tiles.

Lesson 1, "Aerial tiles and masks", loads its data with :func:`load_data`;
every later lesson does the same, so switching the whole course to the real
tiles is one setting (``UNET_COURSE_DATA`` or a profile's ``data``):

- ``"synthetic"``: procedural scenes, generated in seconds (the default);
- ``"tiles:PATH"``: the seed's tile layout (``training/``, ``validation/``, ``test/``);
- ``"massachusetts:PATH"``: the official data set (``train/``, ``valid/``, ``test/``).

A folder without its test split (``../shared/real_tiles`` has only
``training/`` and ``validation/``) is scored on its validation tiles, and
says so (:data:`NO_TEST_SPLIT`); ``without_test="error"`` refuses it instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unet_course.data.errors import DatasetError
from unet_course.data.massachusetts import load_massachusetts
from unet_course.data.splits import random_split, spatial_block_split
from unet_course.data.synthetic import synthetic_tiles
from unet_course.data.tiles import TileSet, load_tiles
from unet_course.validate import whole_number

SOURCES = ("synthetic", "tiles:PATH", "massachusetts:PATH")
SPLIT_METHODS = ("random", "spatial")
WITHOUT_TEST = ("validation", "error")
RESIZE_CHUNK = 256
#: What a folder source without a test split does, said once when it is loaded.
NO_TEST_SPLIT = ("{root} has no {test}/ folder: its test split is its validation tiles, "
                 "so test scores are validation scores (tuned on, not unseen)")


@dataclass
class Splits:
    """The three tile sets of an experiment (lesson 1).

    ``note`` says how they differ from a folder's own three splits, for
    example that ``test`` is the validation tiles because there was no test
    split (empty when nothing differs).
    """

    train: TileSet
    validation: TileSet
    test: TileSet
    note: str = ""


def _resize(stack: np.ndarray, size: int) -> np.ndarray:
    """Resize ``(N, H, W, C)`` to ``(N, size, size, C)`` float32: area average when shrinking."""
    from unet_course.backend import tf

    method = "area" if size < stack.shape[1] else "bilinear"
    parts = [tf.image.resize(stack[i:i + RESIZE_CHUNK].astype(np.float32), (size, size),
                             method=method).numpy()
             for i in range(0, len(stack), RESIZE_CHUNK)]
    return np.concatenate(parts) if parts else np.zeros((0, size, size, stack.shape[3]), np.float32)


def resize_tiles(tiles: TileSet, size: int) -> TileSet:
    """Resize every tile to ``size`` x ``size`` pixels (lesson 1: the profiles' tile sizes).

    Images are averaged over the pixels they shrink (area) or interpolated
    when enlarged (bilinear); masks the same way, then thresholded at 0.5,
    so they stay 0/1. Names and origins are unchanged.
    """
    whole_number(size, "size", error=DatasetError)
    if tiles.images.shape[1:3] == (size, size):
        return tiles
    images = np.clip(np.rint(_resize(tiles.images, size)), 0, 255).astype(np.uint8)
    masks = (_resize(tiles.masks[..., None], size)[..., 0] >= 0.5).astype(np.uint8)
    return TileSet(images, masks, list(tiles.names), tiles.origins.copy())


def parse_source(source: str) -> tuple:
    """Split ``"kind:PATH"`` into ``(kind, Path or None)``; raise DatasetError when it is neither form."""
    if not isinstance(source, str):
        raise DatasetError(f"data source {source!r}: expected one of {', '.join(SOURCES)}")
    kind, _, path = source.partition(":")
    kind = kind.strip().lower()
    if kind == "synthetic" and not path:
        return kind, None
    if kind in ("tiles", "massachusetts") and path.strip():
        return kind, Path(path.strip()).expanduser()
    raise DatasetError(f"data source {source!r}: expected one of {', '.join(SOURCES)}")


def load_data(source: str | None = None, prof=None, split: str = "random",
              without_test: str = "validation") -> Splits:
    """Load train, validation and test tiles for a profile (lesson 1).

    Parameters
    ----------
    source : str, optional
        ``"synthetic"``, ``"tiles:PATH"`` or ``"massachusetts:PATH"``;
        default: the profile's ``data``.
    prof : unet_course.Profile, optional
        Sizes and seed; default: :func:`unet_course.profile`.
    split : {"random", "spatial"}
        ``"random"``: synthetic tiles are split at random like the seed (the
        profile's fractions and seed); folder sources keep the folder's own
        training / validation / test split (the seed's, or the official one).
        ``"spatial"``: the tiles (for folder sources, those of all three
        folders pooled) are re-split by spatial blocks of their origins
        (:func:`spatial_block_split`, the profile's fractions and seed), so
        no block of neighbouring tiles is in two splits (lesson 1).

    Returns
    -------
    Splits
        Tiles resized to ``prof.image_size``.
    """
    if prof is None:
        from unet_course.profiles import profile
        prof = profile()
    if split not in SPLIT_METHODS:
        raise DatasetError(f"split={split!r}: expected one of {SPLIT_METHODS}")
    if without_test not in WITHOUT_TEST:
        raise DatasetError(f"without_test={without_test!r}: expected one of {WITHOUT_TEST}")
    kind, path = parse_source(prof.data if source is None else source)
    if kind == "synthetic":
        tiles = synthetic_tiles(prof.n_tiles, prof.image_size, prof.seed)
        if split == "random":
            parts = random_split(len(tiles), prof.split, prof.seed)
        else:
            parts = spatial_block_split(tiles.origins, prof.split, seed=prof.seed)
        return Splits(*(tiles.subset(idx) for idx in parts))
    if not path.is_dir():
        hint = (" (download it with unet_course.data.download_massachusetts)"
                if kind == "massachusetts" else "")
        raise DatasetError(f"{path} is not a folder; expected the {kind} data there{hint}")
    names = ("training", "validation", "test") if kind == "tiles" else ("train", "valid", "test")
    reader = load_tiles if kind == "tiles" else load_massachusetts
    note = ""
    if without_test == "validation" and not (path / names[2]).exists() and (path / names[1]).is_dir():
        note = NO_TEST_SPLIT.format(root=path, test=names[2])
        names = names[:2]
        print(f"Note: {note}.")
    loaded = [reader(path, name) for name in names]
    if split == "spatial":
        pooled = pool_tiles(loaded)
        parts = spatial_block_split(pooled.origins, prof.split, seed=prof.seed)
        loaded, note = [pooled.subset(idx) for idx in parts], ""
    if len(loaded) == 2:
        loaded.append(loaded[1])
    return Splits(*(resize_tiles(t, prof.image_size) for t in loaded), note=note)


def pool_tiles(tilesets) -> TileSet:
    """All tiles of several :class:`TileSet` s in one, in order (to re-split them, lesson 1)."""
    tilesets = list(tilesets)
    return TileSet(np.concatenate([t.images for t in tilesets]),
                   np.concatenate([t.masks for t in tilesets]),
                   [name for t in tilesets for name in t.names],
                   np.concatenate([t.origins for t in tilesets]))
