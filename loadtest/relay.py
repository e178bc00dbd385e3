"""One relay process of the tiered profile: a tier's centers, each receiving and relaying alerts.

Every center (a district, or a town) is its own MQTT connection subscribed to its center topic of
the scheme (``alertsim/v1/alert/{district}/center``, ``.../{district}/{town}/center``). On each
alert it does what a cascade center does before relaying: decodes and checks the CAP alert (one
from another run on the same broker is counted as ``foreign`` and not relayed; a repeated one,
e.g. a QoS 1 redelivery, as a duplicate), then republishes it to every topic of the tier below in
one write. The payload and the stamp (the municipal publish's *scheduled* time and sequence) go
down unchanged, so the swarm measures end to end from the municipal publish's schedule.

Packets for every output topic are templated before the clock starts, as the publisher's are. At
QoS 1/2 a center never has more unacknowledged than its in-flight window allows: what does not fit
waits in the center's queue and goes out as PUBACKs free ids. The process speaks the same pipe
protocol as a swarm worker (``connected``, ``ready``, ``progress``, ``result``, ``failed``).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from multiprocessing.connection import Connection
from typing import Any, Final

from dispatcher.wire.messages import MessageError, decode_alert
from loadtest.mqtt.codec import STAMP_BYTES, Publish, publish_template
from loadtest.mqtt.connection import MqttConnection, MqttError, open_connection
from loadtest.schedule import (
    LoadtestConfig,
    RelayPlan,
    RelayTier,
    parse_broker_url,
    relay_plans,
)
from loadtest.subscribers import event_loop_factory

__all__ = ["Center", "relay_main"]

_PROGRESS_EVERY_S: Final = 0.1
_CONCURRENT_CONNECTS: Final = 64

Templates = dict[int, list[tuple[bytes, bytes]]]


class Center:
    """One relaying center: what it received, and its queue of packets still to relay."""

    def __init__(
        self, plan: RelayPlan, payload_sizes: list[int], qos: int, identifier_prefix: str
    ) -> None:
        self.plan = plan
        self.qos = qos
        self.identifier_prefix = identifier_prefix
        outputs = [topic.encode("utf-8") for topic in plan.outputs]
        self.templates: Templates = {
            size: [publish_template(topic, size, qos) for topic in outputs]
            for size in payload_sizes
        }
        self.client: MqttConnection | None = None
        self.pending: deque[tuple[int, bytes, bytes]] = deque()
        self.waiting: asyncio.Task[None] | None = None
        self.seen: set[bytes] = set()
        self.received = 0
        self.forwarded = 0
        self.failed = 0
        self.duplicates = 0
        self.foreign = 0
        self.malformed = 0
        self.arrival_ns: list[int] = []

    def on_publishes(self, batch: list[Publish], now_ns: int) -> None:
        for publish in batch:
            stamp = publish.stamp
            if stamp is None or len(stamp) != STAMP_BYTES:
                self.malformed += 1
                continue
            try:
                alert = decode_alert(publish.payload)
            except MessageError:
                self.malformed += 1
                continue
            if not alert.identifier.startswith(self.identifier_prefix):
                self.foreign += 1
                continue
            if stamp in self.seen:
                self.duplicates += 1
                continue
            self.seen.add(stamp)
            self.received += 1
            self.arrival_ns.append(now_ns - int(stamp[: stamp.index(b" ")]))
            payload = publish.payload
            if len(payload) not in self.templates:
                self.malformed += 1
                continue
            self.pending.extend((index, stamp, payload) for index in range(len(self.plan.outputs)))
        self.flush()

    def flush(self) -> None:
        """Write as much of the queue as the in-flight window allows, in one write."""
        client = self.client
        if client is None or not self.pending:
            return
        if not client.is_open:
            self.failed += len(self.pending)
            self.pending.clear()
            return
        qos = self.qos
        room = client.inflight.room if qos else len(self.pending)
        parts: list[bytes] = []
        sent = 0
        pending = self.pending
        templates = self.templates
        while pending and sent < room:
            index, stamp, payload = pending.popleft()
            head, tail = templates[len(payload)][index]
            if qos:
                parts += (head, client.inflight.acquire().to_bytes(2), tail, stamp, payload)
            else:
                parts += (head, tail, stamp, payload)
            sent += 1
        if parts:
            try:
                client.write(b"".join(parts))
            except MqttError:
                self.failed += sent + len(pending)
                pending.clear()
                return
            self.forwarded += sent
        if pending and self.waiting is None:
            self.waiting = asyncio.get_running_loop().create_task(self._wait_for_room())

    async def _wait_for_room(self) -> None:
        client = self.client
        assert client is not None
        try:
            while self.pending and client.is_open:
                if not client.inflight.room:
                    client.room.clear()
                await client.room.wait()
                self.flush()
            self.flush()  # a closed connection: count what is left as failed
        finally:
            self.waiting = None


class RelayProcess:
    """The centers of one tier, as one process."""

    def __init__(
        self, config: LoadtestConfig, tier: RelayTier, payload_sizes: list[int], pipe: Connection
    ) -> None:
        self.config = config
        self.tier = tier
        self.pipe = pipe
        prefix = f"LT-{config.run_tag}-"
        self.centers = [
            Center(plan, payload_sizes, config.qos, prefix) for plan in relay_plans(config, tier)
        ]
        self.failed_connects = 0
        self.connect_errors: list[str] = []
        self.stop = asyncio.Event()

    def _connected(self) -> list[MqttConnection]:
        return [c.client for c in self.centers if c.client is not None]

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.pipe.fileno(), self._on_pipe)
        started_ns = time.monotonic_ns()
        gate = asyncio.Semaphore(_CONCURRENT_CONNECTS)
        deadline = time.monotonic() + self.config.connect_timeout_s
        await asyncio.gather(*(self._connect(center, gate, deadline) for center in self.centers))
        connect_s = (time.monotonic_ns() - started_ns) / 1e9
        connected = len(self._connected())
        self.pipe.send(
            (
                "ready",
                {
                    "connect_s": connect_s,
                    "connected": connected,
                    "failed_connects": self.failed_connects,
                    "connect_errors": self.connect_errors[:3],
                },
            )
        )
        progress = asyncio.create_task(self._report_progress())
        await self.stop.wait()
        progress.cancel()
        self.pipe.send(("result", self._result(connect_s)))
        loop.remove_reader(self.pipe.fileno())
        await asyncio.gather(*(c.disconnect() for c in self._connected()))

    def _on_pipe(self) -> None:
        while self.pipe.poll():
            if self.pipe.recv()[0] == "stop":
                self.stop.set()

    async def _connect(self, center: Center, gate: asyncio.Semaphore, deadline: float) -> None:
        address = parse_broker_url(self.config.broker_url)
        async with gate:
            client: MqttConnection | None = None
            try:
                client = await open_connection(
                    address.host,
                    address.port,
                    center.plan.client_id,
                    max(0.1, deadline - time.monotonic()),
                    on_publishes=center.on_publishes,
                    max_inflight=self.config.max_inflight,
                )
                await asyncio.wait_for(
                    client.subscribe([center.plan.inbox.encode("utf-8")], self.config.qos),
                    max(0.1, deadline - time.monotonic()),
                )
            except (OSError, TimeoutError, MqttError) as exc:
                self.failed_connects += 1
                self.connect_errors.append(f"{center.plan.client_id}: {type(exc).__name__}: {exc}")
                if client is not None:
                    await client.disconnect()
                return
            center.client = client
            self.pipe.send(("connected", len(self._connected())))

    async def _report_progress(self) -> None:
        while True:
            await asyncio.sleep(_PROGRESS_EVERY_S)
            forwarded = sum(c.forwarded for c in self.centers)
            disconnects = sum(1 for c in self._connected() if c.closed.done())
            self.pipe.send(("progress", forwarded, disconnects))

    def _result(self, connect_s: float) -> dict[str, Any]:
        centers = self.centers
        arrivals = sorted(ns for c in centers for ns in c.arrival_ns)
        return {
            "tier": self.tier,
            "centers": len(centers),
            "connected": len(self._connected()),
            "failed_connects": self.failed_connects,
            "connect_errors": self.connect_errors[:3],
            "connect_s": connect_s,
            "received": sum(c.received for c in centers),
            "forwarded": sum(c.forwarded for c in centers),
            "relay_failed": sum(c.failed + len(c.pending) for c in centers),
            "duplicates": sum(c.duplicates for c in centers),
            "foreign": sum(c.foreign for c in centers),
            "malformed": sum(c.malformed for c in centers),
            "acked": sum(c.client.acked for c in centers if c.client is not None),
            # Arrival at this tier, from the municipal publish's scheduled time.
            "arrival_ms": {
                "p50": arrivals[len(arrivals) // 2] / 1e6 if arrivals else None,
                "max": arrivals[-1] / 1e6 if arrivals else None,
            },
        }


def relay_main(
    config_json: str, tier: RelayTier, payload_sizes: list[int], pipe: Connection
) -> None:
    """Entry point of a relay process."""
    config = LoadtestConfig.model_validate_json(config_json)
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(RelayProcess(config, tier, payload_sizes, pipe).run())
    except Exception as exc:
        pipe.send(("failed", f"{tier} relay: {type(exc).__name__}: {exc}"))
