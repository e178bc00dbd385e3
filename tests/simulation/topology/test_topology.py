"""Tests for the topology data and the seeded municipality generator."""

from __future__ import annotations

import copy
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.topology.city import (
    City,
    district_team_id,
    district_totals,
    generate_city,
    member_id,
    member_ids,
    risk_point_id,
    risk_point_ids,
    town_team_id,
)
from simulation.topology.source import TopologyError, TopologySource, load_topology

CHONGQING = Path(__file__).resolve().parents[3] / "config" / "topology" / "chongqing.yaml"
ESTIMATED = {"500233", "500235", "500238", "500240", "500241", "500242"}


@pytest.fixture(scope="module")
def source() -> TopologySource:
    return load_topology(CHONGQING)


@pytest.fixture(scope="module")
def city(source: TopologySource) -> City:
    return generate_city(source, seed=7)


def _sums(city: City) -> tuple[int, int, int, int]:
    return city.grids, city.micro_grids, city.members, city.risk_points


# --------------------------------------------------------------------------- the data file


def test_data_file_holds_the_38_units_and_census_total(source: TopologySource) -> None:
    assert source.name == "Chongqing"
    assert len(source.districts) == 38
    assert sum(d.towns for d in source.districts) == 1031
    assert sum(d.population for d in source.districts) == 32_054_159 == source.population
    assert (source.totals.grids, source.totals.micro_grids) == (62_000, 210_000)
    assert (source.totals.members, source.totals.risk_points) == (121_000, 158_000)
    kinds = [d.kind for d in source.districts]
    assert (kinds.count("district"), kinds.count("county"), kinds.count("autonomous_county")) == (
        26,
        8,
        4,
    )
    assert [d.area_km2 for d in source.districts if d.area_km2 is None] == [None]
    assert source.districts[0].name == "Wanzhou"
    assert source.districts[0].name_zh == "万州区"


def test_estimated_populations_share_the_remainder_by_township_units(
    source: TopologySource,
) -> None:
    estimated = [d for d in source.districts if d.population_estimated]
    assert {d.code for d in estimated} == ESTIMATED
    remainder = sum(d.population for d in estimated)
    assert remainder == 3_531_228
    units = sum(d.towns for d in estimated)
    for d in estimated:
        assert abs(d.population - Fraction(remainder * d.towns, units)) < 1


# --------------------------------------------------------------------------- the full city


def test_full_city_totals_are_exact(city: City) -> None:
    assert len(city.districts) == 38
    assert len(city.towns) == 1031
    assert _sums(city) == (62_000, 210_000, 121_000, 158_000)
    assert city.population == 32_054_159


def test_district_shares_are_within_one_of_their_population_quota(source: TopologySource) -> None:
    shares = district_totals(source)
    for d in source.districts:
        share = shares[d.code]
        t = source.totals
        for figure, total in (
            (share.grids, t.grids),
            (share.micro_grids, t.micro_grids),
            (share.members, t.members),
            (share.risk_points, t.risk_points),
        ):
            assert abs(figure - Fraction(total * d.population, source.population)) < 1, d.code


def test_towns_sum_to_their_district_and_are_well_formed(
    source: TopologySource, city: City
) -> None:
    shares = district_totals(source)
    for d in city.districts:
        assert sum(t.population for t in d.towns) == d.population
        assert (d.grids, d.micro_grids, d.members, d.risk_points) == (
            shares[d.code].grids,
            shares[d.code].micro_grids,
            shares[d.code].members,
            shares[d.code].risk_points,
        )
        assert [t.code for t in d.towns] == [f"{d.code}{i:03d}" for i in range(1, len(d.towns) + 1)]
        assert d.team_size == 4
        for t in d.towns:
            assert t.district == d.code
            assert t.name.startswith(f"{d.name} town ")
            assert t.team_size == 3
            assert t.grids >= 1
            assert t.micro_grids >= t.grids
            assert t.members >= 1


def test_town_members_are_proportional_to_population(city: City) -> None:
    for d in city.districts:
        for t in d.towns:
            quota = Fraction(d.members * t.population, d.population)
            # Floors of 1 can lift a tiny town, which moves others by at most one more.
            assert abs(t.members - quota) < 2, t.code


def test_team_sizes_are_settings(source: TopologySource) -> None:
    city = generate_city(
        source, seed=1, districts=["500103"], district_team_size=6, town_team_size=0
    )
    assert city.districts[0].team_size == 6
    assert {t.team_size for t in city.towns} == {0}


# --------------------------------------------------------------------------- subsets and scale


def test_subset_keeps_the_full_city_figures(source: TopologySource, city: City) -> None:
    subset = generate_city(source, seed=7, districts=["500243", "500103", "500101"])
    assert [d.code for d in subset.districts] == ["500243", "500103", "500101"]
    for d in subset.districts:
        assert d == city.district(d.code)


