"""Rainfall from hourly station observations: the same warnings as the same totals typed."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from simulation.cli import app
from simulation.experiment.virtual import run_virtual
from simulation.geo.boundaries import Boundaries, load_boundaries
from simulation.hazards import HazardModel
from simulation.scenario import Hazard, LoadedScenario, ScenarioError, load_scenario
from tests.support.scenarios import TOPOLOGY, base_scenario, merged, write_scenario

START = datetime(2020, 8, 10, 0)
CODES = ("500101", "500103", "500229")  # Wanzhou, Yuzhong, Chengkou
TYPED = {  # mm per hour: Wanzhou turns red, Yuzhong orange, Chengkou yellow (51 mm in 6 h)
    "500101": [10.0, 45.0, 50.0, 12.0, 0.0, 0.0],
    "500103": [20.0, 20.0, 15.0, 30.0, 40.0, 0.0],
    "500229": [8.0, 8.0, 9.0, 9.0, 9.0, 8.0],
}
HEADER = ["Station_Id_C", "Lat", "Lon", "Year", "Mon", "Day", "Hour", "PRE_1h", "TEM"]
Row = tuple[str, float, float, datetime, str]


@pytest.fixture(scope="module")
def boundaries() -> Boundaries:
    return load_boundaries(TOPOLOGY.parent / "../geo/chongqing-districts.geojson", CODES)


def inside(boundaries: Boundaries, code: str, east_deg: float = 0.0) -> tuple[float, float]:
    """(lat, lon) of a point inside the district (moved east by `east_deg` if still inside)."""
    point = boundaries.polygon(code).representative_point()
    return point.y, point.x + east_deg


def write_csv(path: Path, rows: Sequence[Row], header: Sequence[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        for station, lat, lon, at, mm in rows:
            out.writerow([station, lat, lon, at.year, at.month, at.day, at.hour, mm, "25.1"])
    return path


def station_rows(station: str, where: tuple[float, float], series: Sequence[float]) -> list[Row]:
    return [
        (station, *where, START + timedelta(hours=k + 1), f"{mm:g}") for k, mm in enumerate(series)
    ]


def typed_rows(boundaries: Boundaries) -> list[Row]:
    rows: list[Row] = []
    for i, code in enumerate(CODES):
        rows += station_rows(f"5751{i}", inside(boundaries, code), TYPED[code])
    # hours outside the window are ignored; the window is hours 1..6 after START
    rows.append(("57510", *inside(boundaries, "500101"), START, "99"))
    rows.append(("57510", *inside(boundaries, "500101"), START + timedelta(hours=9), "99"))
    return rows


def scenario(tmp_path: Path, rows: Sequence[Row], **source: Any) -> LoadedScenario:
    write_csv(tmp_path / "stations.csv", rows)
    hazard = {
        "rainfall_source": {
            "kind": "stations",
            "path": "stations.csv",
            "start": START.isoformat(),
            "steps": 6,
            **source,
        },
        "alert_level": "blue",
        "scope": "district",
    }
    data = merged(base_scenario(), {"topology": {"districts": list(CODES)}})
    data["hazard"] = hazard
    return load_scenario(write_scenario(tmp_path, data))


@pytest.mark.parametrize("assign", ["idw", "nearest"])
def test_station_rainfall_gives_the_warnings_of_the_same_totals_typed(
    tmp_path: Path, boundaries: Boundaries, assign: str
) -> None:
    loaded = scenario(tmp_path, typed_rows(boundaries), assign=assign)
    read = loaded.scenario.hazard
    assert read.rainfall_source is None
    assert {c: read.rainfall_mm[c] for c in CODES} == TYPED
    typed = Hazard(rainfall_mm=TYPED, alert_level="blue", scope="district")
    from_data = HazardModel(read, CODES).warnings()
    assert from_data == HazardModel(typed, CODES).warnings()
    assert {w.level for w in from_data} == {"yellow", "orange", "red"}
    assert loaded.rainfall is not None
    assert loaded.rainfall.sources["500103"] == "57511 1.00"


def test_a_run_on_station_rainfall_is_the_run_on_the_same_totals_typed(
    tmp_path: Path, boundaries: Boundaries
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    from_data = run_virtual(scenario(tmp_path / "a", typed_rows(boundaries)))
    data = merged(base_scenario(), {"topology": {"districts": list(CODES)}})
    data["hazard"] = {"rainfall_mm": TYPED, "alert_level": "blue", "scope": "district"}
    by_hand = run_virtual(load_scenario(write_scenario(tmp_path / "b", data)))
    assert from_data.alerts == by_hand.alerts
    assert from_data.records == by_hand.records


@pytest.fixture
def two_in_yuzhong(boundaries: Boundaries) -> list[Row]:
    """Yuzhong with a station at its centre reading 10 mm an hour and one east reading 30."""
    rows: list[Row] = []
    for i, code in enumerate(CODES):
        rows += station_rows(f"5751{i}", inside(boundaries, code), TYPED[code])
    rows = [r for r in rows if r[0] != "57511"]
    centre = boundaries.polygon("500103").centroid
    rows += station_rows("A", (centre.y, centre.x), [10.0] * 6)
    rows += station_rows("B", (centre.y + 0.004, centre.x + 0.03), [30.0] * 6)
    return rows


def test_idw_weighs_the_stations_inside_the_district_by_closeness(
    tmp_path: Path, two_in_yuzhong: list[Row], boundaries: Boundaries
) -> None:
    assert boundaries.district_of(two_in_yuzhong[-1][2], two_in_yuzhong[-1][1]) == "500103"
    loaded = scenario(tmp_path, two_in_yuzhong)
    mm = loaded.scenario.hazard.rainfall_mm["500103"]
    assert len(set(mm)) == 1
    assert 10.0 < mm[0] < 30.0
    assert loaded.rainfall is not None
    weights = dict(part.split() for part in loaded.rainfall.sources["500103"].split(", "))
    assert set(weights) == {"A", "B"}
    assert sum(float(w) for w in weights.values()) == pytest.approx(1.0, abs=0.01)


def test_nearest_takes_the_station_nearest_the_centre(
    tmp_path: Path, two_in_yuzhong: list[Row]
) -> None:
    loaded = scenario(tmp_path, two_in_yuzhong, assign="nearest")
    assert loaded.scenario.hazard.rainfall_mm["500103"] == [10.0] * 6


# --------------------------------------------------------------------------- bad data


def _with(rows: list[Row], station: str, hour: int, mm: str | None) -> list[Row]:
    """`rows` with one station's reading at hour `hour` (1-based) replaced, or dropped (None)."""
    at = START + timedelta(hours=hour)
    out = [r for r in rows if not (r[0] == station and r[3] == at)]
    if mm is not None:
        station_row = next(r for r in rows if r[0] == station)
        out.append((station, station_row[1], station_row[2], at, mm))
    return out


