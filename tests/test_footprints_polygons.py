"""Mask to polygons, area filter, simplification, regularisation, vector files (lesson 10)."""
from __future__ import annotations

import numpy as np
import pytest
from rasterio import features
from shapely import affinity
from shapely.geometry import Polygon, box

from unet_course.footprints import FootprintError
from unet_course.footprints.polygons import (clean_polygons, mask_to_polygons, raster_polygons,
                                             regularise_polygon, simplify_polygons)
from unet_course.footprints.vectors import read_polygons, write_layers

from _footprints import CRS, TRANSFORM, known_buildings, paint, to_map


def _components(mask):
    """Sizes of the 4-connected regions of a 0/1 mask, by flood fill (plain numpy/Python)."""
    seen = np.zeros(mask.shape, bool)
    sizes = []
    for r, c in zip(*np.nonzero(mask)):
        if seen[r, c]:
            continue
        stack, size = [(r, c)], 0
        seen[r, c] = True
        while stack:
            y, x = stack.pop()
            size += 1
            for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                v, u = y + dy, x + dx
                if 0 <= v < mask.shape[0] and 0 <= u < mask.shape[1] and mask[v, u] and not seen[v, u]:
                    seen[v, u] = True
                    stack.append((v, u))
        sizes.append(size)
    return sorted(sizes, reverse=True)


def test_polygons_are_the_known_rectangles_and_l_shapes():
    buildings = known_buildings()
    _, mask = paint(buildings)
    polygons = mask_to_polygons(mask)
    assert len(polygons) == len(buildings)
    for building in buildings:
        best = max(polygons, key=lambda p: p.intersection(building).area)
        assert best.symmetric_difference(building).area == 0


def test_polygon_areas_are_the_connected_components_of_random_masks():
    rng = np.random.default_rng(5)
    for _ in range(20):
        mask = (rng.random((24, 30)) < 0.35).astype(np.uint8)
        polygons = mask_to_polygons(mask)
        assert sorted((p.area for p in polygons), reverse=True) == _components(mask)
        assert sum(p.area for p in polygons) == mask.sum()


@pytest.mark.parametrize("mask, count", [
    (np.zeros((8, 8), np.uint8), 0),
    (np.ones((8, 8), np.uint8), 1),
    (np.array([[1, 0], [0, 1]], np.uint8), 2),                       # corners only: two buildings
])
def test_edge_cases_empty_full_and_diagonal(mask, count):
    assert len(mask_to_polygons(mask)) == count


def test_holes_are_kept_and_the_area_filter_drops_specks():
    mask = np.zeros((20, 20), np.uint8)
    mask[2:12, 2:12] = 1
    mask[5:8, 5:8] = 0                       # a courtyard
    mask[15, 15] = 1                         # a speck
    polygons = mask_to_polygons(mask, min_area=2)
    assert len(polygons) == 1 and len(polygons[0].interiors) == 1
    assert polygons[0].area == 100 - 9
    assert len(mask_to_polygons(mask, min_area=1)) == 2


def test_a_transform_gives_map_coordinates():
    _, mask = paint(known_buildings())
    for pixel, mapped in zip(mask_to_polygons(mask), mask_to_polygons(mask, transform=TRANSFORM)):
        assert to_map(pixel).symmetric_difference(mapped).area < 1e-6
        assert mapped.area == pytest.approx(pixel.area * 0.25)


def test_bad_arguments_are_refused():
    with pytest.raises(FootprintError, match="expected \\(height, width\\)"):
        mask_to_polygons(np.zeros((2, 2, 3)))
    with pytest.raises(FootprintError, match="min_area must be a number >= 0"):
        mask_to_polygons(np.zeros((2, 2)), min_area=-1)


def _staircase(polygon, shape=(200, 200)):
    """The pixel outline of a polygon: rasterised, then traced."""
    mask = features.rasterize([(polygon, 1)], out_shape=shape, dtype="uint8")
    return mask_to_polygons(mask)[0]


