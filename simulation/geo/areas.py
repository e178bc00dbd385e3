"""Alert areas that select: the towns a CAP area's polygons, circles and geocodes cover.

The stable API (callers: the scenario hazard's `areas`, `alertsim run --area`, CAP replay):

- `towns_in_area(geometry, polygons, circles, geocodes, by="point") -> frozenset[str]`: the
  codes of the placed towns the area covers. With `by="point"` a town is in when its point lies
  in (or on the edge of) a polygon or within a circle's radius of its centre (great-circle
  distance); with `by="cell"` when any part of its cell's interior overlaps a polygon or comes
  within a circle (measured in a plane projected about the circle's centre). A geocode selects
  by division code: 6 digits a district's towns, 9 digits one town, 12 digits (a CPEAS village
  code) the town it belongs to. The area is the union of all its parts.
- `Circle(lon, lat, radius_m)` and `Circle.from_cap("lat,lon radius_km")` (CAP's own text form).
- `cap_polygon(points)`: a CAP polygon, (latitude, longitude) pairs, as a shapely polygon.
- `read_area_file(path)`: the polygons of a GeoJSON file (a FeatureCollection, a Feature or a
  bare Polygon or MultiPolygon geometry; longitude, latitude as GeoJSON orders them).

Everything is a pure function of its inputs, so the same city and area select the same towns.
Bad input raises `AreaError`, one line naming what is wrong. Needs the `geo` extra (shapely) and
a city placed with `topology.geometry: true`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from simulation.geo.boundaries import METRES_PER_DEGREE, GeoError, distance_m
from simulation.geo.placement import CityGeometry
from simulation.inputs import InputError, decode_text, read_bounded

__all__ = [
    "AreaError",
    "Circle",
    "SelectBy",
    "cap_polygon",
    "read_area_file",
    "towns_in_area",
]

SelectBy = Literal["point", "cell"]
MAX_AREA_BYTES: Final = 10 * 1024 * 1024


class AreaError(GeoError):
    """An alert area that cannot select towns; the message names where and what is wrong."""


@dataclass(frozen=True, slots=True)
class Circle:
    """A circle on the ground: centre longitude, latitude in degrees, radius in metres."""

    lon: float
    lat: float
    radius_m: float

    def __post_init__(self) -> None:
        if not (-180 <= self.lon <= 180 and -90 <= self.lat <= 90):
            raise AreaError(
                f"circle: expected longitude in [-180, 180] and latitude in [-90, 90], "
                f"got ({self.lon}, {self.lat})"
            )
        if not (math.isfinite(self.radius_m) and self.radius_m > 0):
            raise AreaError(f"circle: expected a radius above 0 m, got {self.radius_m}")

    @classmethod
    def from_cap(cls, text: str) -> Circle:
        """CAP's circle, `"latitude,longitude radius"` with the radius in kilometres."""
        try:
            centre, radius = text.split()
            lat, lon = (float(v) for v in centre.split(","))
            radius_km = float(radius)
        except ValueError:
            raise AreaError(
                f"circle: expected 'latitude,longitude radius_km' as CAP writes it, got {text!r}"
            ) from None
        return cls(lon, lat, radius_km * 1000.0)


def cap_polygon(points: Sequence[Sequence[float]]) -> Polygon:
    """A CAP polygon (at least 4 (latitude, longitude) pairs, the last repeating the first)."""
    if len(points) < 4 or tuple(points[0]) != tuple(points[-1]):
        raise AreaError(
            f"polygon: expected at least 4 (latitude, longitude) points, the last repeating the "
            f"first, got {len(points)} point(s)"
        )
    polygon = Polygon([(float(p[1]), float(p[0])) for p in points])
    _checked(polygon, "polygon")
    return polygon


