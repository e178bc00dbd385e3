"""Run identity and durable acknowledgements in live mode.

Repeated runs against one long-running swarm acknowledge like runs with a fresh swarm each; a
swarm answers a repeat of an alert it acknowledged, forgets expired alerts, and leaves a duty
teammate's alerts alone; a broker killed mid-run loses nobody who acknowledged and is named in
the report.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dispatcher.core.plan import Recipient
from dispatcher.transport import MemoryBroker, MemoryTransport, Message
from dispatcher.trust.signing import load_keyring
from dispatcher.wire.envelopes import alert_message, flood_alert_bytes
from dispatcher.wire.messages import decode_ack
from dispatcher.wire.runs import RUN_ID
from simulation.experiment.virtual import build_city
from simulation.live.driver import LiveDriver
from simulation.live.keys import init_keys
from simulation.live.progress import LiveProgress
from simulation.live.run import LiveOutcome, mqtt_factory, run_live_async
from simulation.live.swarm import Swarm, responders_of
from simulation.scenario import LoadedScenario, load_scenario
from tests.support.broker import Broker
from tests.support.scenarios import base_scenario, load_live_town, write_scenario
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[3]
SMOKE = ROOT / "scenarios" / "smoke-one-town.yaml"
SPEED = 400.0


def acknowledged(outcome: LiveOutcome) -> int:
    return sum(r.acked_at_s is not None for r in outcome.result.records)


def assert_each_recipient_ends_once(outcome: LiveOutcome) -> None:
    records = outcome.result.records
    assert len({(r.alert_id, r.recipient_id) for r in records}) == len(records)
    for record in records:
        assert (record.acked_at_s is not None) != (record.flag is not None), record
    # each acknowledgement counted once: the report's and the broker's counts agree
    assert outcome.result.transport["acknowledged"] == acknowledged(outcome)


@pytest.mark.slow
async def test_three_runs_against_one_swarm_acknowledge_like_fresh_swarms(
    mosquitto: Broker, tmp_path: Path
) -> None:
    loaded = load_live_town(tmp_path)  # six runs: smoke's walks would add 34 s of waiting
    keys = tmp_path / "keys"
    init_keys(loaded, keys)
    swarm = Swarm(
        loaded.scenario,
        build_city(loaded),
        mqtt_factory(mosquitto.url),
        speed=SPEED,
        keyring=load_keyring(keys),
    )
    await swarm.start()
    try:
        kept = [
            await run_live_async(
                loaded, broker_url=mosquitto.url, speed=SPEED, local_swarm=False, keys=keys
            )
            for _ in range(3)
        ]
    finally:
        await swarm.stop()
    fresh = [
        await run_live_async(loaded, broker_url=mosquitto.url, speed=SPEED, keys=keys)
        for _ in range(3)
    ]
    counts = [acknowledged(o) for o in kept]
    assert counts == [acknowledged(o) for o in fresh]
    assert counts[0] > 0
    run_ids = [o.live["run_id"] for o in kept + fresh]
    assert len(set(run_ids)) == 6
    assert all(RUN_ID.fullmatch(r) for r in run_ids)
    for outcome in kept + fresh:
        assert_each_recipient_ends_once(outcome)
        run_id = outcome.live["run_id"]
        assert all(f"-{run_id}-" in a["id"] for a in outcome.result.alerts)
    # every run's alerts were new to the long-running swarm: none taken for a repeat
    assert swarm.counters.acknowledged == sum(counts)
    assert not swarm.counters.rejected
    # what the external-swarm runs can say about trust: their own verdicts, not the swarm's
    for outcome in kept:
        trust, live = outcome.live["trust"], outcome.live
        assert live["swarm"]["external"] is True
        assert live["swarm"]["acknowledged"] == outcome.result.transport["acknowledged"]
        assert trust["swarm_verified"] is None
        assert trust["swarm_accepted"] is None
        assert trust["relays_verified"] is True
        assert trust["relays_accepted"] + trust["relays_duplicates"] == live["relays_received"]
        assert trust["relays_rejected_by_reason"] == {}


async def test_broker_killed_mid_run_loses_nobody_who_acknowledged(
    private_mosquitto: Broker, tmp_path: Path
) -> None:
    loaded = load_scenario(SMOKE)
    keys = tmp_path / "keys"
    init_keys(loaded, keys)
    swarm = Swarm(
        loaded.scenario,
        build_city(loaded),
        mqtt_factory(private_mosquitto.url),
        speed=SPEED,
        keyring=load_keyring(keys),
    )

    def started(driver: LiveDriver) -> None:
        async def kill_and_restart() -> None:
            # Mid-run: alerts are out and acknowledgements are coming back.
            await eventually(
                lambda: driver.counters.acknowledged > 0, "the first acknowledgement", timeout_s=30
            )
            failures = driver.transport.stats.connect_failures
            await asyncio.to_thread(private_mosquitto.kill)
            await eventually(
                lambda: driver.transport.stats.connect_failures > failures,
                "the driver to fail a reconnect to the killed broker",
            )
            await asyncio.to_thread(private_mosquitto.start)

        tasks.append(asyncio.create_task(kill_and_restart()))

    tasks: list[asyncio.Task[None]] = []
    shown: list[LiveProgress] = []
    await swarm.start()
    try:
        outcome = await run_live_async(
            loaded,
            broker_url=private_mosquitto.url,
            speed=SPEED,
            local_swarm=False,
            keys=keys,
            on_started=started,
            progress=shown.append,
        )
    finally:
        await swarm.stop()
    await asyncio.gather(*tasks)
    assert_each_recipient_ends_once(outcome)
    # nobody the swarm acknowledged for ends flagged: a lost answer came again
    said_yes = {
        rid for c in swarm.connections for (_alert, rid), state in c.states.items() if state.acked
    }
    flagged = {r.recipient_id for r in outcome.result.records if r.flag is not None}
    assert said_yes
    assert not said_yes & flagged
    # progress went on through the outage, and ends where the report does
    assert len(shown) > 2
    assert [p.now_s for p in shown] == sorted(p.now_s for p in shown)
    records = outcome.result.records
    assert shown[-1].acknowledged_share == pytest.approx(acknowledged(outcome) / len(records))
    # the report names the outage of the driver's connection
    (outage, *_more) = outcome.live["outages"]
    assert outage["to"] is not None
    assert outage["from"] <= outage["to"]
    assert outage["reconnects"] >= 1
    assert (
        sum(o["resent"] for o in outcome.live["outages"])
        == (outcome.result.transport["republished"])
    )


def _swarm(tmp_path: Path) -> tuple[LoadedScenario, Swarm, MemoryBroker]:
    """The small two-town scenario's swarm (nobody away, nothing missed), one phone each."""
    loaded = load_scenario(write_scenario(tmp_path, base_scenario()))
    broker = MemoryBroker()
    swarm = Swarm(
        loaded.scenario,
        build_city(loaded),
        lambda _id: MemoryTransport(broker),
        speed=1e6,
        responders_per_connection=1,
    )
    return loaded, swarm, broker


