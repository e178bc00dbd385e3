"""The broker restarted or killed mid fan-out: every recipient ends acknowledged once or flagged.

The dispatcher service runs in-process over a real mosquitto; a transport wrapper stops the
fan-out at exactly half of the first-rung publishes and restarts (SIGTERM) or kills (SIGKILL)
the broker there. Whatever the broker lost is the escalation ladder's to recover.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dispatcher.core.plan import Recipient
from dispatcher.service.dispatch import DispatchPlan, DispatchService, RunSummary
from dispatcher.service.journal import Journal
from dispatcher.transport.base import Message, TransportStats
from dispatcher.transport.mqtt import MqttTransport
from dispatcher.trust.signing import load_signer, write_key_set
from tests.support.broker import Broker
from tests.support.responders import MqttResponders
from tests.support.waiting import eventually

D1 = "500101"
TOWNS = ["500101001", "500101002"]
RECIPIENTS = [f"{t}-m{i:04d}" for t in TOWNS for i in range(10)]
HALF = len(RECIPIENTS) // 2


class FaultAt:
    """A transport that runs `fault` before the n-th publish, once; everything else passes."""

    def __init__(
        self, inner: MqttTransport, n: int, fault: Callable[[MqttTransport], Awaitable[None]]
    ) -> None:
        self.inner, self.n, self.fault = inner, n, fault
        self.stats: TransportStats = inner.stats
        self.publishes = 0
        self.fired_at: int | None = None

    async def start(self) -> None:
        await self.inner.start()

    async def publish(self, message: Message) -> None:
        self.publishes += 1
        if self.publishes == self.n and self.fired_at is None:
            self.fired_at = self.publishes
            await self.fault(self.inner)
        await self.inner.publish(message)

    def publish_nowait(self, message: Message) -> None:  # pragma: no cover - unused here
        self.inner.publish_nowait(message)

    async def subscribe(self, topic_filter: str) -> None:
        await self.inner.subscribe(topic_filter)

    def messages(self) -> AsyncIterator[Message]:
        return self.inner.messages()

    async def flush(self) -> None:
        await self.inner.flush()

    async def close(self) -> None:
        await self.inner.close()


def persistent_broker(workdir: Path) -> Broker:
    store = workdir / "store"
    store.mkdir()
    return Broker(workdir, extra_config=f"persistence true\npersistence_location {store}/\n")


async def run_with_fault(
    broker: Broker,
    tmp: Path,
    fault: Callable[[MqttTransport], Awaitable[None]],
    *,
    persistent: bool,
) -> tuple[RunSummary, Journal, MqttResponders, FaultAt]:
    write_key_set(tmp / "keys", {D1: TOWNS}, now=datetime.now(UTC) - timedelta(days=1))
    plan = DispatchPlan(
        alert_id="fanout-1",
        level="red",
        recipients=tuple(Recipient(r, "grid", D1, r[:9]) for r in RECIPIENTS),
    )
    transport = FaultAt(MqttTransport(broker.url, client_id="dispatcher"), HALF + 1, fault)
    journal = Journal(tmp / "journal.db")
    service = DispatchService(
        transport,
        journal,
        load_signer(tmp / "keys", "municipal"),
        ladder=("app_push", "sms", "voice_call"),
        timeout_s=(1.5, 1.5, 1.5),
    )
    async with MqttResponders(broker.host, broker.port, tmp / "keys", persistent=persistent) as r:
        summary = await service.run(plan, deadline_s=15)
    return summary, journal, r, transport


def assert_invariant(summary: RunSummary, journal: Journal, responders: MqttResponders) -> None:
    assert summary.alert_id == f"fanout-1-{summary.run_id}"
    assert journal.alert_for_plan("fanout-1") == summary.alert_id
    rows = journal.rows(summary.alert_id)
    assert [r.recipient_id for r in rows] == RECIPIENTS
    # every targeted recipient ends exactly once: acknowledged, or flagged with its cause
    for row in rows:
        assert row.state in ("acked", "flagged")
        assert (row.flag is not None) == (row.state == "flagged")
    acked = {r.recipient_id for r in rows if r.state == "acked"}
    assert summary.acks["done"] == len(acked)
    assert summary.acks["done"] + sum(summary.flagged.values()) == len(RECIPIENTS)
    # a recipient is shown the alert at most once; every acknowledged one was shown it
    assert max(responders.accepted.values()) == 1
    assert acked <= set(responders.accepted)
    # duplicate acknowledgements are counted in one place each, never as a second outcome
    assert summary.acks["duplicate"] == sum(r.duplicates for r in rows)


async def restart(broker: Broker) -> None:
    await asyncio.to_thread(broker.restart)


async def kill_then_start(broker: Broker, dispatcher: MqttTransport) -> None:
    await asyncio.to_thread(broker.kill)
    # Down until the dispatcher knows it: its next publishes then meet a broker that is gone.
    await eventually(
        lambda: not dispatcher.connected, "the dispatcher to notice the broker is gone"
    )
    await asyncio.to_thread(broker.start)


@pytest.mark.parametrize("persistent", [False, True], ids=["persistence-off", "persistence-on"])
async def test_broker_restarted_mid_fan_out(tmp_path: Path, persistent: bool) -> None:
    broker = persistent_broker(tmp_path) if persistent else Broker(tmp_path)
    broker.start()
    try:
        summary, journal, responders, transport = await run_with_fault(
            broker, tmp_path, lambda _dispatcher: restart(broker), persistent=persistent
        )
    finally:
        broker.stop()
    assert transport.fired_at == HALF + 1
    assert_invariant(summary, journal, responders)
    # a restart loses no recipient: the ladder re-sent whatever the broker dropped
    assert summary.acks["done"] == len(RECIPIENTS)
    assert not summary.flagged
    assert responders.connects >= 2
    assert transport.stats.reconnects >= 1
    # the outage is named: when the connection went, when it came back, what was sent again
    (outage,) = transport.stats.outages
    assert outage.down_to is not None
    assert outage.down_from <= outage.down_to
    assert outage.reconnects >= 1
    assert outage.resent == transport.stats.republished


async def test_broker_killed_mid_fan_out(tmp_path: Path) -> None:
    broker = persistent_broker(tmp_path)
    broker.start()
    try:
        summary, journal, responders, transport = await run_with_fault(
            broker, tmp_path, lambda mqtt: kill_then_start(broker, mqtt), persistent=True
        )
    finally:
        broker.stop()
    assert transport.fired_at == HALF + 1
    assert_invariant(summary, journal, responders)
    assert summary.acks["done"] == len(RECIPIENTS)
    assert responders.connects >= 2