def test_towns_per_district_keeps_the_first_towns_unchanged(
    source: TopologySource, city: City
) -> None:
    small = generate_city(source, seed=7, districts=["500104", "500101"], towns_per_district=9)
    assert [len(d.towns) for d in small.districts] == [8, 9]
    for d in small.districts:
        full = city.district(d.code)
        assert d.towns == full.towns[: len(d.towns)]
        assert d.population == full.population


def test_scale_one_percent_rounds_totals_and_gives_every_town_a_member(
    source: TopologySource,
) -> None:
    city = generate_city(source, seed=7, scale=0.01)
    assert len(city.towns) == 1031
    assert (city.micro_grids, city.members, city.risk_points) == (2_100, 1_210, 1_580)
    # 620 scaled grids cannot give 1,031 towns one each; the floor lifts the total.
    assert city.grids == 1031
    assert all(t.members >= 1 and t.grids >= 1 and t.micro_grids >= t.grids for t in city.towns)
    assert city.population == 32_054_159


def test_below_one_member_per_town_counts_may_be_zero_but_not_negative(
    source: TopologySource,
) -> None:
    city = generate_city(source, seed=7, scale=0.001)
    assert _sums(city) == (62, 210, 121, 158)
    assert any(t.members == 0 for t in city.towns)
    for t in city.towns:
        assert min(t.grids, t.members, t.risk_points) >= 0
        assert t.micro_grids >= t.grids


@settings(max_examples=40, deadline=None)
@given(
    scale=st.floats(min_value=0.0001, max_value=1.0),
    picks=st.lists(st.integers(min_value=0, max_value=37), min_size=1, max_size=6, unique=True),
    towns_per_district=st.none() | st.integers(min_value=1, max_value=60),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_any_scale_and_subset_matches_the_full_city(
    source: TopologySource,
    scale: float,
    picks: list[int],
    towns_per_district: int | None,
    seed: int,
) -> None:
    codes = [source.districts[i].code for i in picks]
    full = generate_city(source, seed=seed, scale=scale)
    shares = district_totals(source, scale=scale)
    for d in full.districts:
        assert (d.grids, d.micro_grids, d.members, d.risk_points) == (
            shares[d.code].grids,
            shares[d.code].micro_grids,
            shares[d.code].members,
            shares[d.code].risk_points,
        )
        assert sum(t.population for t in d.towns) == d.population
    assert abs(full.members - 121_000 * scale) <= 0.5
    part = generate_city(
        source, seed=seed, scale=scale, districts=codes, towns_per_district=towns_per_district
    )
    assert [d.code for d in part.districts] == codes
    for d in part.districts:
        kept = full.district(d.code).towns
        assert d.towns == kept[: len(d.towns)]
        assert len(d.towns) == min(len(kept), towns_per_district or len(kept))
        for t in d.towns:
            assert min(t.grids, t.members, t.risk_points, t.population) >= 0
            assert t.micro_grids >= t.grids


# --------------------------------------------------------------------------- seeds


def test_same_seed_gives_the_same_city(source: TopologySource, city: City) -> None:
    assert generate_city(source, seed=7) == city


def test_different_seeds_give_different_town_populations(
    source: TopologySource, city: City
) -> None:
    other = generate_city(source, seed=8)
    assert [t.population for t in other.towns] != [t.population for t in city.towns]
    # ...but the district figures do not depend on the seed.
    assert [d.members for d in other.districts] == [d.members for d in city.districts]


# --------------------------------------------------------------------------- errors


def test_unknown_district_code_is_named(source: TopologySource) -> None:
    with pytest.raises(
        TopologyError, match=r"districts\[1\]: unknown district code '500199'"
    ) as exc:
        generate_city(source, seed=1, districts=["500101", "500199"])
    assert "500101" in str(exc.value)
    assert "38 codes" in str(exc.value)


def test_city_district_lookup_names_the_unknown_code(city: City) -> None:
    with pytest.raises(KeyError, match="500199"):
        city.district("500199")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": 0.0}, "scale: expected a number with 0 < scale <= 1, got 0.0"),
        ({"scale": 1.5}, "scale: expected a number with 0 < scale <= 1, got 1.5"),
        ({"towns_per_district": 0}, "towns_per_district: expected a positive integer"),
        ({"districts": []}, "districts: expected at least one district code"),
        ({"districts": ["500101", "500101"]}, r"districts\[1\]: district code '500101' is listed"),
        ({"town_team_size": -1}, "town_team_size: expected a non-negative integer, got -1"),
    ],
)
def test_bad_generator_arguments_are_named(
    source: TopologySource, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(TopologyError, match=message):
        generate_city(source, seed=1, **kwargs)


def _small_topology(**city_overrides: Any) -> dict[str, Any]:
    district = {
        "code": "500101",
        "name": "Wanzhou",
        "name_zh": "万州区",
        "kind": "district",
        "towns": 3,
        "population": 600,
        "population_estimated": False,
        "area_km2": 3457,
    }
    other = {**district, "code": "500102", "name": "Fuling", "towns": 2, "population": 400}
    data: dict[str, Any] = {
        "city": {"name": "Chongqing", "code": "500000", "population": 1000},
        "totals": {"grids": 10, "micro_grids": 30, "members": 20, "risk_points": 25},
        "districts": [district, other],
    }
    data.update(city_overrides)
    return data


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_small_topology_loads_and_generates(tmp_path: Path) -> None:
    source = load_topology(_write(tmp_path, _small_topology()))
    city = generate_city(source, seed=3)
    assert [len(d.towns) for d in city.districts] == [3, 2]
    assert _sums(city) == (10, 30, 20, 25)
    assert [d.members for d in city.districts] == [12, 8]


def _broken(path: tuple[Any, ...], value: object) -> dict[str, Any]:
    data = copy.deepcopy(_small_topology())
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("districts", 1, "towns"), -2, r"districts\[1\]\.towns: expected a positive integer"),
        (
            ("districts", 0, "towns"),
            _DELETE,
            r"districts\[0\]\.towns: expected a value, got nothing",
        ),
        (("districts", 0, "code"), 500101, r"districts\[0\]\.code: expected a 6-digit code"),
        (("districts", 1, "kind"), "city", r"districts\[1\]\.kind: expected one of district"),
        (("districts", 0, "area_km2"), -1, r"districts\[0\]\.area_km2: expected a positive number"),
        (("districts", 0, "population_estimated"), "no", r"population_estimated: expected true"),
        (("districts", 0, "extra"), 1, r"districts\[0\]\.extra: expected only the keys"),
        (("districts", 1, "code"), "500101", r"districts\[1\]\.code: expected a code not used"),
        (("totals", "members"), 1.5, r"totals\.members: expected a non-negative integer, got 1.5"),
        (("totals", "micro_grids"), 5, r"totals\.micro_grids: expected at least totals\.grids"),
        (("city", "population"), 999, r"city\.population: expected the sum of districts"),
        (("districts",), [], r"districts: expected a non-empty list"),
        (("totals",), _DELETE, r"totals: expected a value, got nothing"),
    ],
)
def test_bad_yaml_values_name_the_file_and_field(
    tmp_path: Path, path: tuple[Any, ...], value: object, message: str
) -> None:
    file = _write(tmp_path, _broken(path, value))
    with pytest.raises(TopologyError, match=message) as exc:
        load_topology(file)
    assert str(exc.value).startswith(f"{file}: ")


