"""One live replication: the model over a real broker, with an in-process or external swarm."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dispatcher.transport import Transport
from dispatcher.transport.mqtt import MqttTransport
from simulation.live.driver import LiveDriver
from simulation.live.swarm import Swarm, SwarmCounters
from simulation.model.world import World
from simulation.report.build import RunResult, build_report
from simulation.runner import alert_summaries, build_city
from simulation.scenario import LoadedScenario

TransportFactory = Callable[[str], Transport]


@dataclass(frozen=True, slots=True)
class LiveOutcome:
    result: RunResult
    live: dict[str, Any]
    swarm: SwarmCounters | None


def mqtt_factory(broker_url: str) -> TransportFactory:
    return lambda client_id: MqttTransport(broker_url, client_id=client_id)


async def run_live_async(
    loaded: LoadedScenario,
    *,
    broker_url: str,
    speed: float,
    strict: bool = False,
    max_lag_s: float = 0.5,
    local_swarm: bool = True,
    responders_per_connection: int = 50,
    replication: int = 0,
    transport_factory: TransportFactory | None = None,
    on_started: Callable[[LiveDriver], None] | None = None,
) -> LiveOutcome:
    factory = transport_factory or mqtt_factory(broker_url)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    wall_start_ns = time.monotonic_ns()
    city = build_city(loaded)
    swarm: Swarm | None = None
    if local_swarm:
        swarm = Swarm(
            loaded.scenario,
            city,
            factory,
            speed=speed,
            responders_per_connection=responders_per_connection,
            replication=replication,
        )
        await swarm.start()
    transport = factory(f"live-{loaded.scenario.name}-{replication}"[:64])
    driver = LiveDriver(transport, speed=speed, strict=strict, max_lag_s=max_lag_s)
    world = World(loaded.scenario, city, replication=replication, live=driver)
    try:
        await transport.start()
        if on_started is not None:
            on_started(driver)
        await driver.run(world)
    finally:
        await transport.close()
        if swarm is not None:
            await swarm.stop()
    wall_s = (time.monotonic_ns() - wall_start_ns) / 1e9
    c = driver.counters
    reconnects = transport.stats.reconnects
    if swarm is not None:
        reconnects += sum(conn.transport.stats.reconnects for conn in swarm.connections)
    transport_figures = {
        "published": c.published,
        "delivered": c.delivered,
        "duplicates": c.duplicates,
        "lost": max(0, c.published - c.delivered),
        "acknowledged": c.acknowledged,
        "absent": c.absent,
        "rejected": sum(c.rejected.values()),
        "reconnects": reconnects,
        "republished": transport.stats.republished,
        "backpressure_waits": transport.stats.backpressure_waits,
    }
    alerts = alert_summaries(world)
    result = RunResult(
        loaded=loaded,
        mode="live",
        replication=replication,
        records=world.records(),
        risk_points=world.risk_point_records(),
        alerts=alerts,
        transport=transport_figures,
        channels={name: dict(ch.counters) for name, ch in world.channels.items()},
        sim_events=world.events_processed,
        sim_end_s=world.env.now,
        started_at=started_at,
        wall_s=wall_s,
    )
    assert driver._clock is not None
    scaled_s = (world.env.now - driver._clock.origin_s) / speed
    live = {
        "broker": broker_url,
        **driver.figures(),
        "scaled_duration_s": round(scaled_s, 3),
        "wall_over_scaled": round(wall_s / scaled_s, 3) if scaled_s > 0 else None,
        "rejected_by_reason": dict(sorted(c.rejected.items())),
        "swarm": swarm.counters.as_dict() if swarm is not None else None,
    }
    return LiveOutcome(result, live, swarm.counters if swarm is not None else None)


def run_live(loaded: LoadedScenario, **kwargs: Any) -> LiveOutcome:
    return asyncio.run(run_live_async(loaded, **kwargs))


def live_report(outcome: LiveOutcome) -> dict[str, Any]:
    """report.json of a live run: the virtual schema plus a `live` section."""
    report = build_report(outcome.result)
    report["live"] = outcome.live
    return report
