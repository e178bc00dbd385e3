"""The city on its boundaries: seeded places for towns, their cells, grid members and risk points.

Per district, from the stream `{seed}:geometry:{district code}`: one point per township-level
unit of the topology source (kept or not, so a `districts` subset or `towns_per_district` never
moves a town), spread by best-candidate sampling (each town is the one of 8 uniform candidates
farthest from the towns placed before it), and each town's Voronoi cell clipped to the district.

Per town, from `{seed}:geometry:{town code}`: its grids uniformly inside its cell; grid member
`i` lives at grid `i mod grids`; risk point `j`, which the world gives to member `j mod members`,
lies uniformly within that member's grid: a disk of radius `sqrt(cell area / (pi * grids))`
around the grid's point, inside the cell, where `grids` is the town's number at full scale (so a
scaled-down city walks the distances of the whole one). The town duty team sets out from the
town's point.

Walking legs are great-circle distances: from where the responder sets out to the first risk
point, then from one risk point to the next. Same source, city, boundaries and seed give the
same coordinates.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Polygon

from simulation.geo.boundaries import (
    METRES_PER_DEGREE,
    Boundaries,
    GeoError,
    area_m2,
    distance_m,
)
from simulation.topology.city import City, Town, generate_city
from simulation.topology.source import TopologySource

__all__ = ["CityGeometry", "TownPlace", "place_city", "with_geometry"]

TOWN_CANDIDATES: Final = 8
_BATCH: Final = 64
_MAX_CANDIDATES: Final = 1_000_000  # a cell this hard to hit is a broken shape, not bad luck

Point = tuple[float, float]  # longitude, latitude


@dataclass(frozen=True, slots=True)
class TownPlace:
    """Where one town, its cell, its grid members (homes) and its risk points are."""

    point: Point
    cell: Polygon | MultiPolygon
    member_lon: array[float]
    member_lat: array[float]
    risk_lon: array[float]
    risk_lat: array[float]


class CityGeometry:
    """Every placed town of a city; the walking legs of a dispatch, in metres."""

    def __init__(self, towns: Mapping[str, TownPlace]) -> None:
        self.towns = dict(towns)

    def town_point(self, town: str) -> Point:
        return self.towns[town].point

    def town_cell(self, town: str) -> Polygon | MultiPolygon:
        return self.towns[town].cell

    def member_home(self, member_id: str) -> Point:
        """Where grid member `500101001-m0042` sets out from."""
        place, index = self.towns[member_id[:9]], int(member_id[11:])
        return place.member_lon[index], place.member_lat[index]

    def risk_point(self, risk_point_id: str) -> Point:
        """Where risk point `500101001-r0042` is."""
        place, index = self.towns[risk_point_id[:9]], int(risk_point_id[11:])
        return place.risk_lon[index], place.risk_lat[index]

    def leg_m(self, responder_id: str, town: str, points: Sequence[str], index: int) -> float:
        """Metres of leg `index` of a route: to risk point `points[index]` from the one before
        it, or for the first leg from where the responder sets out."""
        if index > 0:
            start = self.risk_point(points[index - 1])
        elif responder_id[10:11] == "m":
            start = self.member_home(responder_id)
        else:  # the town duty team covering a grid member who was not reached
            start = self.town_point(town)
        return distance_m(*start, *self.risk_point(points[index]))


def with_geometry(source: TopologySource, city: City, boundaries: Boundaries, seed: int) -> City:
    """`city` with its places (`City.geometry`), so that walking legs come from geometry."""
    return replace(city, geometry=place_city(source, city, boundaries, seed))


def place_city(
    source: TopologySource, city: City, boundaries: Boundaries, seed: int
) -> CityGeometry:
    """Place every kept town of `city` inside its district's boundary (see the module doc)."""
    counts = {d.code: d.towns for d in source.districts}
    # The same seed gives the same towns at scale 1: their grids size the grids at any scale.
    whole = generate_city(source, seed=seed, districts=[d.code for d in city.districts])
    full_grids = {t.code: t.grids for t in whole.towns}
    towns: dict[str, TownPlace] = {}
    for district in city.districts:
        polygon = boundaries.polygon(district.code)
        points, cells = _district_towns(polygon, counts[district.code], seed, district.code)
        for town in district.towns:
            i = int(town.code[6:]) - 1
            towns[town.code] = _place_town(town, points[i], cells[i], full_grids[town.code], seed)
    return CityGeometry(towns)


def _district_towns(
    polygon: MultiPolygon, count: int, seed: int, code: str
) -> tuple[list[Point], list[Polygon | MultiPolygon]]:
    rng = random.Random(f"{seed}:geometry:{code}")
    shapely.prepare(polygon)
    squash = math.cos(math.radians(polygon.centroid.y))  # degrees of longitude are shorter
    points: list[Point] = []
    for _ in range(count):
        candidates = _uniform_in(polygon, TOWN_CANDIDATES, rng, code)
        if not points:
            points.append(candidates[0])
            continue
        points.append(max(candidates, key=lambda c: _nearest_sq(c, points, squash)))
    return points, _cells(points, polygon, squash, code)


