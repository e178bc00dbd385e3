"""Gridded precipitation (NetCDF, time x lat x lon) averaged over each district polygon.

Read with xarray (the `netcdf` extra). The variable is the one named, or the only one with a
time, a latitude and a longitude dimension (`time`; `lat` or `latitude`; `lon` or `longitude`).
Its `units` must say what a value is: an amount per step (`mm`, `kg m-2`, or `m`, as ERA5's
total precipitation) or a rate (`mm/h`, `mm h-1`), multiplied by the step's hours. Each time
label is the end of the step its value fell in: step k takes the label `start + (k + 1) step`,
and a label the file lacks is an error.

A district's value is the mean of the cells over it, each weighted by the area of the cell
inside the district polygon (exact intersection of the cell with the polygon, and cos(latitude)
for the cell's true area), so a district smaller than one cell still gets that cell's value.
Cells are the boxes halfway between neighbouring centres. The grid must cover at least
`MIN_COVER` of every district. A missing (NaN or fill value), negative or absurd value of a cell
over a district is an error or, with `on_bad: skip`, leaves the mean of the other cells for
that step (counted); with no cell left, an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import shapely
import xarray as xr

from simulation.geo.boundaries import Boundaries
from simulation.rainfall.readings import RainfallError, Repairs, bad_kind

__all__ = ["MIN_COVER", "UNITS", "district_means"]

MIN_COVER: Final = 0.95
# units attribute -> (factor to mm, whether it is a rate per hour)
UNITS: Final[dict[str, tuple[float, bool]]] = {
    "mm": (1.0, False),
    "millimeters": (1.0, False),
    "kg m-2": (1.0, False),
    "kg m**-2": (1.0, False),
    "kg/m2": (1.0, False),
    "kg/m^2": (1.0, False),
    "m": (1000.0, False),
    "mm/h": (1.0, True),
    "mm/hr": (1.0, True),
    "mm h-1": (1.0, True),
    "mm hr-1": (1.0, True),
}
_LAT: Final = ("lat", "latitude")
_LON: Final = ("lon", "longitude")


def district_means(
    path: Path,
    start: datetime,
    steps: int,
    step_s: float,
    variable: str | None,
    boundaries: Boundaries,
    codes: Sequence[str],
    repairs: Repairs,
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Rainfall per step for each district (mm), and how many cells each mean is over."""
    where = str(path)
    try:
        dataset = xr.open_dataset(path)
    except (OSError, ValueError) as exc:
        raise RainfallError(
            [f"{where}: expected a NetCDF file xarray can read, got {exc}"]
        ) from exc
    with dataset:
        values, lat, lon = _values(dataset, where, start, steps, step_s, variable)
    edges_lat, edges_lon = _edges(lat, where, "latitude"), _edges(lon, where, "longitude")
    series: dict[str, list[float]] = {}
    sources: dict[str, str] = {}
    for code in codes:
        rows, cols, weights = _cell_weights(boundaries, code, edges_lat, edges_lon, where)
        cells = values[:, rows, cols]  # steps x cells
        series[code] = _means(cells, weights, code, start, step_s, where, repairs)
        sources[code] = f"{len(weights)} cells"
    return series, sources


