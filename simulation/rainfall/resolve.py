"""A scenario's `hazard.rainfall_source` -> the rainfall per district the hazard model reads.

The loader calls `resolve` once, with the district boundaries, and puts the result in
`hazard.rainfall_mm` (one series per district of the topology, so a `districts` subset or a
sweep never meets a district without one); the provenance (file, sha256, method, what each
district's series came from, what was left out) goes with the loaded scenario for reports.
Station data is hourly, so the hazard's `step_s` must be 3600; a grid's steps are `step_s`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from simulation.extras import require
from simulation.geo.boundaries import Boundaries
from simulation.rainfall.readings import Provenance, RainfallError, Repairs
from simulation.scenario.schema import GridRainfall, Hazard, StationRainfall

__all__ = ["resolve"]

_FIELD = "scenario.hazard.rainfall_source"
_HINT = (
    f"fix the data, or set {_FIELD}.on_bad: skip to leave such values out (counted and reported)"
)


def resolve(
    hazard: Hazard, base: Path, boundaries: Boundaries, codes: Sequence[str]
) -> tuple[dict[str, list[float]], Provenance]:
    """The series per district read from the hazard's rainfall source; RainfallError if bad."""
    source = hazard.rainfall_source
    if source is None:
        raise ValueError("resolve: the hazard has no rainfall_source")
    path = (base / source.path).resolve()
    try:
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise RainfallError(
            [f"{_FIELD}.path: expected a readable file, got {source.path!r} ({exc.strerror})"]
        ) from exc
    repairs = Repairs()
    if isinstance(source, StationRainfall):
        series, sources, method = _stations(source, path, hazard.step_s, boundaries, codes, repairs)
    else:
        series, sources, method = _grid(source, path, hazard.step_s, boundaries, codes, repairs)
    provenance = Provenance(
        kind=source.kind,
        path=source.path,
        sha256=sha256,
        method=method,
        steps=source.steps,
        step_s=hazard.step_s,
        sources=sources,
        repairs=tuple(repairs.lines()),
    )
    return series, provenance


def _stations(
    source: StationRainfall,
    path: Path,
    step_s: float,
    boundaries: Boundaries,
    codes: Sequence[str],
    repairs: Repairs,
) -> tuple[dict[str, list[float]], dict[str, str], str]:
    from simulation.rainfall.assign import district_series, locate
    from simulation.rainfall.stations import Station, read_stations

    if step_s != 3600:
        raise RainfallError(
            [f"scenario.hazard.step_s: expected 3600 for hourly station data, got {step_s:g}"]
        )

    def located(stations: Sequence[Station]) -> dict[str, str | None]:
        return locate(stations, boundaries)

    table = read_stations(path, source.start, source.steps, located, repairs)
    _check(source.on_bad, repairs, str(path))
    series, sources = district_series(table, boundaries, codes, source.assign, repairs)
    method = (
        "inverse distance within each district" if source.assign == "idw" else "nearest station"
    )
    return series, sources, f"{method}, {len(table.stations)} stations"


def _grid(
    source: GridRainfall,
    path: Path,
    step_s: float,
    boundaries: Boundaries,
    codes: Sequence[str],
    repairs: Repairs,
) -> tuple[dict[str, list[float]], dict[str, str], str]:
    require("netcdf", f"{_FIELD}.kind: grid")
    from simulation.rainfall.gridded import district_means

    series, sources = district_means(
        path, source.start, source.steps, step_s, source.variable, boundaries, codes, repairs
    )
    _check(source.on_bad, repairs, str(path))
    return series, sources, "area-weighted mean of the cells over each district"


def _check(on_bad: str, repairs: Repairs, where: str) -> None:
    if on_bad == "error" and repairs.left_out:
        raise RainfallError(repairs.problems(where, _HINT))
