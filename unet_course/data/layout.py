"""Planning a synthetic neighbourhood: streets, houses, flat roofs, parking lots, trees.

Lesson 1, "Aerial tiles and masks", compares these scenes with real tiles.
A *scene* is a contiguous patch of ``nx`` x ``ny`` tiles (256 units each)
that shares one style: street direction and curvature, lot sizes, roof
palette, sun direction. Each tile of the scene has a land use (houses,
commercial, rural), and objects straddle tile borders, so neighbouring tiles
look alike, which is what makes a random train/test split leak (lesson 1).

The plan holds plain arrays; :mod:`unet_course.data.synthetic` draws them.
"""
from __future__ import annotations

import numpy as np

from unet_course.data.raster import TILE_UNITS

LAND_USES = ("houses", "commercial", "rural")
LAND_USE_ODDS = np.array([0.66, 0.13, 0.21])
# Roof colours of houses (RGB); roads and parking lots share the greys.
ROOF_COLOURS = np.array([
    [72, 74, 78], [98, 98, 102], [122, 121, 120], [148, 147, 145], [104, 84, 72],
    [128, 82, 66], [86, 94, 108], [150, 134, 112], [112, 72, 60], [172, 168, 160],
], dtype=np.float32)
# Layers of rectangles, drawn in this order; the last four are buildings.
PARKING, DRIVEWAY, CAR, HOUSE, SHED, BIG, ROOF_UNIT = range(7)
FIELD_SPACING = 32.0


def _style(rng: np.random.Generator) -> dict:
    """Draw the look shared by a whole scene."""
    wavelength = rng.uniform(380, 800)
    curved = rng.random() < 0.75
    dense = rng.random() < 0.35
    sun = rng.uniform(0, 2 * np.pi)
    grey = rng.uniform(88, 118)
    return dict(
        angle=rng.uniform(0, np.pi),
        amplitude=rng.uniform(6, 0.28 * wavelength / (2 * np.pi)) if curved else 0.0,
        omega=2 * np.pi / wavelength, phase=rng.uniform(0, 2 * np.pi),
        spacing=rng.uniform(58, 68) if dense else rng.uniform(72, 96),
        offset=rng.uniform(0, 100), road_half=rng.uniform(3.5, 5.0),
        cross_spacing=rng.uniform(230, 420) if rng.random() < 0.7 else np.inf,
        cross_offset=rng.uniform(0, 400),
        width=(11, 17) if dense else (13, 22), depth=(9, 13) if dense else (10, 16),
        gap=(2, 6) if dense else (5, 14), setback=(2, 5) if dense else (4, 8),
        palette=ROOF_COLOURS[rng.choice(len(ROOF_COLOURS), 4, replace=False)] + rng.uniform(-12, 12, (4, 3)),
        grass=np.array([rng.uniform(70, 96), rng.uniform(78, 100), rng.uniform(54, 70)], np.float32),
        soil=np.array([rng.uniform(112, 140), rng.uniform(104, 124), rng.uniform(80, 96)], np.float32),
        canopy=np.array([rng.uniform(34, 52), rng.uniform(50, 68), rng.uniform(30, 42)], np.float32),
        road=np.array([grey, grey + rng.uniform(-2, 3), grey + rng.uniform(0, 6)], np.float32),
        sun=np.array([np.cos(sun), np.sin(sun)], np.float32), trees=rng.uniform(0.6, 1.6),
        # the flight: colour balance, exposure and haze differ from scene to scene
        gain=(rng.uniform(0.95, 1.05, 3) * rng.uniform(0.9, 1.1)).astype(np.float32),
        haze=np.float32(rng.uniform(0, 10)),
    )


def street_frame(style: dict, x, y):
    """Coordinates along (u) and across (t) the curved street family; streets sit at t = k * spacing."""
    c, s = float(np.cos(style["angle"])), float(np.sin(style["angle"]))
    u = x * c + y * s
    v = y * c - x * s
    t = v - style["amplitude"] * np.sin(style["omega"] * u + style["phase"]) - style["offset"]
    return u, t


