"""The data a scenario points at besides its topology: the district boundaries, for geometry.

Needed only when the scenario asks for `topology.geometry`; then the topology file must name
its boundaries and the `geo` extra must be installed (a missing one raises `MissingExtra`, which
says what to install). Problems come back as lines for the loader's `ScenarioError`.
"""

from __future__ import annotations

from simulation.geo.extras import require
from simulation.scenario.schema import Scenario
from simulation.topology.source import TopologySource

__all__ = ["load_geodata"]


def load_geodata(where: str, scenario: Scenario, topology: TopologySource) -> list[str]:
    """The problems with the boundaries `scenario` needs (none when it needs none)."""
    if not scenario.topology.geometry:
        return []
    feature = "scenario.topology.geometry"
    require("geo", feature)
    if topology.boundaries is None:
        return [
            f"{where}: {feature}: expected a topology file that names its district "
            f"boundaries (boundaries:), got none in {scenario.topology.path}"
        ]
    from simulation.geo.boundaries import GeoError, cached_boundaries

    try:
        cached_boundaries(topology.boundaries, tuple(d.code for d in topology.districts))
    except GeoError as exc:
        return [f"{where}: scenario.topology.path: boundaries: {exc}"]
    return []
