"""The open-loop publisher: real CAP alerts sent on a fixed schedule, each stamped with its slot.

Open loop: message ``seq`` is due at ``start + seq / rate`` (all at ``start`` when no rate is
given) whatever the broker or the swarm is doing, and its MQTT 5 User Property carries that
*scheduled* time, so latency includes any time the publisher itself spent behind schedule and a
stall cannot hide samples (no coordinated omission). The publisher's own backlog (bytes queued in
its transports) and its lag behind schedule are reported, not hidden.

At QoS 1/2 every packet id is taken from the connection's :class:`InFlight` registry before the
packet is written and given back on its PUBACK/PUBCOMP; a connection whose in-flight window is full
waits (and that wait shows as lag behind schedule), so an id is never reused while in flight.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from dispatcher.wire.alerts import InfoText, flood_alert
from dispatcher.wire.messages import encode_alert
from loadtest.mqtt.codec import fixed_stamp, publish_template
from loadtest.mqtt.connection import MqttConnection, open_connection
from loadtest.schedule import (
    LoadtestConfig,
    parse_broker_url,
    publish_count,
    publish_topics,
)

__all__ = [
    "PublishTally",
    "alert_payloads",
    "connect_publishers",
    "encoded_topics",
    "packet_templates",
    "publish_plan",
]

# Past this many bytes waiting in one client's transport the publisher yields: memory stays
# bounded, and the wait shows up as lag behind schedule rather than as a hidden queue.
_HIGH_WATER_BYTES: Final = 1 << 20
_BATCH: Final = 256
_DISTINCT_ALERTS: Final = 64
_HEADLINE: Final = "Red rainstorm warning: flash floods expected"
_INSTRUCTION: Final = "Move people away from riverbanks and slopes; report on arrival."
_INSTRUCTION_ZH: Final = "请立即组织河岸和边坡附近人员转移，到达后报告。"


Templates = dict[int, list[tuple[bytes, bytes]]]


@dataclass
class PublishTally:
    """What the publisher did: messages handed to a live connection, failures, lag and backlog."""

    planned: int = 0
    published: int = 0
    failed: int = 0
    started_unix_ns: int = 0
    finished_unix_ns: int = 0
    max_lag_ms: float = 0.0
    max_queue_bytes: int = 0
    acked: int = 0
    unknown_acks: int = 0
    max_inflight: int = 0


def alert_payloads(config: LoadtestConfig) -> list[bytes]:
    """Encoded CAP alerts to send (one for a single fan-out, several distinct ones for storm)."""
    count = _DISTINCT_ALERTS if config.profile == "storm" else 1
    sent = datetime.now(UTC).replace(microsecond=0)
    payloads = []
    for index in range(count):
        payloads.append(_encoded(config, index, sent, ""))
    if config.payload_bytes is not None:
        smallest = len(payloads[0])
        if config.payload_bytes < smallest:
            raise ValueError(
                f"payload_bytes: expected at least {smallest} (the smallest real alert), "
                f"got {config.payload_bytes}"
            )
        payloads = [
            _encoded(config, index, sent, "." * (config.payload_bytes - len(payload)))
            for index, payload in enumerate(payloads)
        ]
    return payloads


def _encoded(config: LoadtestConfig, index: int, sent: datetime, padding: str) -> bytes:
    district, town = config.town_of(0)
    alert = flood_alert(
        f"LT-{config.run_tag}-{index:04d}",
        "alertsim-loadtest",
        "red",
        sent,
        sent + timedelta(hours=6),
        district,
        town,
        texts=(
            # Bilingual as every alertsim alert, so the bytes loaded are the bytes responders get.
            InfoText("zh-CN", "暴雨", "暴雨红色预警：预计将发生山洪", _INSTRUCTION_ZH, "负载测试"),
            InfoText("en-US", "Flood", _HEADLINE, _INSTRUCTION + padding, "load test"),
        ),
    )
    return encode_alert(alert)


async def connect_publishers(config: LoadtestConfig) -> list[MqttConnection]:
    address = parse_broker_url(config.broker_url)
    clients = []
    for index in range(config.publishers):
        client_id = f"alertsim-lt{config.run_tag}-pub{config.shard_index}-{index}"
        clients.append(
            await open_connection(
                address.host,
                address.port,
                client_id,
                config.connect_timeout_s,
                max_inflight=config.max_inflight,
            )
        )
    return clients


def encoded_topics(config: LoadtestConfig) -> list[bytes]:
    """The publisher's topics as wire bytes; computed before the clock starts."""
    return [topic.encode("utf-8") for topic in publish_topics(config)]