def test_boundaries_are_optional_and_resolved_next_to_the_topology_file(tmp_path: Path) -> None:
    assert load_topology(_write(tmp_path, _small_topology())).boundaries is None
    data = {**_small_topology(), "boundaries": "../geo/districts.geojson"}
    source = load_topology(_write(tmp_path, data))
    assert source.boundaries == (tmp_path.parent / "geo" / "districts.geojson").resolve()
    file = _write(tmp_path, {**data, "boundaries": 7})
    with pytest.raises(TopologyError, match=r"boundaries: expected a path to a GeoJSON file"):
        load_topology(file)


def test_negative_towns_message_shows_the_value(tmp_path: Path) -> None:
    file = _write(tmp_path, _broken(("districts", 1, "towns"), -2))
    with pytest.raises(TopologyError) as exc:
        load_topology(file)
    assert str(exc.value) == (
        f"{file}: districts[1].towns: expected a positive integer <= 999, got -2"
    )


def test_unreadable_or_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(TopologyError, match=re.escape(f"{missing}: expected a readable file")):
        load_topology(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("districts: [unclosed", encoding="utf-8")
    with pytest.raises(TopologyError, match=re.escape(f"{bad}: expected valid YAML")):
        load_topology(bad)


# --------------------------------------------------------------------------- ids


def test_ids_have_the_documented_shape() -> None:
    assert member_id("500101001", 42) == "500101001-m0042"
    assert member_id("500101001", 12345) == "500101001-m12345"
    assert risk_point_id("500101001", 42) == "500101001-r0042"
    assert district_team_id("500101", 1) == "500101-d01"
    assert town_team_id("500101001", 1) == "500101001-t01"
    assert town_team_id("500101001", 0) == "500101001-t00"


def test_a_towns_ids_made_at_once_are_those_made_one_by_one() -> None:
    count = 10_001
    assert member_ids("500101001", count) == [member_id("500101001", i) for i in range(count)]
    assert risk_point_ids("500101001", count) == [
        risk_point_id("500101001", i) for i in range(count)
    ]
    with pytest.raises(ValueError, match="town_code: expected a 9-digit code, got '5001'"):
        member_ids("5001", 3)


def test_ids_reject_bad_codes_and_indexes() -> None:
    with pytest.raises(ValueError, match="town_code: expected a 9-digit code, got '500101'"):
        member_id("500101", 0)
    with pytest.raises(ValueError, match="district_code: expected a 6-digit code"):
        district_team_id("500101001", 0)
    with pytest.raises(ValueError, match="index: expected a non-negative integer, got -1"):
        risk_point_id("500101001", -1)