def _to_scene(style: dict, u, t):
    """Scene position ``(x, y)`` and direction of the street at ``(u, t)``."""
    c, s = np.cos(style["angle"]), np.sin(style["angle"])
    wave = style["omega"] * u + style["phase"]
    v = t + style["amplitude"] * np.sin(wave) + style["offset"]
    heading = style["angle"] + np.arctan(style["amplitude"] * style["omega"] * np.cos(wave))
    return u * c - v * s, u * s + v * c, heading


def _cell_of(x, y, land: np.ndarray) -> np.ndarray:
    """Land-use index of the tile holding each point (-1 outside the scene)."""
    ny, nx = land.shape
    col, row = np.floor(x / TILE_UNITS).astype(int), np.floor(y / TILE_UNITS).astype(int)
    ok = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
    out = np.full(np.shape(x), -1)
    out[ok] = land[row[ok], col[ok]]
    return out


def _inside_use(x, y, reach, land: np.ndarray, use: int) -> np.ndarray:
    """True where the square of half side ``reach`` around each point lies in tiles of land use ``use``."""
    ok = np.ones(np.shape(x), bool)
    for ox, oy in ((-1, -1), (-1, 1), (1, -1), (1, 1)):
        ok &= _cell_of(x + ox * reach, y + oy * reach, land) == use
    return ok


def _near_cross_street(style: dict, u, reach) -> np.ndarray:
    """True where a point is closer than ``reach`` to a cross street."""
    if not np.isfinite(style["cross_spacing"]):
        return np.zeros(np.shape(u), bool)
    r = u - style["cross_offset"]
    return np.abs(r - style["cross_spacing"] * np.round(r / style["cross_spacing"])) < reach


class _Rects:
    """Collects rectangles as columns: centre, half sides, angle, layer, colour."""

    def __init__(self):
        self.cols = {k: [] for k in ("x", "y", "hu", "hv", "angle", "layer", "colour", "gable")}

    def add(self, x, y, hu, hv, angle, layer, colour, gable=0.0):
        n = np.size(x)
        for key, value in (("x", x), ("y", y), ("hu", hu), ("hv", hv), ("angle", angle),
                           ("layer", layer), ("gable", gable)):
            self.cols[key].append(np.broadcast_to(np.asarray(value, np.float32), (n,)))
        self.cols["colour"].append(np.broadcast_to(np.asarray(colour, np.float32), (n, 3)))

    def arrays(self) -> dict:
        out = {k: np.concatenate(v) if v else np.zeros((0, 3) if k == "colour" else 0, np.float32)
               for k, v in self.cols.items()}
        out["layer"] = out["layer"].astype(np.int64)
        return out


def _street_rows(style: dict, extent) -> tuple:
    """Street indices ``k`` and the u range that cover the scene, with a margin."""
    corners_u, corners_t = street_frame(style, np.array([0, extent[0], 0, extent[0]]),
                                        np.array([0, 0, extent[1], extent[1]]))
    spacing = style["spacing"]
    ks = np.arange(np.floor(corners_t.min() / spacing) - 1, np.ceil(corners_t.max() / spacing) + 2)
    return ks, corners_u.min() - 30, corners_u.max() + 30