def packet_templates(topics: list[bytes], payloads: list[bytes], qos: int) -> Templates:
    """Per payload length, each topic's PUBLISH template (see wire.publish_template).

    Built before the clock starts, so the timed loop only joins bytes.
    """
    return {
        size: [publish_template(topic, size, qos) for topic in topics]
        for size in {len(p) for p in payloads}
    }


async def publish_plan(
    config: LoadtestConfig,
    clients: list[MqttConnection],
    payloads: list[bytes],
    templates: Templates,
    start_unix_ns: int,
) -> PublishTally:
    """Publish every planned message at its scheduled time; never raises for a dead broker.

    Messages due by now go out in batches of up to 256 per write, round-robin over the publisher
    connections; a message is never sent before its slot. At QoS 1/2 a batch is cut to the
    connection's free in-flight window; with every window full the publisher waits for acks.
    """
    count = publish_count(config)
    rate = config.shard_rate_per_s()
    interval_ns = 0 if rate is None else round(1e9 / rate)
    tally = PublishTally(planned=count, started_unix_ns=start_unix_ns)
    qos = config.qos
    plan = (start_unix_ns, interval_ns, qos, len(next(iter(templates.values()))))
    turn = 0
    seq = 0
    while seq < count:
        now_ns = time.time_ns()
        scheduled_ns = start_unix_ns + seq * interval_ns
        if scheduled_ns - now_ns > 500_000:
            await asyncio.sleep((scheduled_ns - now_ns) / 1e9)
            continue
        ready = await _wait_for_room(clients, tally, qos)
        if not ready:
            tally.failed += count - seq
            break
        client = ready[turn % len(ready)]
        turn += 1
        tally.max_lag_ms = max(tally.max_lag_ms, (now_ns - scheduled_ns) / 1e6)
        room = min(_BATCH, client.inflight.room) if qos else _BATCH
        batch, sent, seq = _batch(client, templates, payloads, room, seq, count, now_ns, plan)
        try:
            client.write(b"".join(batch))
        except Exception:
            tally.failed += sent
        else:
            tally.published += sent
        await asyncio.sleep(0)  # let acks in and the transports flush
    if qos:
        await _wait_for_acks(clients, config.drain_timeout_s)
    tally.acked = sum(c.acked for c in clients)
    tally.unknown_acks = sum(c.unknown_acks for c in clients)
    tally.max_inflight = max((c.inflight.max_seen for c in clients), default=0)
    tally.finished_unix_ns = time.time_ns()
    return tally


def _batch(
    client: MqttConnection,
    templates: Templates,
    payloads: list[bytes],
    room: int,
    seq: int,
    count: int,
    now_ns: int,
    plan: tuple[int, int, int, int],
) -> tuple[list[bytes], int, int]:
    """Parts of the packets due by ``now_ns`` from ``seq`` on: (parts, how many, next seq)."""
    start_unix_ns, interval_ns, qos, topic_count = plan
    batch: list[bytes] = []
    sent = 0
    while seq < count and sent < room:
        scheduled_ns = start_unix_ns + seq * interval_ns
        if scheduled_ns > now_ns:
            break
        payload = payloads[seq % len(payloads)]
        head, tail = templates[len(payload)][seq % topic_count]
        if qos:
            batch += (head, client.inflight.acquire().to_bytes(2), tail)
        else:
            batch += (head, tail)
        batch += (fixed_stamp(scheduled_ns, seq), payload)
        sent += 1
        seq += 1
    return batch, sent, seq


async def _wait_for_room(
    clients: list[MqttConnection], tally: PublishTally, qos: int
) -> list[MqttConnection]:
    """Live connections with room in their write buffer (and in-flight window at QoS>0)."""
    while True:
        alive = []
        ready = []
        for client in clients:
            if not client.is_open:
                continue
            alive.append(client)
            queued = client.queued_bytes()
            tally.max_queue_bytes = max(tally.max_queue_bytes, queued)
            if queued < _HIGH_WATER_BYTES and (not qos or client.inflight.room):
                ready.append(client)
        if ready or not alive:
            return ready
        if qos and all(not c.inflight.room for c in alive):
            waits = [asyncio.create_task(c.room.wait()) for c in alive]
            await asyncio.wait(waits, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
            for wait in waits:
                wait.cancel()
        else:
            await asyncio.sleep(0.001)


async def _wait_for_acks(clients: list[MqttConnection], timeout_s: float) -> None:
    """Until every QoS>0 message sent was acknowledged, a connection died, or the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(not c.inflight.ids or not c.is_open for c in clients):
            return
        await asyncio.sleep(0.005)
