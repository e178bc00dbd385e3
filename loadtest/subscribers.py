"""One swarm worker process: many lean MQTT connections that subscribe, receive, count deliveries.

The connections are :class:`~loadtest.mqtt.connection.MqttConnection` protocols: each
socket read is decoded whole and its PUBLISHes counted in one call with one timestamp, about 20
times cheaper a message than gmqtt's per-message callbacks (bench/mqtt_clients.py). Each connection
carries many logical responders (one topic each); the worker counts every delivery by (delivery
key, message sequence) so duplicates and reordering are seen, and keeps raw latencies (receive wall
time minus the message's *scheduled* send time, from an MQTT 5 User Property) in an array that
becomes an HdrHistogram after the run, off the hot path.

The worker talks to the coordinator over a multiprocessing pipe: it reports ``connected`` counts
while connecting, ``ready`` once every SUBACK is in, ``progress`` every 100 ms, and its ``result``
when told to ``stop``.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import struct
import termios
import time
from array import array
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Final

from loadtest import histogram
from loadtest.mqtt.codec import STAMP_KEY, Publish
from loadtest.mqtt.connection import MqttConnection, MqttError, open_connection
from loadtest.schedule import (
    ConnectionPlan,
    LoadtestConfig,
    connection_plan,
    parse_broker_url,
)

__all__ = ["STAMP_PROPERTY", "Tally", "parse_stamp", "stamp", "worker_main"]

STAMP_PROPERTY: Final = STAMP_KEY.decode("ascii")
_PROGRESS_EVERY_S: Final = 0.1
_SAMPLE_EVERY_S: Final = 0.05
_CONCURRENT_CONNECTS: Final = 64
_PAGE_BYTES: Final = os.sysconf("SC_PAGE_SIZE")


def stamp(scheduled_ns: int, seq: int) -> bytes:
    """The stamp's value: "<scheduled send time, unix ns> <message sequence>"."""
    return b"%d %d" % (scheduled_ns, seq)


def parse_stamp(value: bytes) -> tuple[int, int]:
    scheduled, seq = value.split(b" ")
    return int(scheduled), int(seq)


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * _PAGE_BYTES


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where installed (unless ALERTSIM_LOOP=asyncio), else asyncio's."""
    if os.environ.get("ALERTSIM_LOOP", "uvloop") != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


class Tally:
    """Delivery counters of one worker; the hot path is :meth:`on_publishes`."""

    def __init__(self, seq_span: int) -> None:
        self.seq_span = seq_span
        self.received = 0
        self.duplicates = 0
        self.out_of_order = 0
        self.unstamped = 0
        self.seen: set[int] = set()
        self.last_seq: dict[int, int] = {}
        self.latencies_ns = array("q")
        self.first_ns: int | None = None
        self.last_ns = 0

    def on_publishes(self, keys: dict[bytes, int], batch: list[Publish], now_ns: int) -> None:
        seen = self.seen
        last_seq = self.last_seq
        span = self.seq_span
        latencies = self.latencies_ns.append
        received = 0
        for publish in batch:
            value = publish.stamp
            if value is None:
                self.unstamped += 1
                continue
            space = value.index(b" ")
            seq = int(value[space + 1 :])
            key = keys.get(publish.topic, -1)
            unique = key * span + seq
            if unique in seen:
                self.duplicates += 1
                continue
            seen.add(unique)
            received += 1
            if seq < last_seq.get(key, -1):
                self.out_of_order += 1
            else:
                last_seq[key] = seq
            latencies(now_ns - int(value[:space]))
        if received:
            self.received += received
            if self.first_ns is None:
                self.first_ns = now_ns
            self.last_ns = now_ns


