"""The data a scenario points at besides its topology: district boundaries and rainfall files.

Needed only when the scenario asks for `topology.geometry` or a `hazard.rainfall_source`; then
the topology file must name its boundaries, the `geo` extra must be installed (a missing one
raises `MissingExtra`, which says what to install), and a rainfall source is read once, here,
into `hazard.rainfall_mm`: the scenario that runs holds the series. Where they came from (file,
sha256, method, counted repairs) is returned for `LoadedScenario.rainfall`, and problems as
lines for the loader's `ScenarioError`.
"""

from __future__ import annotations

from pathlib import Path

from simulation.geo.extras import require
from simulation.rainfall.readings import Provenance, RainfallError
from simulation.scenario.schema import Scenario
from simulation.topology.source import TopologySource

__all__ = ["load_geodata"]


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