BAD = [
    ("missing values", lambda rows: _with(rows, "57511", 3, None), r"no row"),
    ("missing values", lambda rows: _with(rows, "57511", 3, "999999"), r"PRE_1h 999999"),
    ("missing values", lambda rows: _with(rows, "57511", 3, ""), r"PRE_1h \(empty\)"),
    ("negative values", lambda rows: _with(rows, "57511", 3, "-1.5"), r"PRE_1h -1.5"),
    ("absurd values", lambda rows: _with(rows, "57511", 3, "412"), r"PRE_1h 412"),
    (
        "stations outside the city",
        lambda rows: [*rows, ("54511", 39.93, 116.28, START + timedelta(hours=1), "0")],
        r"54511",
    ),
]


@pytest.mark.parametrize(("kind", "spoil", "shown"), BAD)
def test_bad_data_is_an_error_that_names_it_and_the_way_out(
    tmp_path: Path, boundaries: Boundaries, kind: str, spoil: Any, shown: str
) -> None:
    rows = spoil(typed_rows(boundaries))
    with pytest.raises(ScenarioError) as info:
        scenario(tmp_path, rows)
    text = str(info.value)
    assert f"expected no {kind}, got 1" in text
    assert "stations.csv" in text
    assert "on_bad: skip" in text
    assert re.search(shown, text)


@pytest.mark.parametrize(("kind", "spoil", "shown"), BAD)
def test_with_skip_bad_data_is_left_out_counted_and_reported(
    tmp_path: Path, boundaries: Boundaries, kind: str, spoil: Any, shown: str
) -> None:
    loaded = scenario(tmp_path, spoil(typed_rows(boundaries)), on_bad="skip")
    assert loaded.rainfall is not None
    assert any(line.startswith(f"left out 1 {kind}") for line in loaded.rainfall.repairs)
    yuzhong = loaded.scenario.hazard.rainfall_mm["500103"]
    if kind != "stations outside the city":
        # Yuzhong's only station lacks hour 3: the next-nearest station stands in, counted (for
        # every district that station serves)
        assert any(
            line.startswith("district-hours from the next-nearest station: ")
            for line in loaded.rainfall.repairs
        )
        assert yuzhong[2] in (TYPED["500101"][2], TYPED["500229"][2])
        assert yuzhong[:2] + yuzhong[3:] == TYPED["500103"][:2] + TYPED["500103"][3:]
    else:
        assert yuzhong == TYPED["500103"]


