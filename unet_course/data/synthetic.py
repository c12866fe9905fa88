"""Synthetic aerial tiles: the course's embedded data set, no download needed.

Lesson 1, "Aerial tiles and masks", introduces them next to real tiles;
lesson 2, "Class imbalance", measures their building fraction. The scenes
imitate the Massachusetts Buildings imagery: houses in rows along curved
streets, large flat roofs beside parking lots, tree canopy over parts of
roofs and streets, shadows on the side away from the sun, sensor noise.
Roads, driveways and parking lots use the same greys as many roofs, so a
model can make false positives; sheds are only a few pixels wide, so a model
trained with BCE alone tends to miss them.

Label rule: the mask is the building *footprint*, as in OpenStreetMap. Roof
under tree canopy still counts as building, although it is hidden in the
image (real labels behave the same way).

Layout: tiles are cut from contiguous scenes of 4 x 4 tiles that share a
style, so neighbouring tiles look alike (a random split leaks, a spatial
block split does not). Scenes are drawn in units, 256 to a tile side,
whatever the pixel ``size``; a 128 px tile shows the scene a 256 px tile
shows, at half the resolution.
"""
from __future__ import annotations

import math

import numpy as np

from unet_course.data import layout
from unet_course.data.errors import DatasetError
from unet_course.validate import whole_number
from unet_course.data.raster import (
    TILE_UNITS, interpolation_matrix, noise_tables, pixel_centres, rasterise_discs,
    rasterise_rectangles, shifted,
)
from unet_course.data.tiles import TileSet

SCENE_TILES = 4                 # a scene is SCENE_TILES x SCENE_TILES tiles
TILE_METRES = 300.0             # 256 px at the real data's 1.171875 m per pixel
SHADOW_UNITS = {"house": 4.0, "big": 9.0, "tree": 4.5}
SHADOW_TINT = np.array([0.52, 0.55, 0.62], np.float32)