def _values(
    dataset: xr.Dataset,
    where: str,
    start: datetime,
    steps: int,
    step_s: float,
    variable: str | None,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    name = _variable(dataset, where, variable)
    data = dataset[name]
    lat_dim = next(d for d in data.dims if str(d).lower() in _LAT)
    lon_dim = next(d for d in data.dims if str(d).lower() in _LON)
    data = data.transpose("time", lat_dim, lon_dim)
    units = str(data.attrs.get("units", "")).strip()
    if units.lower() not in UNITS:
        raise RainfallError(
            [f"{where}: {name}.units: expected one of {', '.join(UNITS)}, got {units or 'none'!r}"]
        )
    factor, rate = UNITS[units.lower()]
    factor *= step_s / 3600.0 if rate else 1.0
    labels = _labels(data, where)
    wanted = [
        np.datetime64(start + timedelta(seconds=(k + 1) * step_s), "ns") for k in range(steps)
    ]
    index = []
    for k, label in enumerate(wanted):
        if label not in labels:
            raise RainfallError(
                [f"{where}: time: expected a value for {label} (the end of step {k}), got none"]
            )
        index.append(labels[label])
    values = np.asarray(data.isel(time=index).values, dtype=float) * factor
    lat = np.asarray(dataset[lat_dim].values, dtype=float)
    lon = np.asarray(dataset[lon_dim].values, dtype=float)
    return values, lat, lon


def _variable(dataset: xr.Dataset, where: str, variable: str | None) -> str:
    def gridded(name: str) -> bool:
        dims = {str(d).lower() for d in dataset[name].dims}
        return (
            len(dims) == 3 and "time" in dims and bool(dims & set(_LAT)) and bool(dims & set(_LON))
        )

    if variable is not None:
        if variable not in dataset.data_vars:
            found = ", ".join(str(v) for v in dataset.data_vars) or "none"
            raise RainfallError([f"{where}: expected a variable {variable!r}, got {found}"])
        if not gridded(variable):
            dims = ", ".join(str(d) for d in dataset[variable].dims)
            raise RainfallError(
                [f"{where}: {variable}: expected dimensions time, lat, lon, got {dims}"]
            )
        return variable
    candidates = [str(v) for v in dataset.data_vars if gridded(str(v))]
    if len(candidates) != 1:
        raise RainfallError(
            [
                f"{where}: expected one variable of time x lat x lon (or rainfall_source.variable)"
                f", got {', '.join(candidates) or 'none'}"
            ]
        )
    return candidates[0]


def _labels(data: xr.DataArray, where: str) -> dict[np.datetime64, int]:
    times = data["time"].values
    if not np.issubdtype(times.dtype, np.datetime64):
        raise RainfallError(
            [
                f"{where}: time: expected dates (CF units such as 'hours since ...'), "
                f"got {times.dtype}"
            ]
        )
    return {np.datetime64(t, "ns"): i for i, t in enumerate(times)}


def _edges(centres: np.ndarray[Any, Any], where: str, what: str) -> np.ndarray[Any, Any]:
    if centres.ndim != 1 or centres.size < 2:
        raise RainfallError(
            [f"{where}: {what}: expected at least 2 cell centres, got {centres.size}"]
        )
    step = np.diff(centres)
    if not (np.all(step > 0) or np.all(step < 0)):
        raise RainfallError([f"{where}: {what}: expected centres in order, got {centres[:4]}..."])
    middle = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[centres[0] - step[0] / 2], middle, [centres[-1] + step[-1] / 2]])


def _cell_weights(
    boundaries: Boundaries,
    code: str,
    edges_lat: np.ndarray[Any, Any],
    edges_lon: np.ndarray[Any, Any],
    where: str,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Rows, columns and area weights of the cells that overlap a district."""
    polygon = boundaries.polygon(code)
    lo_lat, hi_lat = (
        np.minimum(edges_lat[:-1], edges_lat[1:]),
        np.maximum(edges_lat[:-1], edges_lat[1:]),
    )
    lo_lon, hi_lon = (
        np.minimum(edges_lon[:-1], edges_lon[1:]),
        np.maximum(edges_lon[:-1], edges_lon[1:]),
    )
    x0, y0, x1, y1 = polygon.bounds
    rows = np.flatnonzero((hi_lat > y0) & (lo_lat < y1))
    cols = np.flatnonzero((hi_lon > x0) & (lo_lon < x1))
    r, c = (a.ravel() for a in np.meshgrid(rows, cols, indexing="ij"))
    boxes = shapely.box(lo_lon[c], lo_lat[r], hi_lon[c], hi_lat[r])
    overlap = shapely.area(shapely.intersection(boxes, polygon))
    cover = float(overlap.sum()) / polygon.area if polygon.area else 0.0
    if cover < MIN_COVER:
        raise RainfallError(
            [
                f"{where}: expected the grid to cover every district, got {cover:.0%} of "
                f"district {code}"
            ]
        )
    keep = overlap > 0
    centre_lat = (lo_lat[r] + hi_lat[r]) / 2
    weights = overlap * np.cos(np.radians(centre_lat))
    return r[keep], c[keep], weights[keep]


def _means(
    cells: np.ndarray[Any, Any],
    weights: np.ndarray[Any, Any],
    code: str,
    start: datetime,
    step_s: float,
    where: str,
    repairs: Repairs,
) -> list[float]:
    out = []
    step_h = step_s / 3600.0
    for k in range(cells.shape[0]):
        row = cells[k]
        bad = [bad_kind(float(v), step_h) for v in row]
        if any(bad):
            label = start + timedelta(seconds=(k + 1) * step_s)
            for kind, value in zip(bad, row, strict=True):
                if kind is not None:
                    repairs.leave_out(kind, f"district {code} at {label:%Y-%m-%d %H:%M}: {value}")
            good = np.array([b is None for b in bad])
            if not good.any():
                raise RainfallError(
                    [
                        f"{where}: district {code} at {label:%Y-%m-%d %H:%M}: expected a good "
                        "cell, got none"
                    ]
                )
            repairs.note("district-steps averaged over fewer cells")
            out.append(_mean(row[good], weights[good]))
            continue
        out.append(_mean(row, weights))
    return out


def _mean(row: np.ndarray[Any, Any], weights: np.ndarray[Any, Any]) -> float:
    # Rain even over a district gives exactly that value, not that value and a rounding error.
    if np.all(row == row[0]):
        return float(row[0])
    return float(np.sum(row * weights) / np.sum(weights))
