"""Vectorised drawing primitives behind the synthetic scenes (lesson 1, "Aerial tiles and masks").

Every shape is tested against the centres of the pixels in its own bounding
box, for all shapes of a kind at once: no Python loop runs over pixels. A
scene is measured in *units*, 256 to a tile side; a tile of ``size`` pixels
puts ``size / 256`` pixels in a unit, so a 128 px tile is a 256 px one seen
at half the resolution.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

TILE_UNITS = 256.0


def pixel_centres(origin: float, size: int) -> np.ndarray:
    """Scene coordinates (units) of the centres of ``size`` pixels starting at ``origin``."""
    return (origin + (np.arange(size, dtype=np.float32) + 0.5) * (TILE_UNITS / size)).astype(np.float32)


def _boxes(cx, cy, reach, origin, size):
    """First pixel row/column and side ``k`` of the square pixel boxes around shapes."""
    scale = size / TILE_UNITS
    k = int(np.ceil(2 * float(reach.max()) * scale)) + 2
    col0 = np.floor((cx - reach - origin[0]) * scale).astype(np.int64)
    row0 = np.floor((cy - reach - origin[1]) * scale).astype(np.int64)
    steps = np.arange(k)
    cols, rows = col0[:, None] + steps, row0[:, None] + steps          # (n, k) each
    dx = ((cols + 0.5) / scale + origin[0] - cx[:, None]).astype(np.float32)
    dy = ((rows + 0.5) / scale + origin[1] - cy[:, None]).astype(np.float32)
    inside_frame = ((rows >= 0) & (rows < size))[:, :, None] & ((cols >= 0) & (cols < size))[:, None, :]
    return rows, cols, dx, dy, inside_frame


def rasterise_rectangles(cx, cy, half_u, half_v, angle, origin, size):
    """Pixels covered by rotated rectangles.

    Parameters
    ----------
    cx, cy : numpy.ndarray
        Rectangle centres in scene units.
    half_u, half_v : numpy.ndarray
        Half side lengths along the rectangle's own axes (u along ``angle``).
    angle : numpy.ndarray
        Rotation of the u axis from the x axis, radians.
    origin : tuple of float
        Scene position of the tile's top-left corner.
    size : int
        Tile side in pixels.

    Returns
    -------
    index, rows, cols : numpy.ndarray
        For every covered pixel: which rectangle, and the pixel's row and column.
    u, v : numpy.ndarray
        The pixel centre in the rectangle's own frame (units), for shading.
    """
    if len(cx) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros(0, np.float32), np.zeros(0, np.float32)
    rows, cols, dx, dy, inside = _boxes(cx, cy, np.hypot(half_u, half_v), origin, size)
    cos, sin = np.cos(angle).astype(np.float32)[:, None], np.sin(angle).astype(np.float32)[:, None]
    u = (dx * cos)[:, None, :] + (dy * sin)[:, :, None]
    v = (dy * cos)[:, :, None] - (dx * sin)[:, None, :]
    inside &= (np.abs(u) <= half_u[:, None, None]) & (np.abs(v) <= half_v[:, None, None])
    index, i, j = np.nonzero(inside)
    return index, rows[index, i], cols[index, j], u[index, i, j], v[index, i, j]


def rasterise_discs(cx, cy, radius, origin, size):
    """Pixels covered by discs (tree crowns).

    Returns ``index, rows, cols, dx, dy`` like :func:`rasterise_rectangles`,
    with ``dx, dy`` the pixel centre relative to the disc centre (units).
    """
    if len(cx) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros(0, np.float32), np.zeros(0, np.float32)
    rows, cols, dx, dy, inside = _boxes(cx, cy, radius, origin, size)
    inside &= (dx * dx)[:, None, :] + (dy * dy)[:, :, None] <= (radius * radius)[:, None, None]
    index, i, j = np.nonzero(inside)
    return index, rows[index, i], cols[index, j], dx[index, j], dy[index, i]


def shifted(mask: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``mask`` moved by ``dx`` columns and ``dy`` rows, filled with False (shadows)."""
    out = np.zeros_like(mask)
    h, w = mask.shape
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        mask[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def interpolation_matrix(positions: np.ndarray, spacing: float, n_nodes: int) -> np.ndarray:
    """Linear-interpolation weights ``(len(positions), n_nodes)`` from grid nodes ``i * spacing``.

    ``A @ G @ B.T`` then samples a coarse grid ``G`` at every pixel, which is
    how smooth fields (grass patches, forest) continue across tile borders.
    """
    nodes = np.arange(n_nodes, dtype=np.float32) * spacing
    return np.maximum(0.0, 1.0 - np.abs(positions[:, None] - nodes[None, :]) / spacing).astype(np.float32)


@lru_cache(maxsize=4)
def noise_tables(size: int) -> tuple:
    """Fixed noise textures for tiles of ``size`` pixels: fine ``(3, 2s, 2s)`` and lumpy ``(2s, 2s)``.

    Both are drawn once from a fixed seed; a tile takes a window at a random
    offset, which is far cheaper than drawing fresh noise for every pixel.
    The lumpy texture (blobs a few units wide) gives tree canopy its crowns.
    """
    side = 2 * size
    rng = np.random.default_rng(20240611)
    fine = rng.standard_normal((3, side, side), dtype=np.float32)
    white = rng.standard_normal((side, side))
    freq = np.fft.fftfreq(side) * size / TILE_UNITS             # cycles per unit
    width = 2.0                                                  # units
    gain = np.exp(-2 * (np.pi * width) ** 2 * (freq[:, None] ** 2 + freq[None, :] ** 2))
    lumpy = np.real(np.fft.ifft2(np.fft.fft2(white) * gain))
    lumpy = ((lumpy - lumpy.mean()) / lumpy.std()).astype(np.float32)
    return fine, lumpy