def _fields(scene: dict, origin, xs, ys) -> np.ndarray:
    """Sample the scene's coarse noise grids at every pixel: ``(3, H, W)``."""
    grids = scene["fields"]
    spacing = layout.FIELD_SPACING
    r0, c0 = int(origin[1] // spacing), int(origin[0] // spacing)
    span = int(TILE_UNITS // spacing) + 2
    grids = grids[:, r0:r0 + span, c0:c0 + span]
    rows = interpolation_matrix(ys - r0 * spacing, spacing, grids.shape[1])
    cols = interpolation_matrix(xs - c0 * spacing, spacing, grids.shape[2])
    return rows @ grids @ cols.T


def _roads(style: dict, xs, ys) -> np.ndarray:
    """Boolean road mask from the distance to the street families."""
    u, t = layout.street_frame(style, xs[None, :], ys[:, None])
    spacing, half = style["spacing"], style["road_half"]
    road = np.abs(t - spacing * np.round(t / spacing)) < half
    if np.isfinite(style["cross_spacing"]):
        r = u - style["cross_offset"]
        road |= np.abs(r - style["cross_spacing"] * np.round(r / style["cross_spacing"])) < half
    return road


def _draw_rects(scene: dict, origin, size, image, mask) -> tuple:
    """Draw parking lots, driveways, cars and roofs; return (man-made, house, big) pixel masks."""
    rects, style = scene["rects"], scene["style"]
    reach = np.hypot(rects["hu"], rects["hv"])
    near = ((rects["x"] + reach > origin[0]) & (rects["x"] - reach < origin[0] + TILE_UNITS)
            & (rects["y"] + reach > origin[1]) & (rects["y"] - reach < origin[1] + TILE_UNITS))
    pieces = []
    for low, high in ((0, 6), (6, 16), (16, np.inf)):            # small boxes for small shapes
        ids = np.flatnonzero(near & (reach > low) & (reach <= high))
        idx, rows, cols, u, v = rasterise_rectangles(
            rects["x"][ids], rects["y"][ids], rects["hu"][ids], rects["hv"][ids],
            rects["angle"][ids], origin, size)
        pieces.append((ids[idx], rows * size + cols, u, v))
    ids, pixel, u, v = (np.concatenate(p) for p in zip(*pieces))
    layer, gable = rects["layer"][ids], rects["gable"][ids]
    shade = 1.0 + np.where(gable > 0, gable * np.sign(v) * rects["lit"][ids], 0.0)
    edge = np.minimum(rects["hu"][ids] - np.abs(u), rects["hv"][ids] - np.abs(v)) < 1.2
    shade *= np.where((gable < 0) & edge, 1.12, 1.0)
    colour = rects["colour"][ids].T * shade.astype(np.float32)
    flat = image.reshape(3, -1)
    for pick in (layer <= layout.DRIVEWAY, layer == layout.CAR,
                 (layer >= layout.HOUSE) & (layer <= layout.BIG), layer == layout.ROOF_UNIT):
        for channel in range(3):
            flat[channel, pixel[pick]] = colour[channel, pick]
    made, house, big = (np.zeros(size * size, bool) for _ in range(3))
    made[pixel] = True
    house[pixel[(layer == layout.HOUSE) | (layer == layout.SHED)]] = True
    big[pixel[layer >= layout.BIG]] = True
    mask.reshape(-1)[pixel[layer >= layout.HOUSE]] = 1
    return made.reshape(size, size), house.reshape(size, size), big.reshape(size, size)


def _draw_trees(scene: dict, origin, size, image, lumpy) -> np.ndarray:
    """Draw tree crowns (lit on the sun side, lumpy) and return their mask."""
    trees, style = scene["trees"], scene["style"]
    near = ((trees["x"] + trees["r"] > origin[0]) & (trees["x"] - trees["r"] < origin[0] + TILE_UNITS)
            & (trees["y"] + trees["r"] > origin[1]) & (trees["y"] - trees["r"] < origin[1] + TILE_UNITS))
    ids = np.flatnonzero(near)
    idx, rows, cols, dx, dy = rasterise_discs(trees["x"][ids], trees["y"][ids], trees["r"][ids], origin, size)
    pixel = rows * size + cols
    light = 1.0 - 0.3 * (dx * style["sun"][0] + dy * style["sun"][1]) / trees["r"][ids][idx]
    brightness = light * trees["tone"][ids][idx] * (1 + 0.18 * lumpy.reshape(-1)[pixel])
    flat = image.reshape(3, -1)
    for channel in range(3):
        flat[channel, pixel] = style["canopy"][channel] * brightness
    crowns = np.zeros(size * size, bool)
    crowns[pixel] = True
    return crowns.reshape(size, size)


def _shadows(style: dict, size: int, occluders: dict) -> np.ndarray:
    """Shadow mask: each occluder swept up to its shadow length away from the sun."""
    scale = size / TILE_UNITS
    shadow = np.zeros((size, size), bool)
    for kind, occluder in occluders.items():
        length = SHADOW_UNITS[kind] * scale
        for step in (0.5, 1.0):
            dx, dy = (int(round(c * length * step)) for c in style["sun"])
            shadow |= shifted(occluder, dx, dy)
    return shadow


def _blend(image, where, colour) -> None:
    """Paint ``colour`` (3 values or a ``(3, H, W)`` array) where the mask is True, in place."""
    image += where * (colour - image)


def render_tile(scene: dict, cell: tuple, size: int, rng: np.random.Generator) -> tuple:
    """Draw tile ``cell = (column, row)`` of a planned scene at ``size`` pixels.

    The image is built channel-first, ``(3, H, W)``, so that every whole-tile
    operation runs over long rows of pixels.

    Returns
    -------
    image : numpy.ndarray
        uint8 ``(size, size, 3)``.
    mask : numpy.ndarray
        uint8 ``(size, size)``: building footprints, roof under trees included.
    """
    style = scene["style"]
    origin = (cell[0] * TILE_UNITS, cell[1] * TILE_UNITS)
    xs, ys = pixel_centres(origin[0], size), pixel_centres(origin[1], size)
    fine, lumpy = noise_tables(size)
    r, c = rng.integers(0, size, 2)
    fine, lumpy = fine[:, r:r + size, c:c + size], lumpy[r:r + size, c:c + size]
    field = _fields(scene, origin, xs, ys)
    image = style["grass"][:, None, None] * (1 + 0.10 * field[0])
    _blend(image, np.clip((field[2] - 0.8) * 0.8, 0, 0.75), style["soil"][:, None, None])
    road = _roads(style, xs, ys)
    _blend(image, road, style["road"][:, None, None])
    mask = np.zeros((size, size), np.uint8)
    made, house, big = _draw_rects(scene, origin, size, image, mask)
    made |= road
    forest = (field[1] + 0.35 * lumpy > 1.0) & ~made
    _blend(image, forest, (0.9 * style["canopy"])[:, None, None] * (1 + 0.22 * lumpy))
    canopy = _draw_trees(scene, origin, size, image, lumpy) | forest
    shadow = _shadows(style, size, {"house": house, "big": big, "tree": canopy})
    shadow &= (mask == 0) & ~canopy
    image *= 1 - shadow * (1 - SHADOW_TINT)[:, None, None]
    image += fine * np.where(made & ~canopy, np.float32(3.0), np.float32(5.5))
    image *= style["gain"][:, None, None]
    image += style["haze"]
    np.clip(image, 0, 255, out=image)
    rgb = np.empty((size, size, 3), np.uint8)
    for channel in range(3):                                     # channel by channel: fast copies
        rgb[..., channel] = image[channel]
    return rgb, mask


def synthetic_tile(seed: int, size: int = 256) -> tuple:
    """One synthetic tile and its building mask, the same for the same seed (lesson 1).

    Parameters
    ----------
    seed : int
        Any whole number >= 0; the tile is a function of it.
    size : int
        Side in pixels; the scene is the same at every size.

    Returns
    -------
    image : numpy.ndarray
        uint8 ``(size, size, 3)``.
    mask : numpy.ndarray
        uint8 ``(size, size)``, 1 on buildings (roof under trees included).
    """
    seed = whole_number(seed, "seed", minimum=0, error=DatasetError)
    size = whole_number(size, "size", minimum=8, error=DatasetError)
    rng = np.random.default_rng([seed, 1])
    return render_tile(layout.plan_scene(rng, 1, 1), (0, 0), size, rng)


def synthetic_tiles(n: int, size: int = 256, seed: int = 0, progress: bool = False) -> TileSet:
    """``n`` synthetic tiles cut from contiguous 4 x 4-tile scenes (lessons 1 and 2).

    Tile ``i`` lies in scene ``i // 16``; scenes sit side by side on a grid,
    and ``origins`` holds each tile's corner in metres (300 m a tile, as for
    the real 256 px tiles), so :func:`unet_course.data.spatial_block_split`
    with its default 1200 m blocks keeps every scene in one split.

    Parameters
    ----------
    n : int
        Number of tiles.
    size : int
        Tile side in pixels.
    seed : int
        The whole set is a function of ``(n, size, seed)``; the image and mask
        of tile ``i`` do not depend on ``n`` (its origin does: scenes sit on a
        grid of ``ceil(sqrt(scenes))`` columns).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    TileSet
        Named ``synthetic_00000``, ``synthetic_00001``, ...
    """
    n = whole_number(n, "n", error=DatasetError)
    size = whole_number(size, "size", minimum=8, error=DatasetError)
    seed = whole_number(seed, "seed", minimum=0, error=DatasetError)
    per_scene = SCENE_TILES * SCENE_TILES
    n_scenes = math.ceil(n / per_scene)
    per_row = math.ceil(math.sqrt(n_scenes))
    images = np.empty((n, size, size, 3), np.uint8)
    masks = np.empty((n, size, size), np.uint8)
    origins = np.empty((n, 2))
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=n, desc="synthetic tiles", unit="tile")
    for s in range(n_scenes):
        rng = np.random.default_rng([seed, 2, s])
        scene = layout.plan_scene(rng, SCENE_TILES, SCENE_TILES)
        for j in range(min(per_scene, n - s * per_scene)):
            i = s * per_scene + j
            cell = (j % SCENE_TILES, j // SCENE_TILES)
            images[i], masks[i] = render_tile(scene, cell, size, rng)
            origins[i] = ((s % per_row * SCENE_TILES + cell[0]) * TILE_METRES,
                          (s // per_row * SCENE_TILES + cell[1]) * TILE_METRES)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return TileSet(images, masks, [f"synthetic_{i:05d}" for i in range(n)], origins)
