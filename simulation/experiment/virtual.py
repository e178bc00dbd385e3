"""Run one scenario replication in virtual time and collect what the report needs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatcher.wire.alerts import warning_alert
from dispatcher.wire.messages import Alert
from simulation.caplifecycle import lifecycle_message
from simulation.capreplay import replay_warnings
from simulation.experiment import machine
from simulation.experiment.gcpause import without_gc_pauses
from simulation.hazards import WarningIssued
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
            **(a.words.lengths.summary() if a.words is not None else {}),
            "msg_type": a.msg_type,
            "references": list(a.references),
            "district_codes": list(a.districts),
        }
        for a in world.alerts
    ]


def replayed_warnings(loaded: LoadedScenario, city: City) -> list[WarningIssued]:
    """The warnings of the CAP messages a run replays (none: the hazard's warnings are used)."""
    return replay_warnings(loaded.cap_alerts, city) if loaded.cap_alerts else []


def cap_alerts(world: World, loaded: LoadedScenario, started_at: str) -> tuple[Alert, ...]:
    """The CAP alert of every warning the world issued, model time 0 being ``started_at``.

    A replay issued the CAP messages it was given: they are its alerts, as they were.
    """
    if loaded.cap_alerts:
        return loaded.cap_alerts
    origin = datetime.fromisoformat(started_at)
    sent = {a.alert_id: origin + timedelta(seconds=round(a.issued_at_s)) for a in world.alerts}
    return tuple(
        lifecycle_message(
            warning_alert(
                a.alert_id,
                loaded.scenario.alert.sender,
                a.level,  # type: ignore[arg-type]
                sent[a.alert_id],
                origin + timedelta(seconds=round(a.expires_at_s)),
                a.districts,
                a.words.texts if a.words is not None else (),
            ),
            a.msg_type,
            a.references,
            sent,
        )
        for a in world.alerts
    )


def run_virtual(
    loaded: LoadedScenario,
    *,
    replication: int = 0,
    progress: Callable[[Progress], None] | None = None,
    ran: Callable[[World], bool] | None = None,
) -> RunResult:
    """Replication ``replication`` of the scenario, ``progress`` told every PROGRESS_SLICE_S.

    ``ran(world)`` is called once the model has run, before its records are taken and the
    world freed: `alertsim run` forks the records writer there (`folder.fork_records`), so
    that taking the records and building the report run beside it. It returns whether it
    keeps the world: True, the world is not freed here (`World.close`), its caller leaving
    it to the process's exit.
    """
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    wall_start_ns = time.monotonic_ns()
    with without_gc_pauses():
        city = build_city(loaded)
        world = World(loaded.scenario, city, replication=replication)
        world.start(replayed_warnings(loaded, city))
        if progress is None:
            world.run()
        else:

            def report() -> None:
                progress(Progress(world.env.now, world.acknowledged_share(), len(world.alerts)))

            world.run(PROGRESS_SLICE_S, report)
            report()
        wall_s = (time.monotonic_ns() - wall_start_ns) / 1e9
        kept = ran is not None and ran(world)
        result = RunResult(
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
            cap_alerts=cap_alerts(world, loaded, started_at),
        )
        if not kept:
            world.close()  # freed now, not by a collector pass over the whole model later
        return result