class Worker:
    """Connections of one worker process, and what they received."""

    def __init__(self, config: LoadtestConfig, connections: list[int], pipe: Connection) -> None:
        self.config = config
        self.plans = [connection_plan(config, c) for c in connections]
        self.pipe = pipe
        self.tally = Tally(max(1, config.message_count()))
        self.clients: list[MqttConnection] = []
        self.failed_connects = 0
        self.connect_errors: list[str] = []
        self.max_queue_bytes = 0
        self.max_loop_lag_ms = 0.0
        self.rss_per_connection_bytes = 0.0
        self.stop = asyncio.Event()

    @property
    def disconnects(self) -> int:
        return sum(1 for client in self.clients if client.closed.done())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.pipe.fileno(), self._on_pipe)
        rss_before = rss_bytes()
        started_ns = time.monotonic_ns()
        await self._connect_all()
        connect_s = (time.monotonic_ns() - started_ns) / 1e9
        self.rss_per_connection_bytes = (rss_bytes() - rss_before) / max(1, len(self.plans))
        self.pipe.send(
            (
                "ready",
                {
                    "connect_s": connect_s,
                    "connected": len(self.clients),
                    "failed_connects": self.failed_connects,
                    "connect_errors": self.connect_errors[:3],
                    "rss_per_connection_bytes": self.rss_per_connection_bytes,
                },
            )
        )
        sampler = asyncio.create_task(self._sample())
        progress = asyncio.create_task(self._report_progress())
        await self.stop.wait()
        sampler.cancel()
        progress.cancel()
        self.pipe.send(("result", self._result(connect_s)))
        loop.remove_reader(self.pipe.fileno())
        await asyncio.gather(*(c.disconnect() for c in self.clients))

    def _on_pipe(self) -> None:
        while self.pipe.poll():
            message = self.pipe.recv()
            if message[0] == "stop":
                self.stop.set()

    async def _connect_all(self) -> None:
        gate = asyncio.Semaphore(_CONCURRENT_CONNECTS)
        interval_s = 0.0 if self.config.ramp_per_s is None else 1.0 / self.config.ramp_per_s
        deadline = time.monotonic() + self.config.connect_timeout_s
        tasks = []
        for plan in self.plans:
            if interval_s:
                # Workers share the ramp rate: each opens its share at rate / workers.
                await asyncio.sleep(interval_s * self.config.workers)
            tasks.append(asyncio.create_task(self._connect(plan, gate, deadline)))
        await asyncio.gather(*tasks)

    async def _connect(
        self, plan: ConnectionPlan, gate: asyncio.Semaphore, deadline: float
    ) -> None:
        address = parse_broker_url(self.config.broker_url)
        keys = {topic.encode("utf-8"): key for topic, key in plan.keys.items()}
        on_publishes = self.tally.on_publishes

        def delivered(batch: list[Publish], now_ns: int) -> None:
            on_publishes(keys, batch, now_ns)

        async with gate:
            client: MqttConnection | None = None
            try:
                client = await open_connection(
                    address.host,
                    address.port,
                    plan.client_id,
                    max(0.1, deadline - time.monotonic()),
                    on_publishes=delivered,
                    clean_start=self.config.clean_session,
                    session_expiry_s=0 if self.config.clean_session else 600,
                )
                await asyncio.wait_for(
                    client.subscribe(list(keys), self.config.qos),
                    max(0.1, deadline - time.monotonic()),
                )
            except (OSError, TimeoutError, MqttError) as exc:
                # No reconnect: it would hide a broker failure; losses are the honest outcome.
                self.failed_connects += 1
                self.connect_errors.append(f"{plan.client_id}: {type(exc).__name__}: {exc}")
                if client is not None:
                    await client.disconnect()
                return
            self.clients.append(client)
            self.pipe.send(("connected", len(self.clients)))

    async def _report_progress(self) -> None:
        while True:
            await asyncio.sleep(_PROGRESS_EVERY_S)
            self.pipe.send(("progress", self.tally.received, self.disconnects))

    async def _sample(self) -> None:
        """Sample loop lag and the bytes waiting unread in our sockets: the swarm's own backlog."""
        buffer = bytearray(4)
        while True:
            before = time.monotonic()
            await asyncio.sleep(_SAMPLE_EVERY_S)
            lag_ms = (time.monotonic() - before - _SAMPLE_EVERY_S) * 1000.0
            self.max_loop_lag_ms = max(self.max_loop_lag_ms, lag_ms)
            queued = 0
            for client in self.clients:
                fd = client.fileno()
                if fd is None:
                    continue
                try:
                    fcntl.ioctl(fd, termios.FIONREAD, buffer)
                except OSError:
                    continue
                queued += struct.unpack("i", buffer)[0]
            self.max_queue_bytes = max(self.max_queue_bytes, queued)

    def _result(self, connect_s: float) -> dict[str, Any]:
        latencies = histogram.new_histogram()
        histogram.record_ns(latencies, self.tally.latencies_ns)
        tally = self.tally
        return {
            "connections": len(self.plans),
            "connected": len(self.clients),
            "failed_connects": self.failed_connects,
            "disconnects": self.disconnects,
            "protocol_errors": [c.error for c in self.clients if c.error][:3],
            "received": tally.received,
            "duplicates": tally.duplicates,
            "out_of_order": tally.out_of_order,
            "unstamped": tally.unstamped,
            "first_delivery_unix_ns": tally.first_ns,
            "last_delivery_unix_ns": tally.last_ns or None,
            "connect_s": connect_s,
            "max_queue_bytes": self.max_queue_bytes,
            "max_loop_lag_ms": self.max_loop_lag_ms,
            "rss_per_connection_bytes": self.rss_per_connection_bytes,
            "histogram": histogram.encode(latencies),
        }


def worker_main(config_json: str, connections: list[int], pipe: Connection) -> None:
    """Entry point of a worker process."""
    config = LoadtestConfig.model_validate_json(config_json)
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(Worker(config, connections, pipe).run())
    except Exception as exc:
        pipe.send(("failed", f"worker {connections[:1]}...: {type(exc).__name__}: {exc}"))