def test_trace_is_read_as_zero_and_counted(tmp_path: Path, boundaries: Boundaries) -> None:
    rows = _with(typed_rows(boundaries), "57511", 3, "999990")
    loaded = scenario(tmp_path, rows)
    assert loaded.scenario.hazard.rainfall_mm["500103"][2] == 0.0
    assert loaded.rainfall is not None
    assert "trace readings taken as 0 mm: 1" in loaded.rainfall.repairs


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("header", r"expected a column pre_1h"),
        ("duplicate", r"expected one reading per station and hour, got a second"),
        ("moved", r"station 57511: expected it where line"),
        ("hour", r"Hour: expected an integer, got 'x'"),
    ],
)
def test_malformed_files_are_errors_whatever_on_bad_says(
    tmp_path: Path, boundaries: Boundaries, change: str, message: str
) -> None:
    rows = typed_rows(boundaries)
    path = tmp_path / "stations.csv"
    if change == "duplicate":
        rows.append(rows[7])
    if change == "moved":
        first = next(r for r in rows if r[0] == "57511")
        rows.append(("57511", first[1] + 0.5, first[2], START + timedelta(hours=30), "1"))
    if change == "header":
        write_csv(path, rows, [h if h != "PRE_1h" else "RAIN" for h in HEADER])
    elif change == "hour":
        write_csv(path, rows)
        text = path.read_text(encoding="utf-8").splitlines()
        cells = text[3].split(",")
        cells[6] = "x"
        text[3] = ",".join(cells)
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
    else:
        write_csv(path, rows)
    with pytest.raises(ScenarioError, match=message):
        _load_written(tmp_path, on_bad="skip")


def _load_written(tmp_path: Path, **source: Any) -> LoadedScenario:
    data = merged(base_scenario(), {"topology": {"districts": list(CODES)}})
    data["hazard"] = {
        "rainfall_source": {
            "kind": "stations",
            "path": "stations.csv",
            "start": START.isoformat(),
            "steps": 6,
            **source,
        }
    }
    return load_scenario(write_scenario(tmp_path, data))


def test_station_data_is_hourly_and_one_rainfall_is_given(
    tmp_path: Path, boundaries: Boundaries
) -> None:
    write_csv(tmp_path / "stations.csv", typed_rows(boundaries))
    source = {"kind": "stations", "path": "stations.csv", "start": START.isoformat(), "steps": 6}
    data = base_scenario()
    data["hazard"] = {"step_s": 1800, "rainfall_source": source}
    with pytest.raises(ScenarioError, match=r"step_s: expected 3600 for hourly station data"):
        load_scenario(write_scenario(tmp_path, data))
    data["hazard"] = {"rainfall_source": source, "rainfall_mm": {"default": [1]}}
    with pytest.raises(ScenarioError, match=r"scenario.hazard: expected rainfall_mm .* got both"):
        load_scenario(write_scenario(tmp_path, data))
    data["hazard"] = {"step_s": 3600}
    with pytest.raises(ScenarioError, match=r"got neither"):
        load_scenario(write_scenario(tmp_path, data))


def test_validate_reports_where_the_rain_came_from_and_what_was_left_out(
    tmp_path: Path, boundaries: Boundaries
) -> None:
    rows = _with(typed_rows(boundaries), "57511", 3, "-2")
    scenario(tmp_path, rows, on_bad="skip")  # writes the files
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "scenario.yaml")])
    assert result.exit_code == 0, result.output
    assert "rainfall: 6 steps of 3600 s from stations data stations.csv" in result.output
    assert "left out 1 negative values" in result.output


def test_report_json_says_where_the_rainfall_came_from(
    tmp_path: Path, boundaries: Boundaries
) -> None:
    import hashlib

    from simulation.geo.shapes import load_shapes
    from simulation.report.build import build_report
    from simulation.report.html import render_html

    loaded = scenario(tmp_path, typed_rows(boundaries))
    report = build_report(run_virtual(loaded))
    source = report["rainfall_source"]
    sha = hashlib.sha256((tmp_path / "stations.csv").read_bytes()).hexdigest()
    assert (source["kind"], source["sha256"], source["steps"]) == ("stations", sha, 6)
    assert source["sources"]["500103"] == "57511 1.00"
    assert list(source["sources"]) == sorted(source["sources"])
    assert loaded.rainfall is not None
    assert source["repairs"] == list(loaded.rainfall.repairs)
    # the rainfall map names each district's stations
    page = render_html(report, load_shapes())
    assert "; rain from 57511 1.00</title>" in page
