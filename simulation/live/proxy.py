"""The fault proxy: an asyncio TCP proxy between MQTT clients and the broker that cuts, delays or
blackholes chosen connections on the schedule of :mod:`simulation.faults`.

Clients connect to the proxy instead of the broker. The proxy reads the MQTT CONNECT packet's
client id (the first packet of every connection) to know who a connection belongs to, and asks
each :class:`~simulation.faults.Fault` whether it matches. ``start_fault_proxy`` runs one in a
thread of its own for ``alertsim run --mode live --fault``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import structlog

from simulation.faults import Fault, FaultKind, parse_fault

__all__ = ["FaultProxy", "read_client_id", "start_fault_proxy"]

log = structlog.get_logger(__name__)

_CHUNK_BYTES: Final = 65536


def read_client_id(packet: bytes) -> str | None:
    """The client id of an MQTT 3.1.1 or 5 CONNECT packet, or None if it is not one."""
    try:
        if not packet or packet[0] != 0x10:
            return None
        i, multiplier = 1, 1
        while packet[i] & 0x80:  # remaining length, variable byte integer
            multiplier *= 128
            i += 1
        i += 1
        name_len = int.from_bytes(packet[i : i + 2], "big")
        i += 2 + name_len
        level = packet[i]
        i += 1 + 1 + 2  # level, flags, keepalive
        if level == 5:
            props_len, shift = 0, 0
            while True:
                byte = packet[i]
                props_len |= (byte & 0x7F) << shift
                i += 1
                shift += 7
                if not byte & 0x80:
                    break
            i += props_len
        id_len = int.from_bytes(packet[i : i + 2], "big")
        raw = packet[i + 2 : i + 2 + id_len]
        if len(raw) != id_len:
            return None
        return raw.decode("utf-8")
    except (IndexError, UnicodeDecodeError):
        return None


@dataclass
class _Link:
    client_id: str
    client_writer: asyncio.StreamWriter
    broker_writer: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def close(self) -> None:
        for writer in (self.client_writer, self.broker_writer):
            writer.close()


class FaultProxy:
    """Listens on 127.0.0.1:``port`` (0: any free port) and forwards to the broker."""

    def __init__(self, broker_host: str, broker_port: int, faults: list[Fault] | None = None):
        self.broker_host, self.broker_port = broker_host, broker_port
        self.faults = list(faults or [])
        self.links: list[_Link] = []
        self.counts: dict[str, int] = {"connections": 0, "cut": 0, "dropped_chunks": 0}
        self._server: asyncio.Server | None = None
        self._started_at = 0.0
        self._schedule: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self, port: int = 0) -> FaultProxy:
        loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._started_at = loop.time()
        self._schedule = asyncio.create_task(self._run_schedule())
        return self

    async def close(self) -> None:
        if self._schedule is not None:
            self._schedule.cancel()
        if self._server is not None:
            self._server.close()
        for link in list(self.links):
            link.close()
            for task in link.tasks:
                task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def add(self, fault: Fault) -> None:
        """Schedule ``fault`` with ``start_s`` counted from now; a cut acts at once."""
        now_s = asyncio.get_running_loop().time() - self._started_at
        fault = Fault(
            fault.target,
            fault.kind,
            now_s + fault.start_s,
            fault.duration_s,
            fault.delay_s,
            fault.share,
        )
        self.faults.append(fault)
        if fault.kind == "cut" and fault.start_s <= now_s:
            self._cut(fault)

    def cut(self, fault: Fault) -> int:
        """Close the matching connections now; returns how many."""
        return self._cut(fault)

    def _cut(self, fault: Fault) -> int:
        hit = [link for link in self.links if fault.matches(link.client_id)]
        for link in hit:
            link.close()
        self.counts["cut"] += len(hit)
        if hit:
            log.info("connections_cut", target=fault.target, count=len(hit))
        return len(hit)

    async def _run_schedule(self) -> None:
        loop = asyncio.get_running_loop()
        done: set[int] = set()
        while True:
            now_s = loop.time() - self._started_at
            for index, fault in enumerate(self.faults):
                if fault.kind == "cut" and index not in done and fault.start_s <= now_s:
                    done.add(index)
                    self._cut(fault)
            await asyncio.sleep(0.05)

    def _active(self, client_id: str, kind: FaultKind) -> Fault | None:
        now_s = asyncio.get_running_loop().time() - self._started_at
        for fault in self.faults:
            if (
                fault.kind == kind
                and fault.start_s <= now_s < fault.start_s + fault.duration_s
                and fault.matches(client_id)
            ):
                return fault
        return None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.counts["connections"] += 1
        try:
            first = await reader.read(_CHUNK_BYTES)
            b_reader, b_writer = await asyncio.open_connection(self.broker_host, self.broker_port)
        except OSError:
            writer.close()
            return
        client_id = read_client_id(first) or ""
        link = _Link(client_id, writer, b_writer)
        self.links.append(link)
        if self._active(client_id, "blackhole") is None:
            b_writer.write(first)
        else:
            self.counts["dropped_chunks"] += 1
        link.tasks = [
            asyncio.create_task(self._pump(link, reader, b_writer)),
            asyncio.create_task(self._pump(link, b_reader, writer)),
        ]
        try:
            await asyncio.gather(*link.tasks, return_exceptions=True)
        finally:
            link.close()
            self.links.remove(link)

    async def _pump(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while chunk := await reader.read(_CHUNK_BYTES):
                if self._active(link.client_id, "blackhole") is not None:
                    self.counts["dropped_chunks"] += 1
                    continue
                delay = self._active(link.client_id, "delay")
                if delay is not None:
                    await asyncio.sleep(delay.delay_s)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            link.close()


def start_fault_proxy(broker_url: str, specs: list[str]) -> tuple[str, Callable[[], None]]:
    """A `FaultProxy` to ``broker_url`` running the faults ``specs`` (the --fault syntax).

    Runs in a daemon thread with its own event loop, so the live run needs no change: it only
    gets the proxy's URL as its broker. Returns that URL and a function that stops the proxy.
    """
    from dispatcher.transport.mqtt import BrokerAddress

    faults = [parse_fault(s) for s in specs]
    address = BrokerAddress.parse(broker_url)
    loop = asyncio.new_event_loop()
    proxy = FaultProxy(address.host, address.port, faults)
    thread = threading.Thread(target=loop.run_forever, name="fault-proxy", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(proxy.start(), loop).result(10)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(proxy.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)

    return f"mqtt://127.0.0.1:{proxy.port}", stop
