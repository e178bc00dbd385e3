"""One live replication: the model over a real broker, with an in-process or external swarm.

Signed by default: every alert carries the signature of the center that issues it, from the key
set in ``keys`` (``alertsim keys init``) or, when none is given, a temporary one made for the
city (which only an in-process swarm can verify: an external one needs the same folder).

Each run has its own run id (fresh unless given), part of every alert id it sends, so a
long-running swarm takes a second run's alerts as new. The driver's connection keeps a
persistent session under a client id stable for the run (``live-{scenario}-{run id}``), so
acknowledgements sent while it is away are queued by the broker; the report names every outage
of it (``live.outages``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dispatcher.transport import Transport
from dispatcher.transport.mqtt import MqttTransport
from dispatcher.transport.threaded import ThreadedTransport
from dispatcher.trust.inbox import Inbox
from dispatcher.trust.signing import Keyring, Verifier, load_keyring
from dispatcher.wire.runs import check_run_id, fresh_run_id
from simulation.experiment import machine
from simulation.experiment.virtual import alert_summaries, build_city
from simulation.faults import Fault
from simulation.live.driver import LiveDriver
from simulation.live.keys import AlertSigners, temporary_key_set
from simulation.live.progress import LiveProgress, report_progress, snapshot
from simulation.live.reach import LiveCounters
from simulation.live.swarm import Swarm, SwarmCounters, connection_client_id, connection_groups
from simulation.model.world import World
from simulation.report.build import RunResult, build_report
from simulation.report.faults import fault_section
from simulation.scenario import LoadedScenario
from simulation.topology.city import City

TransportFactory = Callable[[str], Transport]

# How long the broker keeps the driver's session (and queues its acknowledgements) while it is
# away: longer than any outage a run survives.
DRIVER_SESSION_EXPIRY_S = 600


@dataclass(frozen=True, slots=True)
class LiveOutcome:
    result: RunResult
    live: dict[str, Any]
    swarm: SwarmCounters | None


def mqtt_factory(
    broker_url: str, credentials: dict[str, str] | None = None, *, session_expiry_s: int = 0
) -> TransportFactory:
    """Plain MQTT clients, or with ``credentials`` (user -> password, the credentials.json of
    ``alertsim broker-config``) clients that log in with their client id as user name; with
    ``session_expiry_s``, persistent sessions."""
    if credentials is None:
        return lambda client_id: MqttTransport(
            broker_url, client_id=client_id, session_expiry_s=session_expiry_s
        )
    from dispatcher.transport.secure import SecureMqttTransport

    def secure(client_id: str) -> Transport:
        password = credentials.get(client_id)
        if password is None:
            raise ValueError(
                f"credentials: expected a password for user {client_id!r}, got none "
                "(a locked-down broker needs --responders-per-connection 1)"
            )
        return SecureMqttTransport(
            broker_url,
            client_id=client_id,
            username=client_id,
            password=password,
            session_expiry_s=session_expiry_s,
        )

    return secure


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
    on_world: Callable[[World, LiveDriver], None] | None = None,
    keys: Path | None = None,
    sign: bool = True,
    faults: Sequence[Fault] = (),
    driver_client_id: str | None = None,
    run_id: str | None = None,
    driver_transport_factory: TransportFactory | None = None,
    progress: Callable[[LiveProgress], None] | None = None,
) -> LiveOutcome:
    factory = transport_factory or mqtt_factory(broker_url)
    # The driver's own connection: persistent, unless the caller chose the transports.
    driver_factory = driver_transport_factory or (
        transport_factory or mqtt_factory(broker_url, session_expiry_s=DRIVER_SESSION_EXPIRY_S)
    )
    run_id = check_run_id(run_id) if run_id is not None else fresh_run_id()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    wall_start_ns = time.monotonic_ns()
    city = build_city(loaded)
    with contextlib.ExitStack() as cleanup:
        keys_folder = _keys_folder(keys, sign, city, cleanup)
        keyring = load_keyring(keys_folder) if keys_folder is not None else None
        swarm = (
            await _start_swarm(
                loaded, city, factory, speed, responders_per_connection, replication, keyring
            )
            if local_swarm
            else None
        )
        client_id = driver_client_id or f"live-{loaded.scenario.name[:40]}-{run_id}"
        # The driver's connection runs on a thread of its own: on the driver's loop, bursts of
        # acknowledgements held due model events back by up to 250 ms at speed 60.
        transport = ThreadedTransport(lambda: driver_factory(client_id), name=client_id)
        driver = _driver(
            loaded, transport, keys_folder, keyring, speed=speed, strict=strict, max_lag_s=max_lag_s
        )
        world = _world(loaded, city, driver, replication, run_id, on_world)
        try:
            await _drive(driver, transport, world, on_started, progress)
        finally:
            if swarm is not None:
                await swarm.stop()
    wall_s = (time.monotonic_ns() - wall_start_ns) / 1e9
    result = _result(
        loaded, world, _transport_figures(driver, transport, swarm), started_at, wall_s
    )
    scaled_s = (world.env.now - driver.pacer.clock.origin_s) / speed
    live = {
        "broker": broker_url,
        "run_id": run_id,
        **driver.figures(),
        "scaled_duration_s": round(scaled_s, 3),
        "wall_over_scaled": round(wall_s / scaled_s, 3) if scaled_s > 0 else None,
        **_seen_by_driver(driver, transport, swarm, keys, sign),
    }
    if faults:
        live["faults"] = _fault_figures(loaded, city, result, faults, responders_per_connection)
    return LiveOutcome(result, live, swarm.counters if swarm is not None else None)


async def _drive(
    driver: LiveDriver,
    transport: ThreadedTransport,
    world: World,
    on_started: Callable[[LiveDriver], None] | None,
    progress: Callable[[LiveProgress], None] | None,
) -> None:
    """Connect, run the world to its end, close; showing progress meanwhile when asked."""
    shown = (
        asyncio.create_task(report_progress(world, driver.pacer, progress))
        if progress is not None
        else None
    )
    try:
        await transport.start()
        if on_started is not None:
            on_started(driver)
        await driver.run(world)
    finally:
        if shown is not None and progress is not None:
            shown.cancel()
            await asyncio.gather(shown, return_exceptions=True)
            progress(snapshot(world, driver.pacer))
        await transport.close()


async def _start_swarm(
    loaded: LoadedScenario,
    city: City,
    factory: TransportFactory,
    speed: float,
    responders_per_connection: int,
    replication: int,
    keyring: Keyring | None,
) -> Swarm:
    """The in-process swarm, subscribed."""
    swarm = Swarm(
        loaded.scenario,
        city,
        factory,
        speed=speed,
        responders_per_connection=responders_per_connection,
        replication=replication,
        keyring=keyring,
    )
    await swarm.start()
    return swarm


def _world(
    loaded: LoadedScenario,
    city: City,
    driver: LiveDriver,
    replication: int,
    run_id: str,
    on_world: Callable[[World, LiveDriver], None] | None,
) -> World:
    """The run's world, on the driver's reach, handed to `on_world` (say, --metrics-port's)."""
    world = World(loaded.scenario, city, replication=replication, reach=driver.reach, run_id=run_id)
    if on_world is not None:
        on_world(world, driver)
    return world


def _seen_by_driver(
    driver: LiveDriver,
    transport: ThreadedTransport,
    swarm: Swarm | None,
    keys: Path | None,
    sign: bool,
) -> dict[str, Any]:
    """The live section's rejections, swarm, trust and outages (of the driver's connection)."""
    return {
        "rejected_by_reason": dict(sorted(driver.counters.rejected.items())),
        "swarm": (
            swarm.counters.as_dict() if swarm is not None else _external_swarm(driver.counters)
        ),
        "trust": _trust_figures(keys, sign, driver.signers, swarm, driver.inbound.relay_inbox),
        "outages": [outage.as_dict() for outage in transport.stats.outages],
    }


def _result(
    loaded: LoadedScenario,
    world: World,
    transport: dict[str, int],
    started_at: str,
    wall_s: float,
) -> RunResult:
    """What the report is built from, as a virtual run gives it, with the transport's figures."""
    return RunResult(
        loaded=loaded,
        mode="live",
        replication=world.streams.replication,
        records=world.records(),
        risk_points=world.risk_point_records(),
        alerts=alert_summaries(world),
        transport=transport,
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


def _keys_folder(
    keys: Path | None, sign: bool, city: City, cleanup: contextlib.ExitStack
) -> Path | None:
    """The key set that signs the run: `keys`, or a temporary one for the city (None: unsigned)."""
    if not sign:
        return None
    if keys is None:
        return Path(cleanup.enter_context(temporary_key_set(city)))
    return keys


def _driver(
    loaded: LoadedScenario,
    transport: Transport,
    keys_folder: Path | None,
    keyring: Keyring | None,
    *,
    speed: float,
    strict: bool,
    max_lag_s: float,
) -> LiveDriver:
    """The run's driver: signing what it sends with `keys_folder`, checking relays on `keyring`."""
    signers = (
        AlertSigners(keys_folder, loaded.scenario.strategy) if keys_folder is not None else None
    )
    tolerance_s = loaded.scenario.alert.expires_s / speed + 30.0
    relay_inbox = Inbox(Verifier(keyring, tolerance_s=tolerance_s)) if keyring is not None else None
    return LiveDriver(
        transport,
        speed=speed,
        strict=strict,
        max_lag_s=max_lag_s,
        signers=signers,
        relay_inbox=relay_inbox,
    )


def _transport_figures(
    driver: LiveDriver, transport: ThreadedTransport, swarm: Swarm | None
) -> dict[str, int]:
    """The report's transport section: what crossed the broker, what the clients went through."""
    c = driver.counters
    reconnects = transport.stats.reconnects
    if swarm is not None:
        reconnects += sum(conn.transport.stats.reconnects for conn in swarm.connections)
    return {
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


def _fault_figures(
    loaded: LoadedScenario,
    city: City,
    result: RunResult,
    faults: Sequence[Fault],
    responders_per_connection: int,
) -> dict[str, object]:
    """Latency inside and outside the faults, by the connection that carried each recipient."""
    # Which connection carries whom, as the swarm groups them (an external swarm is assumed to
    # group as this run would have: same scenario, same responders per connection).
    groups = connection_groups(city, responders_per_connection)
    client_of = {r.id: connection_client_id(g, i) for i, g in enumerate(groups) for r in g}
    return fault_section(
        ((r.recipient_id, r.latency_s) for r in result.records),
        faults,
        loaded.scenario.targets.notify_target_s,
        client_of,
    )


def _trust_figures(
    keys: Path | None,
    sign: bool,
    signers: AlertSigners | None,
    swarm: Swarm | None,
    relay_inbox: Inbox | None,
) -> dict[str, Any]:
    """Whether the run signed (with which keys), what the driver verified itself (the relays its
    center inboxes took) and what the in-process swarm's verifiers decided. An external swarm's
    verdicts are its own: this run does not know them, so they are null, not zero or false."""
    relays: Counter[str] = Counter(relay_inbox.counts) if relay_inbox is not None else Counter()
    figures: dict[str, Any] = {
        "signed": sign,
        "keys": None if not sign else str(keys) if keys is not None else "temporary",
        "signatures": signers.signatures if signers is not None else 0,
        "relays_verified": relay_inbox is not None,
        "relays_accepted": relays["accepted"],
        "relays_duplicates": relays["duplicate"],
        "relays_rejected_by_reason": _rejected(relays),
    }
    if swarm is None:
        none = dict.fromkeys(("swarm_accepted", "swarm_duplicates", "swarm_rejected"))
        return {**figures, "swarm_verified": None, **none, "swarm_rejected_by_reason": None}
    verdicts: Counter[str] = Counter()
    for connection in swarm.connections:
        if connection.inbox is not None:
            verdicts.update(connection.inbox.counts)
    rejected = _rejected(verdicts)
    return {
        **figures,
        "swarm_verified": swarm.keyring is not None,
        "swarm_accepted": verdicts["accepted"],
        "swarm_duplicates": verdicts["duplicate"],
        "swarm_rejected": sum(rejected.values()),
        "swarm_rejected_by_reason": rejected,
    }


def _rejected(verdicts: Counter[str]) -> dict[str, int]:
    return {k: v for k, v in sorted(verdicts.items()) if k not in ("accepted", "duplicate")}


def _external_swarm(counters: LiveCounters) -> dict[str, Any]:
    """What the driver saw of an external swarm: its receipts and acknowledgements."""
    return {
        "external": True,
        "receipts": counters.delivered,
        "acknowledged": counters.acknowledged,
        "absent": counters.absent,
    }


def run_live(loaded: LoadedScenario, **kwargs: Any) -> LiveOutcome:
    return asyncio.run(run_live_async(loaded, **kwargs))


def live_report(outcome: LiveOutcome) -> dict[str, Any]:
    """report.json of a live run: the virtual schema plus a `live` section."""
    report = build_report(outcome.result)
    report["live"] = outcome.live
    return report