def _houses(rng, style, land, extent, rects, trees):
    """Rows of houses on both sides of every street, with driveways, sheds and corner trees.

    One row of candidate lots per street side, all rows at once: ``(rows, lots)`` arrays.
    """
    ks, u0, u1 = _street_rows(style, extent)
    spacing, half = style["spacing"], style["road_half"]
    lots = int((u1 - u0) / (np.mean(style["width"]) + np.mean(style["gap"]))) + 2
    shape = (2 * len(ks), lots)
    street = np.repeat(ks * spacing, 2)[:, None]                     # t of each row's street
    side = np.tile([-1.0, 1.0], len(ks))[:, None]
    w, gap, d, back = (rng.uniform(*style[key], shape) for key in ("width", "gap", "depth", "setback"))
    u = u0 + np.cumsum(w + gap, axis=1) - w / 2
    street, side = np.broadcast_to(street, shape), np.broadcast_to(side, shape)
    x, y, heading = _to_scene(style, u, street + side * (half + back + d / 2))
    reach = np.hypot(w, d) / 2 + 2
    rural = _inside_use(x, y, reach, land, 2) & (rng.random(shape) < 0.016)
    keep = (_inside_use(x, y, reach, land, 0) | rural) & (u < u1) & (rng.random(shape) < 0.93)
    keep &= ~_near_cross_street(style, u, half + w / 2 + 3)
    x, y, heading, u, w, d, back, street, side = (
        a[keep] for a in (x, y, heading, u, w, d, back, street, side))
    m = len(x)
    colour = style["palette"][rng.integers(0, len(style["palette"]), m)] * rng.uniform(0.88, 1.12, (m, 1))
    rects.add(x, y, w / 2, d / 2, heading, HOUSE, colour, rng.uniform(0.1, 0.22, m))

    drive = rng.random(m) < 0.75                                     # a driveway to the street
    du = u[drive] + rng.choice([-1, 1], drive.sum()) * (w[drive] / 2 - 2.5)
    dx, dy, dh = _to_scene(style, du, street[drive] + side[drive] * (half + (back[drive] + 1) / 2))
    rects.add(dx, dy, rng.uniform(1.6, 2.4, len(dx)), (back[drive] + 1) / 2, dh, DRIVEWAY,
              np.array([150, 148, 144], np.float32) * rng.uniform(0.85, 1.1, (len(dx), 1)))

    a = rng.uniform(4.5, 8, m)                                       # a shed in the back yard
    shed = (rng.random(m) < 0.35) & (spacing / 2 - (half + back + d) >= a + 3)
    su = u[shed] + rng.uniform(-0.4, 0.4, shed.sum()) * w[shed]
    st = street[shed] + side[shed] * (half + back[shed] + d[shed] + 1.5 + a[shed] / 2)
    sx, sy, sh = _to_scene(style, su, st)
    rects.add(sx, sy, a[shed] / 2, a[shed] / 2 * rng.uniform(0.7, 1, shed.sum()), sh, SHED,
              style["palette"][rng.integers(0, len(style["palette"]), shed.sum())] * 0.95)

    corner = rng.random(m) < 0.22                                    # a tree over a roof corner
    tu = u[corner] + rng.choice([-1, 1], corner.sum()) * w[corner] / 2
    depth_in = d[corner] * rng.uniform(0.6, 1.1, corner.sum())
    tt = street[corner] + side[corner] * (half + back[corner] + depth_in)
    tx, ty, _ = _to_scene(style, tu, tt)
    trees.append((tx, ty, rng.uniform(3, 5.5, len(tx))))

    n_street = rng.poisson(0.12 * style["trees"] * shape[0] * lots)  # trees along the streets
    row = rng.integers(0, shape[0], n_street)
    t = np.repeat(ks * spacing, 2)[row] + np.tile([-1.0, 1.0], len(ks))[row] * (half + 2)
    sx, sy, _ = _to_scene(style, rng.uniform(u0, u1, n_street), t)
    trees.append((sx, sy, rng.uniform(3, 6, n_street)))


CAR_COLOURS = np.array([[225, 225, 222], [40, 40, 44], [130, 130, 134], [150, 40, 38], [50, 70, 130]],
                       np.float32)


