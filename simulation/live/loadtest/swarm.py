"""One swarm worker process: many gmqtt connections that subscribe, receive and count deliveries.

gmqtt is the hot-path client because it receives about 98,000 msg/s in one process here, against
about 21,000 for aiomqtt and 59,000 for paho driven directly (bench/mqtt_clients.py). Each
connection carries many logical responders (one topic each); the worker counts every delivery by
(delivery key, message sequence) so duplicates and reordering are seen, and keeps raw latencies
(receive wall time minus the message's *scheduled* send time, from an MQTT 5 User Property) in an
array that becomes an HdrHistogram after the run, off the hot path.

The worker talks to the coordinator over a multiprocessing pipe: it reports ``connected`` counts
while connecting, ``ready`` once every SUBACK is in, ``progress`` every 100 ms, and its ``result``
when told to ``stop``.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import struct
import termios
import time
from array import array
from multiprocessing.connection import Connection
from typing import Any, Final

from gmqtt import Client, Subscription

from simulation.live.loadtest import histogram
from simulation.live.loadtest.plan import ConnectionPlan, LoadtestConfig, connection_plan

__all__ = ["STAMP_PROPERTY", "parse_stamp", "stamp", "worker_main"]

# The publisher's stamp: "<scheduled send time, unix ns> <message sequence>".
STAMP_PROPERTY: Final = "alertsim-scheduled"
_TOPICS_PER_SUBSCRIBE: Final = 500
_PROGRESS_EVERY_S: Final = 0.1
_SAMPLE_EVERY_S: Final = 0.05
_CONCURRENT_CONNECTS: Final = 64
_PAGE_BYTES: Final = os.sysconf("SC_PAGE_SIZE")


def stamp(scheduled_ns: int, seq: int) -> list[tuple[str, str]]:
    return [(STAMP_PROPERTY, f"{scheduled_ns} {seq}")]


def parse_stamp(properties: dict[str, Any]) -> tuple[int, int] | None:
    for key, value in properties.get("user_property", ()):
        if key == STAMP_PROPERTY:
            scheduled, seq = value.split(" ")
            return int(scheduled), int(seq)
    return None


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * _PAGE_BYTES


def _quiet_logger() -> logging.Logger:
    # gmqtt logs every lost connection at WARNING; a killed broker would print 1,000 lines.
    logger = logging.getLogger("alertsim.loadtest.gmqtt")
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False
    return logger


class Tally:
    """Delivery counters of one worker; the hot path is :meth:`on_delivery`."""

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

    def on_delivery(self, key: int, properties: dict[str, Any]) -> None:
        now_ns = time.time_ns()
        found = parse_stamp(properties)
        if found is None:
            self.unstamped += 1
            return
        scheduled_ns, seq = found
        unique = key * self.seq_span + seq
        if unique in self.seen:
            self.duplicates += 1
            return
        self.seen.add(unique)
        self.received += 1
        last = self.last_seq.get(key, -1)
        if seq < last:
            self.out_of_order += 1
        else:
            self.last_seq[key] = seq
        self.latencies_ns.append(now_ns - scheduled_ns)
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
        self.clients: list[Client] = []
        self.failed_connects = 0
        self.disconnects = 0
        self.max_queue_bytes = 0
        self.max_loop_lag_ms = 0.0
        self.rss_per_connection_bytes = 0.0
        self.stop = asyncio.Event()

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
        await asyncio.gather(*(self._disconnect(c) for c in self.clients))

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
        async with gate:
            client = Client(
                plan.client_id,
                clean_session=self.config.clean_session,
                logger=_quiet_logger(),
                **({} if self.config.clean_session else {"session_expiry_interval": 600}),
            )
            # Reconnecting would hide a broker failure; losses are the honest outcome.
            client.set_config({"reconnect_retries": 0, "reconnect_delay": 1})
            keys = plan.keys
            on_delivery = self.tally.on_delivery

            def on_message(_c: Client, topic: str, _p: bytes, _q: int, props: Any) -> int:
                on_delivery(keys.get(topic, -1), props)
                return 0

            pending: dict[int, asyncio.Future[None]] = {}

            def on_subscribe(_c: Client, mid: int, granted: Any, _props: Any) -> None:
                waiter = pending.pop(mid, None)
                if waiter is not None and not waiter.done():
                    if any(code >= 128 for code in granted):
                        waiter.set_exception(
                            RuntimeError(f"{plan.client_id}: SUBACK refused a subscription")
                        )
                    else:
                        waiter.set_result(None)

            def on_disconnect(_c: Client, _packet: Any, _exc: Any = None) -> None:
                self.disconnects += 1

            client.on_message = on_message
            client.on_subscribe = on_subscribe
            client.on_disconnect = on_disconnect
            address = self.config_address()
            try:
                remaining_s = max(0.1, deadline - time.monotonic())
                await asyncio.wait_for(client.connect(*address), remaining_s)
                loop = asyncio.get_running_loop()
                waiters = []
                topics = plan.topics
                for start in range(0, len(topics), _TOPICS_PER_SUBSCRIBE):
                    chunk = topics[start : start + _TOPICS_PER_SUBSCRIBE]
                    waiter: asyncio.Future[None] = loop.create_future()
                    # Registered before the SUBACK can arrive: the callback runs on this loop.
                    mid = client.subscribe([Subscription(t, qos=self.config.qos) for t in chunk])
                    pending[mid] = waiter
                    waiters.append(waiter)
                remaining_s = max(0.1, deadline - time.monotonic())
                await asyncio.wait_for(asyncio.gather(*waiters), remaining_s)
            except (OSError, TimeoutError, RuntimeError):
                self.failed_connects += 1
                await self._disconnect(client)
                return
            self.clients.append(client)
            self.pipe.send(("connected", len(self.clients)))

    def config_address(self) -> tuple[str, int]:
        from simulation.live.loadtest.plan import parse_broker_url

        address = parse_broker_url(self.config.broker_url)
        return address.host, address.port

    async def _disconnect(self, client: Client) -> None:
        try:
            await asyncio.wait_for(client.disconnect(), 1.0)
        except Exception:
            return

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
                fd = _fileno_of(client)
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


def _fileno_of(client: Client) -> int | None:
    # gmqtt hides its transport; the socket's unread byte count is the one honest queue depth.
    connection = getattr(client, "_connection", None)
    transport = getattr(connection, "_transport", None)
    if transport is None or transport.is_closing():
        return None
    sock = transport.get_extra_info("socket")
    return None if sock is None else int(sock.fileno())


def worker_main(config_json: str, connections: list[int], pipe: Connection) -> None:
    """Entry point of a worker process."""
    config = LoadtestConfig.model_validate_json(config_json)
    try:
        asyncio.run(Worker(config, connections, pipe).run())
    except Exception as exc:
        pipe.send(("failed", f"worker {connections[:1]}...: {type(exc).__name__}: {exc}"))
