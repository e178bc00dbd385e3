"""Station readings -> one rainfall series per district, by location on the district boundaries.

A station belongs to the district whose polygon holds it, or to the nearest one within
`CITY_MARGIN_M` (the boundaries are simplified, and in GCJ-02 while stations are in WGS-84);
a station farther out is outside the city. Then, per district:

- `idw` (the default): the inverse-distance-weighted (power 2) rainfall surface of the stations
  inside the district, averaged over the district: each station's weight is its mean
  inverse-distance share over a lattice of about `LATTICE_POINTS` points inside the polygon.
  One station inside gives exactly its readings. A district with no station inside takes the
  station nearest its centre (counted).
- `nearest`: the readings of the station nearest the district's centre (its centroid, or a
  point inside it where the centroid falls outside), wherever that station is.

With `on_bad: skip`, a station left out for an hour drops out of that hour: the others' weights
are scaled up to sum to 1, and where none is left the next-nearest station in the city with a
reading for that hour stands in. Both are counted. No station at all: an error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final, Literal

import numpy as np
import shapely
from shapely.geometry import MultiPolygon

from simulation.geo.boundaries import METRES_PER_DEGREE, Boundaries, distance_m
from simulation.rainfall.readings import RainfallError, Repairs
from simulation.rainfall.stations import Station, StationTable

__all__ = ["CITY_MARGIN_M", "LATTICE_POINTS", "district_series", "locate"]

CITY_MARGIN_M: Final = 1_000.0
LATTICE_POINTS: Final = 400
_SAME_PLACE_M: Final = 1.0

Weights = list[tuple[str, float]]


def locate(stations: Sequence[Station], boundaries: Boundaries) -> dict[str, str | None]:
    """Station id -> the district it lies in (or within the margin of), None outside the city."""
    xs = np.array([s.lon for s in stations])
    ys = np.array([s.lat for s in stations])
    found: list[str | None] = [None] * len(stations)
    for code, polygon in boundaries.polygons.items():
        for i in np.flatnonzero(shapely.intersects_xy(polygon, xs, ys)).tolist():
            found[i] = found[i] or code
    for i, station in enumerate(stations):
        if found[i] is None:
            found[i] = boundaries.district_of(station.lon, station.lat, within_m=CITY_MARGIN_M)
    return {s.id: code for s, code in zip(stations, found, strict=True)}


def district_series(
    table: StationTable,
    boundaries: Boundaries,
    codes: Sequence[str],
    method: Literal["idw", "nearest"],
    repairs: Repairs,
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Rainfall per step for each district, and what each was computed from."""
    city = list(table.stations.values())
    series: dict[str, list[float]] = {}
    sources: dict[str, str] = {}
    for code in codes:
        polygon = boundaries.polygon(code)
        ranked = _ranked(city, _centre(polygon))
        inside = [s for s in city if table.districts[s.id] == code]
        if method == "nearest" or not inside:
            if method == "idw":
                repairs.note("districts with no station inside (nearest station used)")
            weights: Weights = [(ranked[0].id, 1.0)]
        else:
            weights = _idw_weights(inside, polygon)
        sources[code] = ", ".join(f"{sid} {w:.2f}" for sid, w in weights)
        series[code] = _series(code, weights, ranked, table, repairs)
    return series, sources


def _centre(polygon: MultiPolygon) -> tuple[float, float]:
    centroid = polygon.centroid
    point = centroid if polygon.covers(centroid) else polygon.representative_point()
    return point.x, point.y


def _ranked(stations: Sequence[Station], centre: tuple[float, float]) -> list[Station]:
    return sorted(stations, key=lambda s: (distance_m(s.lon, s.lat, *centre), s.id))


def _idw_weights(inside: Sequence[Station], polygon: MultiPolygon) -> Weights:
    """Each station's mean inverse-square-distance share over a lattice inside the polygon."""
    if len(inside) == 1:
        return [(inside[0].id, 1.0)]
    x0, y0, x1, y1 = polygon.bounds
    spacing = math.sqrt(polygon.area / LATTICE_POINTS)
    gx, gy = np.meshgrid(
        np.arange(x0 + spacing / 2, x1, spacing), np.arange(y0 + spacing / 2, y1, spacing)
    )
    keep = shapely.contains_xy(polygon, gx.ravel(), gy.ravel())
    px, py = gx.ravel()[keep], gy.ravel()[keep]
    if px.size == 0:
        point = polygon.representative_point()
        px, py = np.array([point.x]), np.array([point.y])
    squash = math.cos(math.radians(polygon.centroid.y))
    sx = np.array([s.lon for s in inside])
    sy = np.array([s.lat for s in inside])
    dx = (px[:, None] - sx[None, :]) * squash * METRES_PER_DEGREE
    dy = (py[:, None] - sy[None, :]) * METRES_PER_DEGREE
    d2 = np.maximum(dx * dx + dy * dy, _SAME_PLACE_M**2)
    share = 1.0 / d2
    share /= share.sum(axis=1, keepdims=True)
    mean = share.mean(axis=0)
    mean /= mean.sum()
    return [(s.id, float(w)) for s, w in zip(inside, mean, strict=True)]


def _series(
    code: str, weights: Weights, ranked: Sequence[Station], table: StationTable, repairs: Repairs
) -> list[float]:
    out = []
    steps = len(next(iter(table.readings.values())))
    for k in range(steps):
        present = [(w, table.readings[sid][k]) for sid, w in weights]
        good = [(w, v) for w, v in present if v is not None]
        if len(good) == len(present):
            out.append(sum(w * v for w, v in good) / sum(w for w, _ in good))
            continue
        if good:
            repairs.note("district-hours averaged over fewer stations")
            out.append(sum(w * v for w, v in good) / sum(w for w, _ in good))
            continue
        stand_in = next((s for s in ranked if table.readings[s.id][k] is not None), None)
        if stand_in is None:
            raise RainfallError(
                [
                    f"{table.path}: district {code}, step {k}: expected a reading from some "
                    "station in the city, got none"
                ]
            )
        repairs.note("district-hours from the next-nearest station")
        value = table.readings[stand_in.id][k]
        assert value is not None
        out.append(value)
    return out
