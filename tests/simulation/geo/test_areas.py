"""Alert areas that select: polygons, circles and geocodes pick the towns inside, repeatably."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from shapely.geometry import Polygon, box, mapping

from simulation.geo.areas import AreaError, Circle, cap_polygon, read_area_file, towns_in_area
from simulation.geo.boundaries import Boundaries, distance_m, load_boundaries
from simulation.geo.placement import CityGeometry, place_city
from simulation.topology.city import City, generate_city
from simulation.topology.source import TopologySource, load_topology
from tests.support.scenarios import TOPOLOGY

# Yuzhong and two of its neighbours across the rivers
YUZHONG, JIANGBEI, SHAPINGBA = "500103", "500105", "500106"


@pytest.fixture(scope="module")
def source() -> TopologySource:
    return load_topology(TOPOLOGY)


@pytest.fixture(scope="module")
def boundaries(source: TopologySource) -> Boundaries:
    assert source.boundaries is not None
    return load_boundaries(source.boundaries, [d.code for d in source.districts])


@pytest.fixture(scope="module")
def city(source: TopologySource) -> City:
    return generate_city(source, seed=11, scale=0.02, districts=[YUZHONG, JIANGBEI, SHAPINGBA])


@pytest.fixture(scope="module")
def placed(source: TopologySource, city: City, boundaries: Boundaries) -> CityGeometry:
    return place_city(source, city, boundaries, seed=11)


def _towns_of(city: City, district: str) -> frozenset[str]:
    return frozenset(t.code for t in city.district(district).towns)


def test_a_district_polygon_selects_exactly_its_towns(
    city: City, boundaries: Boundaries, placed: CityGeometry
) -> None:
    yuzhong = _towns_of(city, YUZHONG)
    assert len(yuzhong) >= 5
    for district in (YUZHONG, SHAPINGBA):
        selected = towns_in_area(placed, [boundaries.polygon(district)])
        assert selected == _towns_of(city, district)


def test_a_drawn_box_over_part_of_a_district_selects_the_towns_inside_it(
    city: City, placed: CityGeometry
) -> None:
    # the western half of Shapingba's towns, by the longitude of their points
    towns = sorted(_towns_of(city, SHAPINGBA), key=lambda c: placed.town_point(c)[0])
    cut = (placed.town_point(towns[2])[0] + placed.town_point(towns[3])[0]) / 2
    lats = [placed.town_point(c)[1] for c in towns]
    drawn = box(100.0, min(lats) - 0.01, cut, max(lats) + 0.01)
    selected = towns_in_area(placed, [drawn])
    assert selected == frozenset(towns[:3])  # counted by hand: the three westernmost
    # what lies west of the cut in the neighbouring districts is inside the box too
    west = {c for c in placed.towns if placed.town_point(c)[0] < cut}
    assert selected == {c for c in west if min(lats) - 0.01 <= placed.town_point(c)[1]}


def test_a_circle_selects_the_towns_within_its_radius(placed: CityGeometry) -> None:
    code = sorted(placed.towns)[0]
    lon, lat = placed.town_point(code)
    gaps = sorted((distance_m(lon, lat, *placed.town_point(c)), c) for c in placed.towns)
    (_, itself), (nearest_m, neighbour), (second_m, _) = gaps[:3]
    assert itself == code
    assert towns_in_area(placed, circles=[Circle(lon, lat, nearest_m / 2)]) == {code}
    wider = Circle(lon, lat, (nearest_m + second_m) / 2)
    assert towns_in_area(placed, circles=[wider]) == {code, neighbour}
    # CAP's text form: "latitude,longitude radius_km"
    cap = Circle.from_cap(f"{lat},{lon} {nearest_m / 2000}")
    assert (cap.lon, cap.lat) == (lon, lat)
    assert cap.radius_m == pytest.approx(nearest_m / 2)
    with pytest.raises(AreaError, match="expected 'latitude,longitude radius_km'"):
        Circle.from_cap("29.5 106.5 3")
    with pytest.raises(AreaError, match="expected a radius above 0 m"):
        Circle(lon, lat, 0.0)


def test_by_cell_a_town_is_in_when_its_cell_overlaps_the_area(placed: CityGeometry) -> None:
    code = sorted(placed.towns)[1]
    lon, lat = placed.town_point(code)
    cell = placed.town_cell(code)
    # a speck inside the town's cell but away from its point: the point test misses it
    inner = shapely.buffer(cell, -0.0005).representative_point()
    speck = inner.buffer(1e-5)
    assert cell.contains(speck)
    assert not speck.covers(shapely.Point(lon, lat))
    assert towns_in_area(placed, [speck], by="cell") == {code}
    assert code not in towns_in_area(placed, [speck], by="point")
    # a circle around that speck, by cell, likewise
    tiny = Circle(inner.x, inner.y, 1.0)
    assert towns_in_area(placed, circles=[tiny], by="cell") == {code}


def test_geocodes_select_by_division_code(city: City, placed: CityGeometry) -> None:
    town = sorted(_towns_of(city, JIANGBEI))[0]
    assert towns_in_area(placed, geocodes=[YUZHONG]) == _towns_of(city, YUZHONG)
    assert towns_in_area(placed, geocodes=[town, f"{town}003"]) == {town}
    with pytest.raises(AreaError, match=r"expected codes of the city's towns, got \['500101'\]"):
        towns_in_area(placed, geocodes=["500101"])
    with pytest.raises(AreaError, match="expected a 6-digit district"):
        towns_in_area(placed, geocodes=["5001"])


def test_the_selection_is_deterministic(
    source: TopologySource, city: City, boundaries: Boundaries, placed: CityGeometry
) -> None:
    drawn = box(106.45, 29.5, 106.56, 29.6)
    again = place_city(source, city, boundaries, seed=11)
    first = towns_in_area(placed, [drawn], [Circle(106.5, 29.55, 3000)])
    assert first == towns_in_area(again, [drawn], [Circle(106.5, 29.55, 3000)])
    assert first  # the box is in the middle of the three districts
    other = place_city(source, city, boundaries, seed=12)
    assert towns_in_area(other, [drawn]) != towns_in_area(placed, [drawn])


def test_cap_polygons_are_latitude_longitude(placed: CityGeometry) -> None:
    ring = [(29.5, 106.45), (29.5, 106.56), (29.6, 106.56), (29.6, 106.45), (29.5, 106.45)]
    assert cap_polygon(ring).equals(box(106.45, 29.5, 106.56, 29.6))
    with pytest.raises(AreaError, match="at least 4"):
        cap_polygon(ring[:3])


def test_area_files_hold_polygons(tmp_path: Path) -> None:
    square = box(106.4, 29.4, 106.6, 29.6)
    path = tmp_path / "area.geojson"
    for data in (
        {"type": "FeatureCollection", "features": [{"geometry": mapping(square)}]},
        {"type": "Feature", "properties": {}, "geometry": mapping(square)},
        mapping(square),
    ):
        path.write_text(json.dumps(data))
        (read,) = read_area_file(path)
        assert read.equals(square)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "expected GeoJSON"),
        ('{"type": "Point", "coordinates": [106, 29]}', "expected a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection", "features": []}', "at least one Polygon"),
        (
            json.dumps(mapping(Polygon([(106, 29), (107, 30), (107, 29), (106, 30)]))),
            "expected a valid polygon, got Self-intersection",
        ),
        (
            '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}',
            "geometry: expected a Polygon or MultiPolygon, got 'Point'",
        ),
    ],
)
def test_bad_area_files_are_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(AreaError, match=message) as info:
        read_area_file(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)
    with pytest.raises(AreaError, match="expected a readable"):
        read_area_file(tmp_path / "missing.geojson")


def test_a_replayed_cap_circle_alerts_the_towns_it_covers(city: City, placed: CityGeometry) -> None:
    from dataclasses import replace

    from dispatcher.wire.capvocab import Circle as CapCircle
    from dispatcher.wire.capxml import decode_cap
    from simulation.capreplay import replay_warnings
    from tests.support.scenarios import ROOT

    code = sorted(placed.towns)[0]
    lon, lat = placed.town_point(code)
    nearest_m = sorted(distance_m(lon, lat, *placed.town_point(c)) for c in placed.towns)[1]
    sample = decode_cap((ROOT / "config/cap/examples/cq-wanzhou-rainstorm-alert.xml").read_bytes())
    circle = CapCircle(latitude=lat, longitude=lon, radius_km=nearest_m / 2000)
    area = sample.info.area.model_copy(update={"districts": (), "towns": (), "circles": (circle,)})
    alert = sample.model_copy(
        update={"info": sample.info.model_copy(update={"area": area}), "more_info": ()}
    )
    (warning,) = replay_warnings([alert], replace(city, geometry=placed))
    assert (warning.districts, warning.towns) == ((code[:6],), (code,))