def _commercial(rng, style, land, extent, rects):
    """Large flat roofs with rooftop units, and a parking lot full of cars towards the street."""
    if not np.any(land == 1):
        return
    ks, u0, u1 = _street_rows(style, extent)
    spacing, half = style["spacing"], style["road_half"]
    band = spacing - 2 * half - 6                                    # room between two streets
    shape = (len(ks), int((u1 - u0) / 59) + 2)
    length, gap = rng.uniform(45, 130, shape), rng.uniform(14, 40, shape)
    uc = u0 + np.cumsum(length + gap, axis=1) - gap - length / 2
    depth = band * rng.uniform(0.45, 0.62, shape)
    street = np.broadcast_to(ks[:, None] * spacing, shape)
    t_back = street + spacing - half - 3
    x, y, heading = _to_scene(style, uc, t_back - depth / 2)
    keep = _inside_use(x, y, length / 2, land, 1) & (uc < u1)
    keep &= ~_near_cross_street(style, uc, half + length / 2 + 2)
    x, y, heading, uc, length, depth, street, t_back = (
        a[keep] for a in (x, y, heading, uc, length, depth, street, t_back))
    n = len(x)
    grey = np.where(rng.random(n) < 0.7, rng.uniform(165, 215, n), rng.uniform(100, 128, n))
    colour = grey[:, None] * np.array([1, 1, 1.02], np.float32)
    rects.add(x, y, length / 2, depth / 2, heading, BIG, colour, -1.0)

    units = np.arange(5) < rng.integers(2, 6, n)[:, None]            # 2-5 rooftop units each
    cu = (uc[:, None] + rng.uniform(-0.4, 0.4, (n, 5)) * length[:, None])[units]
    ct = (t_back[:, None] - depth[:, None] * rng.uniform(0.2, 0.8, (n, 5)))[units]
    ux, uy, uh = _to_scene(style, cu, ct)
    shade = np.broadcast_to(colour[:, None, :], (n, 5, 3))[units] * rng.uniform(0.65, 0.85, (len(cu), 1))
    rects.add(ux, uy, rng.uniform(1.2, 2.5, len(cu)), rng.uniform(1.2, 2.5, len(cu)), uh, ROOF_UNIT, shade)

    lot_depth = band - depth - 2
    lot = lot_depth > 8
    uc, length, lot_depth = uc[lot], length[lot] + 12, lot_depth[lot]
    t_lot = street[lot] + half + 2 + lot_depth / 2
    px, py, ph = _to_scene(style, uc, t_lot)
    rects.add(px, py, length / 2, lot_depth / 2, ph, PARKING, rng.uniform(92, 128, (len(px), 1)) * np.ones(3))
    stalls = -length[:, None] / 2 + 2 + 3.0 * np.arange(int(142 / 3) + 1)   # along each lot
    for edge in (-1, 1):                                             # two rows of parked cars
        taken = (stalls < length[:, None] / 2 - 2) & (rng.random(stalls.shape) < 0.45)
        row_t = np.broadcast_to((t_lot + edge * (lot_depth / 2 - 3))[:, None], stalls.shape)
        cx, cy, ch = _to_scene(style, (uc[:, None] + stalls)[taken], row_t[taken])
        rects.add(cx, cy, 1.0, 2.3, ch, CAR, CAR_COLOURS[rng.integers(0, len(CAR_COLOURS), len(cx))])


def plan_scene(rng: np.random.Generator, nx: int, ny: int) -> dict:
    """Plan a contiguous scene of ``nx`` x ``ny`` tiles.

    Returns
    -------
    dict
        ``style`` (shared look), ``land`` (land use per tile, indices into
        :data:`LAND_USES`), ``rects`` (columns of every rectangle), ``trees``
        (x, y, radius) and ``fields`` (coarse noise grids for grass, forest and
        bare soil, sampled by every tile so patches continue across borders).
    """
    style = _style(rng)
    land = rng.choice(len(LAND_USES), size=(ny, nx), p=LAND_USE_ODDS)
    extent = (nx * TILE_UNITS, ny * TILE_UNITS)
    rects, trees = _Rects(), []
    _houses(rng, style, land, extent, rects, trees)
    _commercial(rng, style, land, extent, rects)
    n_yard = rng.poisson(style["trees"] * 28 * nx * ny)
    x, y = rng.uniform(0, extent[0], n_yard), rng.uniform(0, extent[1], n_yard)
    keep = (_cell_of(x, y, land) != 1) | (rng.random(n_yard) < 0.2)     # few trees on flat roofs
    trees.append((x[keep], y[keep], rng.uniform(2.5, 7, keep.sum())))
    gy, gx = int(extent[1] / FIELD_SPACING) + 2, int(extent[0] / FIELD_SPACING) + 2
    fields = rng.standard_normal((3, gy, gx)).astype(np.float32)
    node_use = _cell_of(*np.meshgrid(np.arange(gx) * FIELD_SPACING, np.arange(gy) * FIELD_SPACING), land)
    fields[1] += np.where(node_use == 2, 1.6, np.where(node_use == 1, -1.5, -0.9))
    rects = rects.arrays()
    normal = np.stack([-np.sin(rects["angle"]), np.cos(rects["angle"])], axis=1)
    rects["lit"] = -np.sign(normal @ style["sun"])                # the roof half facing the sun is brighter
    tx, ty, tr = (np.concatenate(parts).astype(np.float32) for parts in zip(*trees))
    tone = rng.uniform(0.85, 1.15, len(tx)).astype(np.float32)   # each tree its own green
    return dict(style=style, land=land, rects=rects, fields=fields,
                trees=dict(x=tx, y=ty, r=tr, tone=tone))
