"""Hourly station observations as CMA exports them (CSV): the stations and their hours in a window.

The header names the columns as the China Meteorological Administration's data service does
(case aside; other columns are ignored): `Station_Id_C` (or `Station_Id_d`), `Lat`, `Lon`
(decimal degrees), `Year`, `Mon`, `Day`, `Hour`, `PRE_1h` (mm). `PRE_1h` at hour H is the rain
of the hour that ends at H, so step k of the scenario (0-based), from `start + k h` to
`start + (k + 1) h`, takes the reading labelled `start + (k + 1) h`. Hours are compared as
written: `start` is on the file's clock (UTC in CMA's service).

CMA's special values: 999990 and 32700 mean trace (under 0.1 mm) and are read as 0 mm (counted);
999999, 999998, 32766 and an empty cell mean missing. A station with no row at all in the window
takes no part; one with some rows lacks the others (missing). A malformed row, a second reading
for one station and hour, or a station whose position moves by more than 0.01 degree is an
error whatever `on_bad` says.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from simulation.rainfall.readings import RainfallError, Repairs, bad_kind

__all__ = ["COLUMNS", "Locate", "Station", "StationTable", "read_stations"]

# our name -> the header names accepted (lower case)
COLUMNS: Final = {
    "id": ("station_id_c", "station_id_d"),
    "lat": ("lat",),
    "lon": ("lon",),
    "year": ("year",),
    "month": ("mon",),
    "day": ("day",),
    "hour": ("hour",),
    "rain": ("pre_1h",),
}
_TIME: Final = {"year": "Year", "month": "Mon", "day": "Day", "hour": "Hour"}
TRACE: Final = frozenset({999990.0, 32700.0})
MISSING: Final = frozenset({999999.0, 999998.0, 32766.0})
MAX_MOVE_DEG: Final = 0.01
MAX_ERRORS: Final = 10


@dataclass(frozen=True, slots=True)
class Station:
    id: str
    lon: float
    lat: float
    line: int  # where it first appears


# stations -> station id -> district code, None outside the city
Locate = Callable[[Sequence[Station]], dict[str, str | None]]


@dataclass(frozen=True, slots=True)
class StationTable:
    """The stations with a row in the window, and their good readings (None: left out)."""

    path: str
    stations: dict[str, Station]
    readings: dict[str, list[float | None]]
    districts: dict[str, str]  # station -> the district it is in


def read_stations(
    path: Path, start: datetime, steps: int, locate: Locate, repairs: Repairs
) -> StationTable:
    """Read the window's readings; bad ones become None and are recorded in `repairs`.

    `locate` gives each station's district (None: outside the city); a station outside is left
    out whole (counted once), before its hours are looked at.
    """
    where = str(path)
    window = {start + timedelta(hours=k + 1): k for k in range(steps)}
    stations: dict[str, Station] = {}
    seen: dict[str, list[int]] = {}  # station -> line of each step's reading (0: none)
    raw: dict[str, list[str]] = {}
    problems: list[str] = []
    for line, cells in _rows(path, problems):
        try:
            station, hour = _station_and_hour(cells, line, where, stations)
        except RainfallError as exc:
            problems.extend(exc.problems)
            if len(problems) >= MAX_ERRORS:
                break
            continue
        k = window.get(hour)
        if k is None:
            continue
        lines = seen.setdefault(station, [0] * steps)
        if lines[k]:
            problems.append(
                f"{where}:{line}: station {station} at {hour:%Y-%m-%d %H:00}: expected one "
                f"reading per station and hour, got a second (the first on line {lines[k]})"
            )
            continue
        lines[k] = line
        raw.setdefault(station, [""] * steps)[k] = cells["rain"]
    if problems:
        raise RainfallError(problems[:MAX_ERRORS])
    if not seen:
        raise RainfallError(
            [f"{where}: expected readings for the hours after {start:%Y-%m-%d %H:00}, got none"]
        )
    absent = len(stations) - len(seen)
    if absent:
        repairs.note("stations with no reading in the window (not used)", absent)
    districts: dict[str, str] = {}
    for sid, code in locate([stations[sid] for sid in sorted(seen)]).items():
        if code is None:
            s = stations[sid]
            repairs.leave_out(
                "outside the city", f"{where}:{s.line}: station {sid} at {s.lat}, {s.lon}"
            )
        else:
            districts[sid] = code
    if not districts:
        raise RainfallError([f"{where}: expected stations inside the city, got none"])
    readings = {
        sid: _readings(sid, raw[sid], seen[sid], start, where, repairs) for sid in districts
    }
    kept = {sid: stations[sid] for sid in districts}
    return StationTable(path=where, stations=kept, readings=readings, districts=districts)


def _rows(path: Path, problems: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    where = str(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise RainfallError([f"{where}: expected a readable CSV file, got {exc.strerror}"]) from exc
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise RainfallError([f"{where}: expected a header row, got an empty file"]) from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise RainfallError([f"{where}:1: expected CSV text, got {exc}"]) from exc
        index = _columns(header, where)
        try:
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) < len(header):
                    problems.append(
                        f"{where}:{reader.line_num}: expected {len(header)} columns, got {len(row)}"
                    )
                    continue
                yield reader.line_num, {name: row[i].strip() for name, i in index.items()}
        except (csv.Error, UnicodeDecodeError) as exc:
            raise RainfallError([f"{where}:{reader.line_num}: expected CSV, got {exc}"]) from exc


def _columns(header: list[str], where: str) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    index: dict[str, int] = {}
    for ours, accepted in COLUMNS.items():
        found = [i for i, n in enumerate(names) if n in accepted]
        if not found:
            raise RainfallError(
                [
                    f"{where}:1: expected a column {' or '.join(accepted)} (CMA surface hourly "
                    f"columns), got {', '.join(header)}"
                ]
            )
        index[ours] = found[0]
    return index


def _station_and_hour(
    cells: dict[str, str], line: int, where: str, stations: dict[str, Station]
) -> tuple[str, datetime]:
    sid = cells["id"]
    if not sid:
        raise RainfallError([f"{where}:{line}: station id: expected an id, got an empty cell"])
    try:
        year, month, day, hour = (_integer(cells[c], shown) for c, shown in _TIME.items())
        at = datetime(year, month, day, hour)
        lat, lon = _degrees(cells["lat"], "Lat", 90), _degrees(cells["lon"], "Lon", 180)
    except ValueError as exc:
        raise RainfallError([f"{where}:{line}: {exc}"]) from None
    known = stations.get(sid)
    if known is None:
        stations[sid] = Station(sid, lon, lat, line)
    elif abs(known.lat - lat) > MAX_MOVE_DEG or abs(known.lon - lon) > MAX_MOVE_DEG:
        raise RainfallError(
            [
                f"{where}:{line}: station {sid}: expected it where line {known.line} puts it "
                f"({known.lat}, {known.lon}), got ({lat}, {lon})"
            ]
        )
    return sid, at


def _integer(text: str, column: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column}: expected an integer, got {text!r}") from None
    if not value.is_integer():
        raise ValueError(f"{column}: expected an integer, got {text!r}")
    return int(value)


def _degrees(text: str, column: str, limit: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column}: expected decimal degrees, got {text!r}") from None
    if not -limit <= value <= limit:
        raise ValueError(f"{column}: expected decimal degrees within +-{limit:g}, got {text!r}")
    return value


def _readings(
    sid: str, cells: list[str], lines: list[int], start: datetime, where: str, repairs: Repairs
) -> list[float | None]:
    out: list[float | None] = []
    for k, (text, line) in enumerate(zip(cells, lines, strict=True)):
        hour = start + timedelta(hours=k + 1)
        place = f"station {sid} at {hour:%Y-%m-%d %H:00}"
        if not line:
            repairs.leave_out("missing", f"{place} (no row)")
            out.append(None)
            continue
        value = _rain(text)
        if value is not None and value in TRACE:
            repairs.note("trace readings taken as 0 mm")
            out.append(0.0)
            continue
        if value is not None and value in MISSING:
            value = None
        kind = bad_kind(value, 1.0)
        if kind is not None:
            repairs.leave_out(kind, f"{where}:{line}: {place}: PRE_1h {text or '(empty)'}")
            out.append(None)
        else:
            out.append(value)
    return out


def _rain(text: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return float("inf")  # not a number at all: reported as absurd, with the text
