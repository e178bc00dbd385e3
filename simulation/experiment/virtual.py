"""Run one scenario replication in virtual time and collect what the report needs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from simulation.experiment import machine
from simulation.experiment.gcpause import without_gc_pauses
from simulation.model.world import World
from simulation.report.build import RunResult
from simulation.scenario import LoadedScenario
from simulation.topology.city import City, generate_city

# The model advances in slices of this many model seconds between progress reports.
PROGRESS_SLICE_S = 30.0


@dataclass(frozen=True, slots=True)
class Progress:
    now_s: float
    acknowledged_share: float
    alerts_issued: int


def build_city(loaded: LoadedScenario) -> City:
    """The scenario's city; placed on its district boundaries when it asks for geometry, with
    the towns its drawn alert area selects when the hazard has one."""
    topo = loaded.scenario.topology
    city = generate_city(
        loaded.topology,
        seed=loaded.scenario.seed,
        scale=topo.scale,
        districts=topo.districts,
        towns_per_district=topo.towns_per_district,
        district_team_size=topo.district_team_size,
        town_team_size=topo.town_team_size,
    )
    if not topo.geometry or loaded.topology.boundaries is None:  # the loader checked both
        return city
    from simulation.geo.boundaries import cached_boundaries
    from simulation.geo.placement import with_geometry

    codes = tuple(d.code for d in loaded.topology.districts)
    boundaries = cached_boundaries(loaded.topology.boundaries, codes)
    city = with_geometry(loaded.topology, city, boundaries, loaded.scenario.seed)
    area = loaded.scenario.hazard.areas
    if area is None:
        return city
    from simulation.geo.areas import towns_in_area
    from simulation.geo.placement import CityGeometry
    from simulation.scenario.geodata import alert_area

    assert isinstance(city.geometry, CityGeometry)
    polygons, circles = alert_area(area, loaded.path.parent)  # the loader checked them
    towns = towns_in_area(city.geometry, polygons, circles, area.geocodes, by=area.select_by)
    return replace(city, alert_towns=towns)


def alert_summaries(world: World) -> list[dict[str, Any]]:
    """One row per alert the world issued, as report.json lists them (virtual and live alike)."""
    return [
        {
            "id": a.alert_id,
            "level": a.level,
            "issued_at_s": a.issued_at_s,
            "districts": len(a.districts),
            "recipients": a.recipients,
            "risk_points": a.risk_points,
        }
        for a in world.alerts
    ]


def run_virtual(
    loaded: LoadedScenario,
    *,
    replication: int = 0,
    progress: Callable[[Progress], None] | None = None,
) -> RunResult:
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    wall_start_ns = time.monotonic_ns()
    with without_gc_pauses():
        world = World(loaded.scenario, build_city(loaded), replication=replication)
        world.start()
        if progress is None:
            world.run()
        else:

            def report() -> None:
                progress(Progress(world.env.now, world.acknowledged_share(), len(world.alerts)))

            world.run(PROGRESS_SLICE_S, report)
            report()
        wall_s = (time.monotonic_ns() - wall_start_ns) / 1e9
        return RunResult(
            loaded=loaded,
            mode="virtual",
            replication=replication,
            records=world.records(),
            risk_points=world.risk_point_records(),
            alerts=alert_summaries(world),
            transport=dict(world.network.counters),
            channels={name: dict(ch.counters) for name, ch in world.channels.items()},
            sim_events=world.events_processed,
            sim_end_s=world.env.now,
            started_at=started_at,
            wall_s=wall_s,
            host=machine.host(),
            versions=machine.versions(),
            protocol=dict(world.tracker.counters),
            centers=world.queue_figures(),
            staff_stamps=world.staff_stamps,
        )
