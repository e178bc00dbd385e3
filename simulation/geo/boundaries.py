"""District boundaries: a GeoJSON file of polygons keyed by division code, read and checked.

The file is a FeatureCollection with one feature per district: `properties.code` (6 digits) and
a `Polygon` or `MultiPolygon` geometry of longitude, latitude. Every district of the topology
must have one valid polygon; other features are ignored. `config/geo/README.md` says where the
shipped file comes from. Distances use a spherical Earth (`EARTH_RADIUS_M`): at the scale of a
district that differs from the ellipsoid by well under 1%.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from dispatcher.errors import AlertsimError

__all__ = [
    "EARTH_RADIUS_M",
    "METRES_PER_DEGREE",
    "Boundaries",
    "GeoError",
    "area_m2",
    "cached_boundaries",
    "distance_m",
    "load_boundaries",
]

EARTH_RADIUS_M: Final = 6_371_008.8  # mean radius (IUGG)
METRES_PER_DEGREE: Final = EARTH_RADIUS_M * math.pi / 180.0
# A boundaries file larger than this is not a simplified one.
MAX_BOUNDARIES_BYTES: Final = 50 * 1024 * 1024


class GeoError(AlertsimError, ValueError):
    """Bad boundary or geometry data; the message names the file, the feature and the problem."""


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two (longitude, latitude) points (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class Boundaries:
    """The district polygons of one boundaries file, by division code."""

    path: Path
    polygons: Mapping[str, MultiPolygon]

    def polygon(self, code: str) -> MultiPolygon:
        try:
            return self.polygons[code]
        except KeyError:
            raise GeoError(f"{self.path}: no boundary for district {code!r}") from None

    def area_m2(self, code: str) -> float:
        """The district's area in square metres (locally projected at its centroid)."""
        return area_m2(self.polygon(code))

    def district_of(self, lon: float, lat: float, within_m: float = 0.0) -> str | None:
        """The district whose polygon holds the point, or the nearest within `within_m`."""
        point = shapely.Point(lon, lat)
        nearest: tuple[float, str] | None = None
        for code, polygon in self.polygons.items():
            if polygon.covers(point):
                return code
            if within_m > 0:
                gap_m = polygon.distance(point) * METRES_PER_DEGREE
                if gap_m <= within_m and (nearest is None or gap_m < nearest[0]):
                    nearest = (gap_m, code)
        return None if nearest is None else nearest[1]


def area_m2(geometry: Polygon | MultiPolygon) -> float:
    """Area in square metres of a small lon/lat geometry, projected at its centroid's latitude."""
    scale = METRES_PER_DEGREE**2 * math.cos(math.radians(geometry.centroid.y))
    return float(geometry.area) * scale


def load_boundaries(path: Path, codes: Iterable[str]) -> Boundaries:
    """Read `path` and check it holds one valid polygon for every code; GeoError otherwise."""
    path = Path(path)
    where = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BOUNDARIES_BYTES:
            raise GeoError(
                f"{where}: expected a boundaries file of at most {MAX_BOUNDARIES_BYTES:,} bytes, "
                f"got {size:,}"
            )
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GeoError(f"{where}: expected a readable boundaries file, got {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GeoError(f"{where}: expected GeoJSON (UTF-8 JSON), got {exc}") from exc
    features = _features(data, where)
    polygons: dict[str, MultiPolygon] = {}
    for i, feature in enumerate(features):
        code, polygon = _feature(feature, f"{where}: features[{i}]")
        if code in polygons:
            raise GeoError(f"{where}: features[{i}]: district {code} has a second feature")
        polygons[code] = polygon
    wanted = list(codes)
    missing = [c for c in wanted if c not in polygons]
    if missing:
        raise GeoError(
            f"{where}: expected a boundary for every district of the topology, "
            f"got none for {', '.join(missing)}"
        )
    return Boundaries(path=path, polygons={c: polygons[c] for c in wanted})


def _features(data: object, where: str) -> list[Any]:
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise GeoError(f"{where}: expected a GeoJSON FeatureCollection, got {_kind(data)}")
    features = data.get("features")
    if not isinstance(features, list):
        raise GeoError(f"{where}: features: expected a list of features, got {_kind(features)}")
    return features


def _feature(feature: object, where: str) -> tuple[str, MultiPolygon]:
    if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
        raise GeoError(f"{where}: expected a Feature with properties, got {_kind(feature)}")
    code = feature["properties"].get("code")
    if not isinstance(code, str) or len(code) != 6 or not code.isdigit():
        raise GeoError(f"{where}: properties.code: expected a 6-digit code string, got {code!r}")
    where = f"{where} ({code}): geometry"
    raw = feature.get("geometry")
    if not isinstance(raw, dict) or raw.get("type") not in ("Polygon", "MultiPolygon"):
        found = raw.get("type") if isinstance(raw, dict) else raw
        raise GeoError(f"{where}: expected a Polygon or MultiPolygon, got {found!r}")
    try:
        geometry = shape(raw)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise GeoError(f"{where}: expected valid coordinates, got {exc}") from exc
    if not isinstance(geometry, Polygon | MultiPolygon):  # pragma: no cover - shape() follows type
        raise GeoError(f"{where}: expected a Polygon or MultiPolygon, got {geometry.geom_type}")
    if geometry.is_empty or not geometry.is_valid:
        reason = "empty" if geometry.is_empty else shapely.is_valid_reason(geometry)
        raise GeoError(f"{where}: expected a valid polygon, got {reason}")
    x0, y0, x1, y1 = geometry.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise GeoError(
            f"{where}: expected longitude, latitude in degrees, got bounds {geometry.bounds}"
        )
    polygon = geometry if isinstance(geometry, MultiPolygon) else MultiPolygon([geometry])
    return code, polygon


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return f"an object of type {value.get('type')!r}"
    return type(value).__name__


@lru_cache(maxsize=4)
def cached_boundaries(path: Path, codes: tuple[str, ...]) -> Boundaries:
    """`load_boundaries`, once per file and districts: every replication reads the same shapes."""
    return load_boundaries(path, codes)
