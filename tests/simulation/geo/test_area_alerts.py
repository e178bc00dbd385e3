"""A hazard's drawn alert area, and `alertsim run --area`: only the towns inside are alerted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from simulation.cli import app
from simulation.experiment.virtual import build_city, run_virtual
from simulation.geo.boundaries import cached_boundaries
from simulation.geo.placement import CityGeometry
from simulation.report.build import VOLATILE_KEYS, build_report
from simulation.scenario import LoadedScenario, ScenarioError
from tests.support.scenarios import TOPOLOGY as TOPOLOGY_PATH
from tests.support.scenarios import base_scenario, load, merged, write_scenario

YUZHONG, JIANGBEI = "500103", "500105"
TOPOLOGY = {"geometry": True, "districts": [YUZHONG, JIANGBEI], "towns_per_district": None}


def _write(path: Path, geometry: Any) -> str:
    path.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": geometry}))
    return path.name


def _placed(loaded: LoadedScenario) -> CityGeometry:
    geometry = build_city(loaded).geometry
    assert isinstance(geometry, CityGeometry)
    return geometry


@pytest.fixture(scope="module")
def yuzhong_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("areas")
    loaded = load(folder, topology=TOPOLOGY)
    assert loaded.topology.boundaries is not None
    codes = tuple(d.code for d in loaded.topology.districts)
    outline = cached_boundaries(loaded.topology.boundaries, codes).polygon(YUZHONG)
    path = folder / "yuzhong.geojson"
    _write(path, mapping(outline))
    return path


def test_a_district_outline_alerts_exactly_its_towns(yuzhong_file: Path) -> None:
    loaded = load(
        yuzhong_file.parent,
        topology=TOPOLOGY,
        hazard={"areas": {"files": [yuzhong_file.name]}},
    )
    city = build_city(loaded)
    yuzhong = {t.code for t in city.district(YUZHONG).towns}
    assert city.alert_towns == yuzhong
    result = run_virtual(loaded)
    assert {r.district for r in result.records} == {YUZHONG}
    assert {r.town for r in result.records if r.tier != "district"} == yuzhong
    assert [a["districts"] for a in result.alerts] == [1]
    report = build_report(result)
    assert report["hazard_area"]["files"] == [yuzhong_file.name]
    assert [d["code"] for d in report["by_district"]] == [YUZHONG]


def test_a_drawn_box_over_part_of_a_district_alerts_the_towns_inside(tmp_path: Path) -> None:
    topology = {**TOPOLOGY, "districts": [JIANGBEI]}
    places = _placed(load(tmp_path, topology=topology))
    jiangbei = sorted(places.towns, key=lambda c: places.town_point(c)[0])
    assert len(jiangbei) > 6
    # the four westernmost towns of Jiangbei, counted by hand from their longitudes
    cut = (places.town_point(jiangbei[3])[0] + places.town_point(jiangbei[4])[0]) / 2
    drawn = box(106.0, 29.0, cut, 30.0)
    inside = set(jiangbei[:4])
    name = _write(tmp_path / "drawn.geojson", mapping(drawn))
    loaded = load(tmp_path, topology=topology, hazard={"areas": {"files": [name]}})
    result = run_virtual(loaded)
    assert {r.town for r in result.records if r.tier != "district"} == inside
    assert {r.district for r in result.records} == {JIANGBEI}
    # the same scenario and seed alert the same towns, figure for figure
    again = build_report(run_virtual(loaded))
    first = build_report(result)
    for key in VOLATILE_KEYS:
        first.pop(key), again.pop(key)
    assert first == again


def test_a_cap_circle_and_geocodes_in_the_scenario(tmp_path: Path) -> None:
    places = _placed(load(tmp_path, topology=TOPOLOGY))
    town = sorted(c for c in places.towns if c.startswith(JIANGBEI))[0]
    lon, lat = places.town_point(town)
    area = {"circles": [f"{lat},{lon} 0.05"], "geocodes": [YUZHONG]}
    loaded = load(tmp_path, topology=TOPOLOGY, hazard={"areas": area})
    city = build_city(loaded)
    assert city.alert_towns == {town} | {t.code for t in city.district(YUZHONG).towns}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"topology": {"geometry": False}, "hazard": {"areas": {"geocodes": [YUZHONG]}}},
            "scenario.hazard.areas: expected topology.geometry: true",
        ),
        (
            {"hazard": {"areas": {"files": ["missing.geojson"]}}},
            "scenario.hazard.areas: .*missing.geojson: expected a readable file",
        ),
        (
            {"hazard": {"areas": {"geocodes": ["500101", "500105999"]}}},
            r"expected codes of the run's districts and towns, got \['500101', '500105999'\]",
        ),
        (
            {"hazard": {"areas": {"circles": ["29.5 106.5 3"]}}},
            r"scenario.hazard.areas.circles\[0\]: expected string should match pattern",
        ),
        (
            {"hazard": {"areas": {"polygons": [[[29.5, 106.4], [29.6, 106.4], [29.6, 106.5]]]}}},
            r"scenario.hazard.areas.polygons\[0\]: expected list should have at least 4 items",
        ),
        ({"hazard": {"areas": {}}}, "expected at least one of files, polygons, circles"),
    ],
)
def test_bad_areas_are_one_line_errors(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    data = merged(base_scenario(), merged({"topology": TOPOLOGY}, overrides))
    from simulation.scenario import load_scenario

    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(write_scenario(tmp_path, data))
    assert len(info.value.errors) == 1


def test_run_area_alerts_the_towns_inside_the_file(tmp_path: Path, yuzhong_file: Path) -> None:
    scenario = write_scenario(tmp_path, merged(base_scenario(), {"topology": TOPOLOGY}))
    out = tmp_path / "out"
    argv = ["run", str(scenario), "--out", str(out), "--quiet", "--area", str(yuzhong_file)]
    argv += ["--replications", "1"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [d["code"] for d in report["by_district"]] == [YUZHONG]
    assert report["hazard_area"]["files"] == [str(yuzhong_file.resolve())]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "only to the towns inside a drawn area (1 GeoJSON file(s), towns selected by point)" in (
        page
    )


def test_run_area_needs_geometry(tmp_path: Path, yuzhong_file: Path) -> None:
    data = merged(base_scenario(), {"topology": {"geometry": False}})
    scenario = write_scenario(tmp_path, data)
    argv = ["run", str(scenario), "--out", str(tmp_path / "out"), "--area", str(yuzhong_file)]
    argv += ["--replications", "1"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert result.output.strip().startswith(
        "--area: expected a scenario with topology.geometry: true"
    )
    assert len(result.output.strip().splitlines()) <= 2  # one line, however the terminal wraps


def test_area_files_are_confined_and_never_a_device(tmp_path: Path, yuzhong_file: Path) -> None:
    from simulation.geo.areas import AreaError, read_area_file
    from simulation.scenario import load_scenario

    with pytest.raises(AreaError, match=r"/dev/zero: expected a regular file"):
        read_area_file(Path("/dev/zero"))
    # what `alertsim serve` passes: files outside its roots are refused, naming the field
    inside = tmp_path / "inside"
    inside.mkdir()
    area = {"files": [str(yuzhong_file)]}
    data = merged(base_scenario(), {"topology": TOPOLOGY, "hazard": {"areas": area}})
    scenario = write_scenario(inside, data)
    roots = [inside, Path(TOPOLOGY_PATH).parents[1]]
    with pytest.raises(ScenarioError, match=r"scenario.hazard.areas.files\[0\]: expected a path"):
        load_scenario(scenario, roots=roots)
    assert load_scenario(scenario).scenario.hazard.areas is not None  # the command line reads it
