"""District outlines for drawing: a boundaries GeoJSON projected to SVG path data, without shapely.

Drawing needs only the coordinates, so this module reads the GeoJSON itself (no `geo` extra) and
projects longitude, latitude once, equirectangularly about the middle latitude (east-west
distances scaled by its cosine, so shapes keep their proportions at the city's scale), onto a
frame `width` units wide. Vertices are rounded to a tenth of a unit and repeats dropped, so
neighbouring districts, which share their border vertices in the shipped file, still share
them exactly: no slivers between them. `shipped_boundaries()` is the file alertsim ships
(config/geo/, see its README for source and licence).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from dispatcher.errors import AlertsimError
from simulation.inputs import InputError, decode_text, read_bounded

__all__ = ["MapShapes", "ShapesError", "load_shapes", "map_shapes", "shipped_boundaries"]

WIDTH: Final = 800.0
MAX_BYTES: Final = 50 * 1024 * 1024  # as simulation.geo.boundaries
PAD: Final = 4.0
# In a wheel the file is packaged beside this module; in a checkout it is under config/geo.
_PACKAGED: Final = Path(__file__).with_name("chongqing-districts.geojson")
_CHECKOUT: Final = Path(__file__).resolve().parents[2] / "config/geo/chongqing-districts.geojson"

Ring = Sequence[Sequence[float]]


class ShapesError(AlertsimError, ValueError):
    """A boundaries file that cannot be drawn; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class MapShapes:
    """Every district's outline as SVG path data in one frame, by division code."""

    width: float
    height: float
    paths: Mapping[str, str]  # code -> "M x,y x,y ... Z" (one subpath per ring)
    names: Mapping[str, str]  # code -> name, as the file gives it


def shipped_boundaries() -> Path:
    """The boundaries file shipped with alertsim: Chongqing's 38 districts and counties."""
    return _PACKAGED if _PACKAGED.is_file() else _CHECKOUT


def load_shapes(path: Path | None = None, width: float = WIDTH) -> MapShapes:
    """Read a boundaries FeatureCollection (`properties.code`, Polygon or MultiPolygon) and
    project it; `path` defaults to the shipped file. ShapesError names what is wrong."""
    path = shipped_boundaries() if path is None else Path(path)
    try:
        data = json.loads(decode_text(read_bounded(path, MAX_BYTES), str(path)))
    except InputError as exc:
        raise ShapesError(f"{path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ShapesError(f"{path}: expected GeoJSON (UTF-8 JSON), got {exc}") from exc
    except RecursionError:
        raise ShapesError(f"{path}: expected GeoJSON, got arrays nested too deep") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise ShapesError(f"{path}: expected a GeoJSON FeatureCollection, got no features list")
    polygons: dict[str, list[list[Ring]]] = {}
    names: dict[str, str] = {}
    for i, feature in enumerate(features):
        code, parts, name = _feature(feature, f"{path}: features[{i}]")
        polygons[code], names[code] = parts, name
    if not polygons:
        raise ShapesError(f"{path}: expected at least one district feature, got none")
    return _project(polygons, names, width)


@lru_cache(maxsize=4)
def map_shapes(path: Path | None = None) -> MapShapes | None:
    """`load_shapes` once per file, or None when it cannot be read: the report then says it has
    no maps rather than failing a run that has finished."""
    try:
        return load_shapes(path)
    except ShapesError:
        return None


def _feature(feature: Any, where: str) -> tuple[str, list[list[Ring]], str]:
    properties = feature.get("properties") if isinstance(feature, dict) else None
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    if not isinstance(properties, dict) or not isinstance(geometry, dict):
        raise ShapesError(f"{where}: expected a Feature with properties and a geometry")
    code = properties.get("code")
    if not isinstance(code, str) or not code.isdigit():
        raise ShapesError(f"{where}: properties.code: expected a division code, got {code!r}")
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    parts = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else None
    if not isinstance(parts, list) or not all(_is_polygon(p) for p in parts):
        raise ShapesError(f"{where} ({code}): expected Polygon or MultiPolygon coordinates")
    return code, parts, str(properties.get("name", code))


def _is_polygon(polygon: object) -> bool:
    return isinstance(polygon, list) and all(
        isinstance(ring, list)
        and len(ring) >= 4
        and all(isinstance(p, list) and len(p) >= 2 and _finite(p[0], p[1]) for p in ring)
        for ring in polygon
    )


def _finite(*values: object) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)


def _project(
    polygons: Mapping[str, list[list[Ring]]], names: Mapping[str, str], width: float
) -> MapShapes:
    points = [p for parts in polygons.values() for poly in parts for ring in poly for p in ring]
    lon0, lon1 = min(p[0] for p in points), max(p[0] for p in points)
    lat0, lat1 = min(p[1] for p in points), max(p[1] for p in points)
    squash = math.cos(math.radians((lat0 + lat1) / 2))
    scale = (width - 2 * PAD) / max((lon1 - lon0) * squash, 1e-9)
    height = round((lat1 - lat0) * scale + 2 * PAD, 1)

    def xy(p: Sequence[float]) -> tuple[float, float]:
        x = PAD + (p[0] - lon0) * squash * scale
        return round(x, 1), round(PAD + (lat1 - p[1]) * scale, 1)

    paths = {
        code: "".join(_subpath(xy(p) for p in ring) for poly in parts for ring in poly)
        for code, parts in sorted(polygons.items())
    }
    return MapShapes(width=width, height=height, paths=paths, names=dict(names))


def _subpath(points: Iterable[tuple[float, float]]) -> str:
    kept: list[tuple[float, float]] = []
    for p in points:
        if not kept or p != kept[-1]:
            kept.append(p)
    if len(kept) > 1 and kept[0] == kept[-1]:
        kept.pop()
    return "M" + " ".join(f"{_n(x)},{_n(y)}" for x, y in kept) + "Z"


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