def _alert(loaded: LoadedScenario, to: Recipient, alert_id: str, expires_s: float) -> Message:
    now = datetime.now(UTC)
    payload = flood_alert_bytes(
        alert_id, "red", loaded.scenario.alert.sender, to, now, now + timedelta(seconds=expires_s)
    )
    return alert_message(payload, to, alert_id, "app_push", 0, 0.0, expires_s, 1e6)


async def test_swarm_answers_a_repeat_again_and_forgets_expired_alerts(tmp_path: Path) -> None:
    loaded, swarm, broker = _swarm(tmp_path)
    member = next(r for r in responders_of(build_city(loaded)) if r.tier == "grid")
    conn = next(c for c in swarm.connections if member.id in c.responders)
    await conn.transport.start()
    answers = MemoryTransport(broker)
    await answers.start()
    await answers.subscribe("alertsim/v1/ack/#")
    delivery = _alert(loaded, member, "t-r1-001-red", 3600)
    conn.on_alert(delivery)
    await eventually(lambda: swarm.counters.acknowledged == 1, "the first acknowledgement")
    conn.on_alert(delivery)  # the same attempt again: a dispatcher resending after an outage
    assert (swarm.counters.duplicates, swarm.counters.reacknowledged) == (1, 1)
    wire = answers.messages()
    statuses = [decode_ack((await asyncio.wait_for(anext(wire), 5)).payload).status for _ in "123"]
    assert statuses == ["received", "acknowledged", "acknowledged"]
    # Long expired: the next sweep drops its state; a later run's alert is new again.
    conn.expires["t-r1-001-red"] = datetime.now(UTC) - timedelta(hours=1)
    conn._next_sweep = 0.0
    conn.on_alert(_alert(loaded, member, "t-r2-001-red", 3600))
    assert swarm.counters.forgotten == 1
    assert {alert for alert, _rid in conn.states} == {"t-r2-001-red"}
    assert swarm.counters.received == 2
    for c in swarm.connections:
        await c.close()
    await answers.close()


async def test_duty_teammates_alerts_are_left_alone_not_rejected(tmp_path: Path) -> None:
    loaded, swarm, _broker = _swarm(tmp_path)
    team = [r for r in responders_of(build_city(loaded)) if r.tier == "district"]
    assert len(team) == 2
    own = next(c for c in swarm.connections if team[0].id in c.responders)
    own.on_alert(_alert(loaded, team[1], "t-r1-001-red", 3600))  # on their shared topic
    assert swarm.counters.teammates == 1
    assert not swarm.counters.rejected
    assert swarm.counters.received == 0
    own.on_alert(_alert(loaded, team[0], "t-r1-001-red", 3600))
    assert swarm.counters.received == 1
