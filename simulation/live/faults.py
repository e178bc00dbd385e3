"""Fault injection: an asyncio TCP proxy between MQTT clients and the broker that cuts, delays or
blackholes chosen connections on a schedule.

Clients connect to the proxy instead of the broker. The proxy reads the MQTT CONNECT packet's
client id (the first packet of every connection) to know who a connection belongs to, so a
:class:`Fault` can target ``district:500101`` (client ids and user names of that district's
responders all begin with the code), ``client:<id>`` or ``all``, plus a share of them
(``cut 50%``). Kinds:

- ``cut``: close the chosen connections at the start (they reconnect with their own backoff);
- ``delay``: hold every chunk for ``delay_s`` in both directions for the fault's duration;
- ``blackhole``: keep the sockets open but drop every byte both ways for the duration, so only
  keepalive timeouts notice; when it heals, bytes flow again (connections the client gave up on
  are gone; new ones work).

``parse_fault("district:500101:blackhole:300s[@60s]")`` is the syntax of ``--fault``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from dataclasses import dataclass, field
from typing import Final, Literal

import structlog

__all__ = ["Fault", "FaultProxy", "parse_fault", "read_client_id"]

log = structlog.get_logger(__name__)

FaultKind = Literal["cut", "delay", "blackhole"]
_FAULT_RE: Final = re.compile(
    r"(?P<target>all|district:[0-9]{6}|client:[A-Za-z0-9_.-]{1,64})"
    r":(?P<kind>cut|delay|blackhole)"
    r"(?::(?P<duration>[0-9.]+)s)?"
    r"(?::(?P<delay>[0-9.]+)ms)?"
    r"(?:@(?P<start>[0-9.]+)s)?"
    r"(?:%(?P<share>[0-9.]+))?"
)
_CHUNK_BYTES: Final = 65536


@dataclass(frozen=True, slots=True)
class Fault:
    """One scheduled fault: which connections, what, from ``start_s`` for ``duration_s`` (wall)."""

    target: str  # "all", "district:500101" or "client:<id>"
    kind: FaultKind
    start_s: float = 0.0
    duration_s: float = 0.0
    delay_s: float = 0.0
    share: float = 1.0  # of the matching connections, chosen by a hash of the client id

    def matches(self, client_id: str) -> bool:
        if self.target == "all":
            hit = True
        elif self.target.startswith("district:"):
            hit = client_id.startswith(self.target.removeprefix("district:"))
        else:
            hit = client_id == self.target.removeprefix("client:")
        if not hit or self.share >= 1.0:
            return hit
        digest = hashlib.sha256(client_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < self.share


def parse_fault(text: str) -> Fault:
    """``target:kind[:<duration>s][:<delay>ms][@<start>s][%<share>]``, e.g.
    ``district:500101:blackhole:300s``, ``all:delay:60s:250ms@10s``, ``all:cut%0.5``."""
    found = _FAULT_RE.fullmatch(text)
    if found is None:
        raise ValueError(
            "--fault: expected target:kind[:<seconds>s][:<ms>ms][@<start>s][%<share>] with target "
            "all, district:<6 digits> or client:<id> and kind cut, delay or blackhole, "
            f"got {text!r}"
        )
    kind: FaultKind = found["kind"]  # type: ignore[assignment]
    duration_s = float(found["duration"] or 0.0)
    if kind != "cut" and duration_s <= 0:
        raise ValueError(f"--fault {text!r}: expected a duration (e.g. :300s) for {kind}")
    share = float(found["share"] or 1.0)
    if not 0.0 < share <= 1.0:
        raise ValueError(f"--fault {text!r}: expected a share in (0, 1], got {share}")
    return Fault(
        target=found["target"],
        kind=kind,
        start_s=float(found["start"] or 0.0),
        duration_s=duration_s,
        delay_s=float(found["delay"] or 0.0) / 1000.0,
        share=share,
    )


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
