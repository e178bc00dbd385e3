"""Rainfall from a NetCDF precipitation grid: area means per district, the warnings of typed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from simulation.hazards import HazardModel
from simulation.scenario import Hazard, LoadedScenario, ScenarioError, load_scenario
from tests.support.scenarios import base_scenario, merged, write_scenario

START = datetime(2021, 7, 20, 0)
CODES = ("500103", "500237")  # Yuzhong (106.5 E), Wushan (109.9 E)
WEST = [20.0, 40.0, 45.0, 10.0]  # red after 3 h
EAST = [5.0, 15.0, 15.0, 15.0]  # yellow after 4 h (50 mm in 6 h, 45 in 3)
LAT = np.round(np.arange(28.0, 32.45, 0.1), 2)
LON = np.round(np.arange(105.2, 110.35, 0.1), 2)


def write_grid(
    path: Path, field: np.ndarray[Any, Any], units: str = "mm", hours: int = 4, name: str = "pre"
) -> Path:
    times = [START + timedelta(hours=k + 1) for k in range(hours)]
    data = xr.DataArray(
        field, dims=("time", "lat", "lon"), coords={"time": times, "lat": LAT, "lon": LON}
    )
    data.attrs["units"] = units
    xr.Dataset({name: data, "crs": xr.DataArray(0)}).to_netcdf(path)
    return path


def split_field() -> np.ndarray[Any, Any]:
    """WEST rain west of 108 E, EAST rain east of it."""
    west = LON[None, None, :] < 108.0
    hourly_west = np.array(WEST)[:, None, None]
    hourly_east = np.array(EAST)[:, None, None]
    return np.where(west, hourly_west, hourly_east) * np.ones((4, LAT.size, LON.size))


def scenario(tmp_path: Path, **source: Any) -> LoadedScenario:
    data = merged(base_scenario(), {"topology": {"districts": list(CODES)}})
    data["hazard"] = {
        "rainfall_source": {
            "kind": "grid",
            "path": "rain.nc",
            "start": START.isoformat(),
            "steps": 4,
            **source,
        },
        "alert_level": "blue",
        "scope": "district",
    }
    return load_scenario(write_scenario(tmp_path, data))


def test_grid_rainfall_gives_the_warnings_of_the_same_totals_typed(tmp_path: Path) -> None:
    write_grid(tmp_path / "rain.nc", split_field())
    loaded = scenario(tmp_path)
    read = loaded.scenario.hazard
    assert read.rainfall_mm["500103"] == WEST
    assert read.rainfall_mm["500237"] == EAST
    typed = Hazard(rainfall_mm={"500103": WEST, "500237": EAST}, alert_level="blue")
    warnings = HazardModel(read, CODES).warnings()
    assert warnings == HazardModel(typed, CODES).warnings()
    assert [w.level for w in warnings] == ["orange", "red", "yellow"]
    assert loaded.rainfall is not None
    assert loaded.rainfall.kind == "grid"
    assert loaded.rainfall.repairs == ()


def test_a_district_across_the_split_gets_the_area_weighted_mean(tmp_path: Path) -> None:
    write_grid(tmp_path / "rain.nc", split_field())
    mm = scenario(tmp_path).scenario.hazard.rainfall_mm["500230"]  # Fengdu, on both sides of 108
    for k in range(4):
        assert min(WEST[k], EAST[k]) < mm[k] < max(WEST[k], EAST[k])


@pytest.mark.parametrize(("units", "factor"), [("m", 1e-3), ("mm/h", 1.0), ("kg m-2", 1.0)])
def test_units_are_converted_to_mm_per_step(tmp_path: Path, units: str, factor: float) -> None:
    write_grid(tmp_path / "rain.nc", split_field() * factor, units=units)
    assert scenario(tmp_path).scenario.hazard.rainfall_mm["500103"] == pytest.approx(WEST)


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda p: write_grid(p, split_field(), units="inches"), r"pre.units: expected one of mm"),
        (
            lambda p: write_grid(p, split_field()[:3], hours=3),
            r"expected a value for 2021-07-20T04",
        ),
        (
            lambda p: write_grid(p, split_field(), name="x", units="mm"),
            r"expected a variable 'pre'",
        ),
    ],
)
def test_a_grid_that_cannot_be_read_as_rain_is_an_error(
    tmp_path: Path, spoil: Any, message: str
) -> None:
    spoil(tmp_path / "rain.nc")
    with pytest.raises(ScenarioError, match=message):
        scenario(tmp_path, variable="pre")


def test_a_grid_that_misses_a_district_is_an_error(tmp_path: Path) -> None:
    field = split_field()
    data = xr.DataArray(
        field[:, :, :20],
        dims=("time", "lat", "lon"),
        coords={
            "time": [START + timedelta(hours=k + 1) for k in range(4)],
            "lat": LAT,
            "lon": LON[:20],
        },
        attrs={"units": "mm"},
    )
    xr.Dataset({"pre": data}).to_netcdf(tmp_path / "rain.nc")
    with pytest.raises(ScenarioError, match=r"expected the grid to cover every district, got 0%"):
        scenario(tmp_path)


def _spoiled(value: float) -> np.ndarray[Any, Any]:
    field = split_field()
    j = int(np.argmin(np.abs(LAT - 29.55)))
    i = int(np.argmin(np.abs(LON - 106.55)))
    field[1, j, i] = value  # the cell over Yuzhong, hour 2
    return field


@pytest.mark.parametrize(
    ("value", "kind"), [(np.nan, "missing"), (-3.0, "negative"), (900.0, "absurd")]
)
def test_bad_cells_are_an_error_or_left_out_and_counted(
    tmp_path: Path, value: float, kind: str
) -> None:
    write_grid(tmp_path / "rain.nc", _spoiled(value))
    with pytest.raises(
        ScenarioError, match=rf"expected no {kind} values, got \d+: district 5001\d\d"
    ):
        scenario(tmp_path)
    loaded = scenario(tmp_path, on_bad="skip")
    assert loaded.rainfall is not None
    # counted once for each district the cell lies over
    repairs = " | ".join(loaded.rainfall.repairs)
    assert re.search(rf"left out \d+ {kind} values", repairs)
    assert "district-steps averaged over fewer cells: " in repairs
    assert loaded.scenario.hazard.rainfall_mm["500103"] == WEST  # the other cells are WEST too