def test_simplification_removes_the_staircase_and_keeps_the_area():
    rotated = affinity.rotate(box(50, 60, 130, 110), 23, origin="centroid")
    stairs = _staircase(rotated)
    (simple,) = simplify_polygons([stairs], 1.0)
    assert len(simple.exterior.coords) < len(stairs.exterior.coords) / 5
    assert simple.area == pytest.approx(stairs.area, rel=0.03)
    assert simple.is_valid


def test_regularisation_makes_right_angles():
    rotated = affinity.rotate(box(50, 60, 130, 110), 23, origin="centroid")
    (simple,) = simplify_polygons([_staircase(rotated)], 1.0)
    rectangle = regularise_polygon(simple)
    assert len(rectangle.exterior.coords) == 5
    assert rectangle.symmetric_difference(rotated).area / rotated.area < 0.05
    ell = affinity.rotate(Polygon([(40, 40), (150, 40), (150, 80), (90, 80), (90, 160), (40, 160)]),
                          17, origin="centroid")
    (simple,) = simplify_polygons([_staircase(ell)], 1.0)
    right = regularise_polygon(simple)
    coords = np.asarray(right.exterior.coords)[:-1]
    assert len(coords) == 6
    edges = np.roll(coords, -1, axis=0) - coords
    cosines = [abs(np.dot(a, b)) / (np.linalg.norm(a) * np.linalg.norm(b))
               for a, b in zip(edges, np.roll(edges, -1, axis=0))]
    assert max(cosines) < 1e-9                                         # every corner is 90°
    assert right.symmetric_difference(ell).area / ell.area < 0.05


def test_an_irregular_outline_is_left_alone():
    blob = Polygon([(0, 0), (10, 1), (14, 8), (7, 15), (1, 9), (3, 4)])
    assert regularise_polygon(blob).equals(blob)


def test_clean_polygons_filters_after_simplifying():
    polygons = [box(0, 0, 10, 10), box(20, 20, 22, 22)]
    assert len(clean_polygons(polygons, min_area=5, tolerance=0.5, regularise=True)) == 1


def test_vector_files_round_trip_with_their_crs(tmp_path):
    polygons = [to_map(p) for p in known_buildings()]
    areas = np.array([p.area for p in polygons])
    for name in ("b.geojson", "b.gpkg"):
        write_layers(tmp_path / name, {"footprints": (polygons, {"area": areas})}, CRS)
        back, crs = read_polygons(tmp_path / name)
        assert crs.to_string() == CRS and len(back) == len(polygons)
        assert all(a.equals_exact(b, 1e-6) for a, b in zip(back, polygons))
    write_layers(tmp_path / "pixels.geojson", {"footprints": (known_buildings(), {})}, None)
    assert read_polygons(tmp_path / "pixels.geojson")[1] is None
    write_layers(tmp_path / "empty.gpkg", {"a": ([], {})}, CRS)
    assert read_polygons(tmp_path / "empty.gpkg")[0] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "b.geojson", "b.gpkg", "empty.gpkg", "pixels.geojson"]


def test_a_label_raster_is_traced_from_disk(tmp_path):
    import rasterio
    _, mask = paint(known_buildings())
    with rasterio.open(tmp_path / "labels.tif", "w", driver="GTiff", width=mask.shape[1],
                       height=mask.shape[0], count=1, dtype="uint8", crs=CRS,
                       transform=TRANSFORM) as out:
        out.write(mask, 1)
    polygons, crs = raster_polygons(tmp_path / "labels.tif")
    assert crs.to_string() == CRS and len(polygons) == len(known_buildings())
    assert sum(p.area for p in polygons) == pytest.approx(mask.sum() * 0.25)


def test_bad_vector_inputs(tmp_path):
    with pytest.raises(FootprintError, match="no such file"):
        read_polygons(tmp_path / "missing.gpkg")
    (tmp_path / "bad.gpkg").write_text("not a geopackage")
    with pytest.raises(FootprintError, match="not a vector file GDAL can read"):
        read_polygons(tmp_path / "bad.gpkg")
    (tmp_path / "x.shp.txt").write_text("")
    with pytest.raises(FootprintError, match="expected a .geojson or .gpkg"):
        read_polygons(tmp_path / "x.shp.txt")
