"""The city on its boundaries: towns inside their district, seeded, and walks of real length."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from simulation.experiment.virtual import build_city, run_virtual
from simulation.geo.boundaries import Boundaries, distance_m, load_boundaries
from simulation.geo.placement import CityGeometry, place_city
from simulation.scenario import ScenarioError
from simulation.topology.city import (
    City,
    Town,
    generate_city,
    member_id,
    risk_point_id,
    town_team_id,
)
from simulation.topology.source import TopologySource, load_topology
from tests.support.scenarios import TOPOLOGY, load


@pytest.fixture(scope="module")
def source() -> TopologySource:
    return load_topology(TOPOLOGY)


@pytest.fixture(scope="module")
def boundaries(source: TopologySource) -> Boundaries:
    assert source.boundaries is not None
    return load_boundaries(source.boundaries, [d.code for d in source.districts])


@pytest.fixture(scope="module")
def city(source: TopologySource) -> City:
    return generate_city(source, seed=7, scale=0.02)


@pytest.fixture(scope="module")
def placed(source: TopologySource, city: City, boundaries: Boundaries) -> CityGeometry:
    return place_city(source, city, boundaries, seed=7)


def test_every_town_point_lies_inside_its_district(
    city: City, boundaries: Boundaries, placed: CityGeometry
) -> None:
    assert len(city.towns) == 1031
    for town in city.towns:
        assert boundaries.polygon(town.district).covers(shapely.Point(placed.town_point(town.code)))


def test_town_cells_hold_their_town_and_tile_the_district(
    city: City, boundaries: Boundaries, placed: CityGeometry
) -> None:
    for district in city.districts:
        cells = [placed.town_cell(t.code) for t in district.towns]
        for town, cell in zip(district.towns, cells, strict=True):
            assert cell.is_valid
            assert cell.covers(shapely.Point(placed.town_point(town.code)))
        polygon = boundaries.polygon(district.code)
        assert sum(c.area for c in cells) == pytest.approx(polygon.area, rel=1e-6)
        assert shapely.union_all(cells).area == pytest.approx(polygon.area, rel=1e-6)


def test_members_and_risk_points_lie_in_their_town_cell(city: City, placed: CityGeometry) -> None:
    for town in city.towns:
        cell = placed.town_cell(town.code)
        homes = [placed.member_home(member_id(town.code, i)) for i in range(town.members)]
        risks = [placed.risk_point(risk_point_id(town.code, j)) for j in range(town.risk_points)]
        assert all(cell.covers(shapely.Point(p)) for p in homes + risks), town.code


def _town_coordinates(town: Town, placed: CityGeometry) -> list[tuple[float, float]]:
    return [
        placed.town_point(town.code),
        *(placed.member_home(member_id(town.code, i)) for i in range(town.members)),
        *(placed.risk_point(risk_point_id(town.code, j)) for j in range(town.risk_points)),
    ]


def _coordinates(city: City, placed: CityGeometry) -> list[tuple[float, float]]:
    return [xy for town in city.towns for xy in _town_coordinates(town, placed)]


def test_same_seed_same_coordinates_another_seed_others(
    source: TopologySource, city: City, boundaries: Boundaries, placed: CityGeometry
) -> None:
    again = place_city(source, city, boundaries, seed=7)
    assert _coordinates(city, again) == _coordinates(city, placed)
    other = place_city(source, city, boundaries, seed=8)
    mine, theirs = _coordinates(city, placed), _coordinates(city, other)
    assert sum(a != b for a, b in zip(mine, theirs, strict=True)) > 0.99 * len(mine)


def test_a_subset_never_moves_a_kept_town(
    source: TopologySource, boundaries: Boundaries, placed: CityGeometry
) -> None:
    part = generate_city(
        source, seed=7, scale=0.02, districts=["500243", "500103"], towns_per_district=3
    )
    subset = place_city(source, part, boundaries, seed=7)
    assert len(subset.towns) == 6
    for town in part.towns:
        assert _town_coordinates(town, subset) == _town_coordinates(town, placed)
        assert subset.town_cell(town.code).equals(placed.town_cell(town.code))


def test_legs_go_from_where_the_responder_sets_out_then_point_to_point(
    city: City, placed: CityGeometry
) -> None:
    town = next(t for t in city.towns if t.members and t.risk_points >= 3)
    member = member_id(town.code, 0)
    points = tuple(risk_point_id(town.code, j) for j in (0, town.members, 2 * town.members))
    points = tuple(p for p in points if int(p[11:]) < town.risk_points)
    first = placed.leg_m(member, town.code, points, 0)
    assert first == pytest.approx(
        distance_m(*placed.member_home(member), *placed.risk_point(points[0]))
    )
    if len(points) > 1:
        second = placed.leg_m(member, town.code, points, 1)
        assert second == distance_m(*placed.risk_point(points[0]), *placed.risk_point(points[1]))
    lead = town_team_id(town.code, 0)
    covering = placed.leg_m(lead, town.code, points, 0)
    assert covering == distance_m(*placed.town_point(town.code), *placed.risk_point(points[0]))


def _median_first_leg_m(city: City, placed: CityGeometry) -> float:
    legs = sorted(
        placed.leg_m(member_id(t.code, j % t.members), t.code, (risk_point_id(t.code, j),), 0)
        for t in city.towns
        if t.members
        for j in range(t.risk_points)
    )
    return legs[len(legs) // 2]


def test_a_scaled_down_city_walks_the_distances_of_the_whole_one(
    source: TopologySource, city: City, boundaries: Boundaries, placed: CityGeometry
) -> None:
    whole = generate_city(source, seed=7)
    whole_m = _median_first_leg_m(whole, place_city(source, whole, boundaries, seed=7))
    # grids of about 1.3 km2 on average (82,400 km2 / 62,000): legs of some hundreds of metres
    assert 200 < whole_m < 1_000
    assert _median_first_leg_m(city, placed) == pytest.approx(whole_m, rel=0.25)


# --------------------------------------------------------------------------- in the model


def test_with_geometry_every_walk_takes_its_legs_length_over_the_speed(tmp_path: Path) -> None:
    loaded = load(tmp_path, topology={"geometry": True})  # 1 m/s, depart after 60 s, no slowdown
    city = build_city(loaded)
    assert isinstance(city.geometry, CityGeometry)
    result = run_virtual(loaded)
    routes = {  # risk points go round-robin to a town's members (World._town_plan)
        member_id(t.code, i): [risk_point_id(t.code, j) for j in range(i, t.risk_points, t.members)]
        for t in city.towns
        for i in range(t.members)
    }
    checked = 0
    for rp in result.risk_points:
        assert rp.responder_id is not None
        assert rp.dispatched_at_s is not None
        assert rp.on_scene_at_s is not None
        route = routes[rp.responder_id]
        index = route.index(rp.risk_point_id)
        walked_m = sum(
            city.geometry.leg_m(rp.responder_id, rp.town, tuple(route), i) for i in range(index + 1)
        )
        assert rp.on_scene_at_s - rp.dispatched_at_s == pytest.approx(60.0 + walked_m)
        checked += 1
    assert checked == len(result.risk_points) > 10


def test_without_geometry_the_walks_draw_the_distance_distribution(tmp_path: Path) -> None:
    loaded = load(tmp_path)  # constant 300 m a leg
    assert build_city(loaded).geometry is None
    result = run_virtual(loaded)
    for rp in result.risk_points:
        assert rp.on_scene_at_s is not None
        assert rp.dispatched_at_s is not None
        legs = (rp.on_scene_at_s - rp.dispatched_at_s - 60.0) / 300.0
        assert legs == pytest.approx(round(legs))
        assert legs >= 1


def test_geometry_needs_a_topology_that_names_its_boundaries(tmp_path: Path) -> None:
    text = TOPOLOGY.read_text(encoding="utf-8")
    bare = tmp_path / "bare.yaml"
    bare.write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("boundaries:")),
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match=r"topology.geometry: expected a topology file that"):
        load(tmp_path, topology={"path": str(bare), "geometry": True})
