"""The data a scenario points at besides its topology: boundaries, rainfall and area files.

Needed only when the scenario asks for `topology.geometry` or a `hazard.rainfall_source`; then
the topology file must name its boundaries, the `geo` extra must be installed (a missing one
raises `MissingExtra`, which says what to install), and a rainfall source is read once, here,
into `hazard.rainfall_mm`: the scenario that runs holds the series. Where they came from (file,
sha256, method, counted repairs) is returned for `LoadedScenario.rainfall`, and problems as
lines for the loader's `ScenarioError`. A drawn alert area (`hazard.areas`) needs geometry; its
files, polygons, circles and geocodes are checked here, so selecting its towns once the city
is placed (`alert_area`, then `simulation.geo.areas.towns_in_area`) cannot fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from simulation.extras import require
from simulation.rainfall.readings import Provenance, RainfallError
from simulation.scenario.schema import AlertArea, Scenario, TopologySettings
from simulation.topology.source import TopologySource

if TYPE_CHECKING:
    from shapely.geometry import MultiPolygon, Polygon

    from simulation.geo.areas import Circle

__all__ = ["alert_area", "check_area", "load_geodata"]


def load_geodata(
    where: str, path: Path, scenario: Scenario, topology: TopologySource
) -> tuple[Scenario, Provenance | None, list[str]]:
    """`scenario` with its rainfall read, where it came from, and the problems found."""
    needs = [
        field
        for field, wanted in (
            ("scenario.topology.geometry", scenario.topology.geometry),
            ("scenario.hazard.rainfall_source", scenario.hazard.rainfall_source is not None),
        )
        if wanted
    ]
    if scenario.hazard.areas is not None and not scenario.topology.geometry:
        problem = (
            f"{where}: scenario.hazard.areas: expected topology.geometry: true (towns need "
            "places to be inside an area), got false"
        )
        return scenario, None, [problem]
    if not needs:
        return scenario, None, []
    require("geo", needs[0])
    if topology.boundaries is None:
        problem = (
            f"{where}: {needs[0]}: expected a topology file that names its district "
            f"boundaries (boundaries:), got none in {scenario.topology.path}"
        )
        return scenario, None, [problem]
    from simulation.geo.boundaries import GeoError, cached_boundaries

    codes = tuple(d.code for d in topology.districts)
    try:
        boundaries = cached_boundaries(topology.boundaries, codes)
    except GeoError as exc:
        return scenario, None, [f"{where}: scenario.topology.path: boundaries: {exc}"]
    if scenario.hazard.areas is not None:
        problems = check_area(scenario.hazard.areas, path.parent, topology, scenario.topology)
        if problems:
            return scenario, None, [f"{where}: scenario.hazard.areas: {p}" for p in problems]
    if scenario.hazard.rainfall_source is None:
        return scenario, None, []
    from simulation.rainfall.resolve import resolve

    try:
        series, provenance = resolve(scenario.hazard, path.parent, boundaries, codes)
    except RainfallError as exc:
        return scenario, None, [_line(where, p) for p in exc.problems]
    data = scenario.model_dump(mode="json")
    data["hazard"]["rainfall_mm"] = series
    data["hazard"]["rainfall_source"] = None
    resolved = Scenario.model_validate(data, context={"district_codes": set(codes)})
    return resolved, provenance, []


def _line(where: str, problem: str) -> str:
    if problem.startswith("scenario."):
        return f"{where}: {problem}"
    return f"{where}: scenario.hazard.rainfall_source: {problem}"


def alert_area(area: AlertArea, base: Path) -> tuple[list[Polygon | MultiPolygon], list[Circle]]:
    """The polygons (files relative to `base`, then CAP rings) and circles of a drawn area."""
    from simulation.geo.areas import Circle, cap_polygon, read_area_file

    polygons: list[Polygon | MultiPolygon] = []
    for name in area.files:
        polygons.extend(read_area_file(base / name))
    polygons.extend(cap_polygon(ring) for ring in area.polygons)
    return polygons, [Circle.from_cap(text) for text in area.circles]


def check_area(
    area: AlertArea, base: Path, topology: TopologySource, settings: TopologySettings
) -> list[str]:
    """What is wrong with a drawn area (one line each): unreadable or invalid shapes, geocodes
    of no district or town of the run."""
    from simulation.geo.areas import AreaError

    try:
        alert_area(area, base)
    except AreaError as exc:
        return [str(exc)]
    counts = {d.code: d.towns for d in topology.districts}
    kept = set(settings.districts or counts)
    unknown = []
    for code in area.geocodes:
        district, town = code[:6], int(code[6:9] or 0)
        limit = min(counts.get(district, 0), settings.towns_per_district or 999)
        if district not in kept or town > limit or (len(code) > 6 and town == 0):
            unknown.append(code)
    if unknown:
        return [f"geocodes: expected codes of the run's districts and towns, got {unknown}"]
    return []