def _nearest_sq(candidate: Point, points: Sequence[Point], squash: float) -> float:
    x, y = candidate
    return min(((x - px) * squash) ** 2 + (y - py) ** 2 for px, py in points)


def _cells(
    points: list[Point], polygon: MultiPolygon, squash: float, code: str
) -> list[Polygon | MultiPolygon]:
    """Each town's Voronoi cell (in locally true proportions) clipped to the district."""
    if len(points) == 1:
        return [polygon]
    stretch = np.array([squash, 1.0])
    sites = MultiPoint([(x * squash, y) for x, y in points])
    frame = shapely.transform(polygon.envelope.buffer(0.1), lambda xy: xy * stretch)
    cells = shapely.voronoi_polygons(sites, extend_to=frame, ordered=True).geoms
    if len(cells) != len(points):
        raise GeoError(f"district {code}: two towns fell on the same point; cannot split it")
    out = []
    for i, cell in enumerate(cells):
        clipped = _polygonal(
            shapely.intersection(shapely.transform(cell, lambda xy: xy / stretch), polygon)
        )
        if clipped is None or not clipped.covers(shapely.Point(points[i])):
            raise GeoError(f"district {code}: town {i + 1:03d} has no cell around its point")
        out.append(clipped)
    return out


def _polygonal(geometry: shapely.Geometry) -> Polygon | MultiPolygon | None:
    if isinstance(geometry, Polygon | MultiPolygon):
        return None if geometry.is_empty else geometry
    parts = [g for g in getattr(geometry, "geoms", []) if isinstance(g, Polygon) and not g.is_empty]
    return MultiPolygon(parts) if parts else None


def _place_town(
    town: Town, point: Point, cell: Polygon | MultiPolygon, full_grids: int, seed: int
) -> TownPlace:
    rng = random.Random(f"{seed}:geometry:{town.code}")
    shapely.prepare(cell)
    grids = _uniform_in(cell, town.grids, rng, town.code) if town.grids else [point]
    radius_m = math.sqrt(area_m2(cell) / (math.pi * max(full_grids, town.grids, 1)))
    homes = [grids[i % len(grids)] for i in range(town.members)]
    centres = [homes[j % len(homes)] if homes else point for j in range(town.risk_points)]
    risks = _near(centres, radius_m, cell, rng, town.code)
    return TownPlace(
        point=point,
        cell=cell,
        member_lon=array("d", (p[0] for p in homes)),
        member_lat=array("d", (p[1] for p in homes)),
        risk_lon=array("d", (p[0] for p in risks)),
        risk_lat=array("d", (p[1] for p in risks)),
    )


def _uniform_in(
    area: Polygon | MultiPolygon, count: int, rng: random.Random, what: str
) -> list[Point]:
    """`count` points uniformly inside `area` (rejection from its bounding box, in batches)."""
    x0, y0, x1, y1 = area.bounds
    found: list[Point] = []
    drawn = 0
    while len(found) < count:
        if drawn > _MAX_CANDIDATES:
            raise GeoError(f"{what}: could not place {count} points inside its area")
        xs = np.array([x0 + rng.random() * (x1 - x0) for _ in range(_BATCH)])
        ys = np.array([y0 + rng.random() * (y1 - y0) for _ in range(_BATCH)])
        drawn += _BATCH
        inside = shapely.contains_xy(area, xs, ys)
        found.extend((float(x), float(y)) for x, y, ok in zip(xs, ys, inside, strict=True) if ok)
    return found[:count]


def _near(
    centres: Sequence[Point],
    radius_m: float,
    area: Polygon | MultiPolygon,
    rng: random.Random,
    what: str,
) -> list[Point]:
    """One point uniformly within `radius_m` of each centre, redrawn until inside `area`."""
    out: list[Point] = list(centres)
    pending = list(range(len(centres)))
    rounds = 0
    while pending:
        rounds += 1
        if rounds > 10_000:
            raise GeoError(f"{what}: could not place risk points inside its cell")
        xs, ys = [], []
        for k in pending:
            lon, lat = centres[k]
            r = radius_m * math.sqrt(rng.random()) / METRES_PER_DEGREE
            theta = 2 * math.pi * rng.random()
            xs.append(lon + r * math.cos(theta) / math.cos(math.radians(lat)))
            ys.append(lat + r * math.sin(theta))
        inside = shapely.contains_xy(area, np.array(xs), np.array(ys))
        still = []
        for k, x, y, ok in zip(pending, xs, ys, inside, strict=True):
            if ok:
                out[k] = (x, y)
            else:
                still.append(k)
        pending = still
    return out