def read_area_file(path: Path) -> list[Polygon | MultiPolygon]:
    """The polygons of a GeoJSON area file; AreaError naming the file when there are none."""
    path = Path(path)
    try:
        text = decode_text(read_bounded(path, MAX_AREA_BYTES), str(path))
        data = json.loads(text)
    except InputError as exc:
        raise AreaError(f"{path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise AreaError(f"{path}: expected GeoJSON (UTF-8 JSON), got {exc}") from exc
    except RecursionError:
        raise AreaError(f"{path}: expected GeoJSON, got arrays nested too deep") from None
    geometries = _geometries(data, str(path))
    if not geometries:
        raise AreaError(f"{path}: expected at least one Polygon or MultiPolygon, got none")
    return [_geometry(g, f"{path}: {where}") for where, g in geometries]


def _geometries(data: Any, where: str) -> list[tuple[str, Any]]:
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "FeatureCollection" and isinstance(data.get("features"), list):
        return [
            (f"features[{i}].geometry", f.get("geometry") if isinstance(f, dict) else None)
            for i, f in enumerate(data["features"])
        ]
    if kind == "Feature":
        return [("geometry", data.get("geometry"))]
    if kind in ("Polygon", "MultiPolygon"):
        return [("geometry", data)]
    raise AreaError(
        f"{where}: expected a GeoJSON FeatureCollection, Feature, Polygon or MultiPolygon, "
        f"got {kind!r}"
    )


def _geometry(raw: Any, where: str) -> Polygon | MultiPolygon:
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in ("Polygon", "MultiPolygon"):
        raise AreaError(f"{where}: expected a Polygon or MultiPolygon, got {kind!r}")
    try:
        geometry = shape(raw)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise AreaError(f"{where}: expected valid coordinates, got {exc}") from exc
    if not isinstance(geometry, Polygon | MultiPolygon):  # pragma: no cover - shape() follows type
        raise AreaError(f"{where}: expected a Polygon or MultiPolygon, got {geometry.geom_type}")
    x0, y0, x1, y1 = geometry.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise AreaError(
            f"{where}: expected longitude, latitude in degrees, got bounds {geometry.bounds}"
        )
    return _checked(geometry, where)


def _checked(geometry: Polygon | MultiPolygon, where: str) -> Polygon | MultiPolygon:
    if geometry.is_empty or not geometry.is_valid:
        reason = "empty" if geometry.is_empty else shapely.is_valid_reason(geometry)
        raise AreaError(f"{where}: expected a valid polygon, got {reason}")
    return geometry


def towns_in_area(
    geometry: CityGeometry,
    polygons: Iterable[Polygon | MultiPolygon] = (),
    circles: Iterable[Circle] = (),
    geocodes: Iterable[str] = (),
    *,
    by: SelectBy = "point",
) -> frozenset[str]:
    """The codes of the placed towns inside the area (see the module doc)."""
    if by not in ("point", "cell"):
        raise AreaError(f"area: expected to select towns by 'point' or 'cell', got {by!r}")
    towns = geometry.towns
    selected: set[str] = set()
    parts = list(polygons)
    area = shapely.union_all(parts) if parts else None
    if area is not None and not area.is_empty:
        shapely.prepare(area)
        for code, place in towns.items():
            if _in_polygon(area, place.point, place.cell, by):
                selected.add(code)
    for circle in circles:
        for code, place in towns.items():
            if _in_circle(circle, place.point, place.cell, by):
                selected.add(code)
    selected |= _by_geocode(towns, geocodes)
    return frozenset(selected)


def _in_polygon(
    area: shapely.Geometry, point: tuple[float, float], cell: Polygon | MultiPolygon, by: SelectBy
) -> bool:
    if by == "point":
        return bool(shapely.intersects_xy(area, *point))
    return bool(shapely.intersects(area, cell)) and not bool(shapely.touches(area, cell))


def _in_circle(
    circle: Circle, point: tuple[float, float], cell: Polygon | MultiPolygon, by: SelectBy
) -> bool:
    if by == "point":
        return distance_m(circle.lon, circle.lat, *point) <= circle.radius_m
    squash = math.cos(math.radians(circle.lat)) * METRES_PER_DEGREE

    def to_metres(xy: Any) -> Any:
        return (xy - (circle.lon, circle.lat)) * (squash, METRES_PER_DEGREE)

    flat = shapely.transform(cell, to_metres)
    return bool(flat.distance(shapely.Point(0.0, 0.0)) < circle.radius_m)


def _by_geocode(towns: Iterable[str], geocodes: Iterable[str]) -> set[str]:
    codes = list(towns)
    selected: set[str] = set()
    unknown = []
    for geocode in geocodes:
        if not (geocode.isdigit() and len(geocode) in (6, 9, 12)):
            raise AreaError(
                f"area: geocodes: expected a 6-digit district, 9-digit town or 12-digit "
                f"village code, got {geocode!r}"
            )
        prefix = geocode[:9]
        found = {c for c in codes if c.startswith(prefix)}
        if not found:
            unknown.append(geocode)
        selected |= found
    if unknown:
        raise AreaError(f"area: geocodes: expected codes of the city's towns, got {unknown}")
    return selected
