"""The open-loop publisher: real CAP alerts sent on a fixed schedule, each stamped with its slot.

Open loop: message ``seq`` is due at ``start + seq / rate`` (all at ``start`` when no rate is
given) whatever the broker or the swarm is doing, and its MQTT 5 User Property carries that
*scheduled* time, so latency includes any time the publisher itself spent behind schedule and a
stall cannot hide samples (no coordinated omission). The publisher's own backlog (bytes queued in
its transports) and its lag behind schedule are reported, not hidden.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from gmqtt import Client

from dispatcher.messages import (
    Alert,
    Area,
    Certainty,
    Info,
    MsgType,
    Scope,
    Status,
    encode_alert,
    severity_for_level,
    urgency_for_level,
)
from simulation.live.loadtest.plan import LoadtestConfig, parse_broker_url, publish_topics
from simulation.live.loadtest.swarm import STAMP_PROPERTY

__all__ = [
    "PublishTally",
    "alert_payloads",
    "connect_publishers",
    "encoded_topics",
    "publish_packet",
    "publish_plan",
]

# Past this many bytes waiting in one client's transport the publisher yields: memory stays
# bounded, and the wait shows up as lag behind schedule rather than as a hidden queue.
_HIGH_WATER_BYTES: Final = 1 << 20
_BATCH: Final = 256
_DISTINCT_ALERTS: Final = 64


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
    alert = Alert(
        identifier=f"LT-{config.run_tag}-{index:04d}",
        sender="alertsim-loadtest",
        sent=sent,
        status=Status.EXERCISE,
        msg_type=MsgType.ALERT,
        scope=Scope.RESTRICTED,
        info=Info(
            event="Flood",
            urgency=urgency_for_level("red"),
            severity=severity_for_level("red"),
            certainty=Certainty.LIKELY,
            headline="Red rainstorm warning: flash floods expected",
            instruction="Move people away from riverbanks and slopes; report on arrival." + padding,
            expires=sent + timedelta(hours=6),
            warning_level="red",
            area=Area(area_desc="load test", districts=(district,), towns=(town,)),
        ),
    )
    return encode_alert(alert)


async def connect_publishers(config: LoadtestConfig) -> list[Client]:
    address = parse_broker_url(config.broker_url)
    clients = []
    logger = logging.getLogger("alertsim.loadtest.gmqtt")
    for index in range(config.publishers):
        client = Client(
            f"alertsim-lt{config.run_tag}-pub{config.shard_index}-{index}", logger=logger
        )
        client.set_config({"reconnect_retries": 0, "reconnect_delay": 1})
        await asyncio.wait_for(client.connect(address.host, address.port), config.connect_timeout_s)
        clients.append(client)
    return clients


def _transport_of(client: Client) -> Any:
    transport: Any = getattr(getattr(client, "_connection", None), "_transport", None)
    if transport is None or transport.is_closing() or not client.is_connected:
        return None
    return transport


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


_STAMP_KEY: Final = STAMP_PROPERTY.encode("utf-8")


def publish_packet(
    topic: bytes, payload: bytes, qos: int, packet_id: int, stamp_text: str
) -> bytes:
    """An MQTT 5 PUBLISH carrying the schedule stamp as a User Property (section 3.3.2.3.7).

    Built here rather than by gmqtt so that a batch of packets goes out in one write: one
    ``send`` per message costs about 100 us on loopback, which capped the publisher at 10,000/s.
    """
    value = stamp_text.encode("ascii")
    properties = b"\x26" + len(_STAMP_KEY).to_bytes(2) + _STAMP_KEY + len(value).to_bytes(2) + value
    variable = (
        len(topic).to_bytes(2)
        + topic
        + (packet_id.to_bytes(2) if qos else b"")
        + _varint(len(properties))
        + properties
    )
    body_bytes = len(variable) + len(payload)
    return bytes([0x30 | (qos << 1)]) + _varint(body_bytes) + variable + payload


def encoded_topics(config: LoadtestConfig) -> list[bytes]:
    """The publisher's topics as wire bytes; computed before the clock starts."""
    return [topic.encode("utf-8") for topic in publish_topics(config)]


async def publish_plan(
    config: LoadtestConfig,
    clients: list[Client],
    payloads: list[bytes],
    topics: list[bytes],
    start_unix_ns: int,
) -> PublishTally:
    """Publish every planned message at its scheduled time; never raises for a dead broker.

    Messages due by now go out in batches of up to 256 per write, round-robin over the publisher
    connections; a message is never sent before its slot. Packet ids cycle per connection, so at
    QoS 1/2 a connection keeps at most 65,535 messages in flight: use more ``publishers`` beyond.
    """
    count = config.message_count()
    rate = config.shard_rate_per_s()
    interval_ns = 0 if rate is None else round(1e9 / rate)
    tally = PublishTally(planned=count, started_unix_ns=start_unix_ns)
    qos = config.qos
    packet_ids = [0] * len(clients)
    turn = 0
    seq = 0
    while seq < count:
        now_ns = time.time_ns()
        scheduled_ns = start_unix_ns + seq * interval_ns
        if scheduled_ns - now_ns > 500_000:
            await asyncio.sleep((scheduled_ns - now_ns) / 1e9)
            continue
        transports = await _wait_for_room(clients, tally)
        if not transports:
            tally.failed += count - seq
            break
        index, transport = transports[turn % len(transports)]
        turn += 1
        tally.max_lag_ms = max(tally.max_lag_ms, (now_ns - scheduled_ns) / 1e6)
        batch: list[bytes] = []
        while seq < count and len(batch) < _BATCH:
            scheduled_ns = start_unix_ns + seq * interval_ns
            if scheduled_ns > now_ns:
                break
            packet_id = 0
            if qos:
                packet_id = packet_ids[index] % 65535 + 1
                packet_ids[index] = packet_id
            batch.append(
                publish_packet(
                    topics[seq % len(topics)],
                    payloads[seq % len(payloads)],
                    qos,
                    packet_id,
                    f"{scheduled_ns} {seq}",
                )
            )
            seq += 1
        try:
            transport.write(b"".join(batch))
        except Exception:
            tally.failed += len(batch)
        else:
            tally.published += len(batch)
        await asyncio.sleep(0)  # let acks in and the transports flush
    tally.finished_unix_ns = time.time_ns()
    return tally


async def _wait_for_room(clients: list[Client], tally: PublishTally) -> list[tuple[int, Any]]:
    """Live transports with room in their buffer; waits while every live one is full."""
    while True:
        alive = []
        roomy = []
        for index, client in enumerate(clients):
            transport = _transport_of(client)
            if transport is None:
                continue
            alive.append(client)
            queued = int(transport.get_write_buffer_size())
            tally.max_queue_bytes = max(tally.max_queue_bytes, queued)
            if queued < _HIGH_WATER_BYTES:
                roomy.append((index, transport))
        if roomy or not alive:
            return roomy
        await asyncio.sleep(0.001)
