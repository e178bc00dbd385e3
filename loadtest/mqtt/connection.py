"""One lean MQTT 5 client connection on asyncio: the swarm's, the publisher's and the relays'.

An ``asyncio.Protocol`` over :mod:`loadtest.mqtt.codec`: every ``data_received`` decodes all
complete packets in the chunk at once, acknowledges QoS 1/2 deliveries in one write, and hands the
batch of PUBLISHes to a callback with one receive timestamp for the chunk. That is the whole hot
path: no per-message callback, future or topic decoding, which is where gmqtt spent its ~50 us a
message.

QoS 1/2 sends register their packet id in :class:`InFlight` before the bytes are written and
release it on PUBACK/PUBCOMP, so a connection never has more than its bound in flight and a packet
id is never reused while its ack is outstanding (no wrap-around past 65,535). An ack for an id not
in flight is counted in ``unknown_acks``, not dropped silently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Final, cast

from dispatcher.errors import AlertsimError
from loadtest.mqtt import codec
from loadtest.mqtt.codec import Control, Decoder, Publish, WireError

__all__ = ["InFlight", "MqttConnection", "MqttError", "open_connection"]

_TOPICS_PER_SUBSCRIBE: Final = 500
MAX_PACKET_ID: Final = 65535

OnPublishes = Callable[[list[Publish], int], None]


class MqttError(AlertsimError, ConnectionError):
    """The broker refused us, broke the protocol, or went away while we waited."""


class InFlight:
    """Packet ids of QoS>0 messages one connection sent and the broker has not yet acknowledged."""

    def __init__(self, limit: int = MAX_PACKET_ID) -> None:
        if not 1 <= limit <= MAX_PACKET_ID:
            raise ValueError(f"in-flight limit: expected 1-{MAX_PACKET_ID}, got {limit}")
        self.limit = limit
        self.ids: set[int] = set()
        self._next = 0
        self.max_seen = 0

    @property
    def room(self) -> int:
        return self.limit - len(self.ids)

    def acquire(self) -> int:
        """The next free packet id; ValueError when ``limit`` are already in flight."""
        if len(self.ids) >= self.limit:
            count = len(self.ids)
            raise ValueError(f"in-flight: expected fewer than {self.limit} unacked, got {count}")
        ids = self.ids
        candidate = self._next
        while True:
            candidate = candidate % MAX_PACKET_ID + 1
            if candidate not in ids:
                break
        ids.add(candidate)
        self._next = candidate
        self.max_seen = max(self.max_seen, len(ids))
        return candidate

    def release(self, packet_id: int) -> bool:
        """Forget an acknowledged id; False when it was not in flight."""
        if packet_id in self.ids:
            self.ids.discard(packet_id)
            return True
        return False


class MqttConnection(asyncio.Protocol):
    """A client connection: CONNECT on connect, then subscribe, receive in batches, publish."""

    def __init__(
        self,
        client_id: str,
        *,
        on_publishes: OnPublishes | None = None,
        clean_start: bool = True,
        session_expiry_s: int = 0,
        keep_alive_s: int = 60,
        max_inflight: int = MAX_PACKET_ID,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.client_id = client_id
        self.on_publishes = on_publishes
        self.clean_start = clean_start
        self.session_expiry_s = session_expiry_s
        self.keep_alive_s = keep_alive_s
        self.decoder = Decoder()
        self.transport: asyncio.Transport | None = None
        self.connack: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.inflight = InFlight(max_inflight)
        self.room = asyncio.Event()
        self.room.set()
        self.acked = 0
        self.unknown_acks = 0
        self.error: str | None = None
        self._subacks: dict[int, asyncio.Future[bytes]] = {}
        self._next_sub_id = 0
        self._pinger: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(
            codec.connect_packet(
                self.client_id,
                clean_start=self.clean_start,
                keep_alive_s=self.keep_alive_s,
                session_expiry_s=self.session_expiry_s,
            )
        )
        if self.keep_alive_s:
            self._schedule_ping()

    def data_received(self, data: bytes) -> None:
        received_ns = time.time_ns()
        try:
            publishes, controls = self.decoder.feed(data)
        except WireError as exc:
            self.error = f"{self.client_id}: {exc}"
            assert self.transport is not None
            self.transport.abort()
            return
        if publishes:
            acks = [
                codec.ack_packet(codec.PUBACK if p.qos == 1 else codec.PUBREC, p.packet_id)
                for p in publishes
                if p.qos
            ]
            if acks and self.transport is not None:
                self.transport.write(b"".join(acks))
            if self.on_publishes is not None:
                self.on_publishes(publishes, received_ns)
        for control in controls:
            self._on_control(control)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
        reason = self.error or f"{self.client_id}: connection lost ({exc or 'closed by broker'})"
        waiters: list[asyncio.Future[Any]] = [self.connack, *self._subacks.values()]
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(MqttError(reason))
        if not self.closed.done():
            self.closed.set_result(None)
        self.room.set()  # wake a waiting publisher: it will find the connection gone

    # --- packets ----------------------------------------------------------------------------

    def _on_control(self, control: Control) -> None:
        kind, body = control.kind, control.body
        if kind in (codec.PUBACK, codec.PUBCOMP):
            self._on_ack(int.from_bytes(body[:2]))
        elif kind == codec.PUBREC:
            packet_id = int.from_bytes(body[:2])
            if packet_id in self.inflight.ids:
                self._write(codec.ack_packet(codec.PUBREL, packet_id))
            else:
                self.unknown_acks += 1
        elif kind == codec.PUBREL:
            self._write(codec.ack_packet(codec.PUBCOMP, int.from_bytes(body[:2])))
        elif kind == codec.CONNACK:
            self._on_connack(body)
        elif kind == codec.SUBACK:
            waiter = self._subacks.pop(int.from_bytes(body[:2]), None)
            if waiter is None:
                self.unknown_acks += 1
            elif not waiter.done():
                waiter.set_result(body)
        elif kind == codec.DISCONNECT:
            reason = body[0] if body else 0
            self.error = f"{self.client_id}: broker sent DISCONNECT, reason 0x{reason:02x}"

    def _on_ack(self, packet_id: int) -> None:
        if self.inflight.release(packet_id):
            self.acked += 1
            self.room.set()
        else:
            self.unknown_acks += 1

    def _on_connack(self, body: bytes) -> None:
        if len(body) < 2 or body[1] >= 0x80:
            code = body[1] if len(body) >= 2 else -1
            self.error = f"{self.client_id}: CONNACK refused the connection, reason 0x{code:02x}"
            if not self.connack.done():
                self.connack.set_exception(MqttError(self.error))
            return
        # The broker's Receive Maximum (property 0x21) bounds what we may keep in flight.
        receive_maximum = _property_u16(body, 2, 0x21)
        if receive_maximum:
            self.inflight.limit = min(self.inflight.limit, receive_maximum)
        if not self.connack.done():
            self.connack.set_result(None)

    def _schedule_ping(self) -> None:
        def ping() -> None:
            self._write(codec.pingreq_packet())
            self._schedule_ping()

        self._pinger = asyncio.get_running_loop().call_later(self.keep_alive_s / 2, ping)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    # --- what callers do --------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    async def subscribe(self, topics: list[bytes], qos: int) -> None:
        """Subscribe in packets of up to 500 topics, wait for every SUBACK; MqttError if refused."""
        loop = asyncio.get_running_loop()
        waiters = []
        for start in range(0, len(topics), _TOPICS_PER_SUBSCRIBE):
            self._next_sub_id = self._next_sub_id % MAX_PACKET_ID + 1
            waiter: asyncio.Future[bytes] = loop.create_future()
            # Registered before the SUBACK can arrive.
            self._subacks[self._next_sub_id] = waiter
            waiters.append(waiter)
            self._write(
                codec.subscribe_packet(
                    self._next_sub_id, topics[start : start + _TOPICS_PER_SUBSCRIBE], qos
                )
            )
        for body in await asyncio.gather(*waiters):
            _, cursor = _skip_properties(body, 2)
            refused = [code for code in body[cursor:] if code >= 0x80]
            if refused:
                raise MqttError(
                    f"{self.client_id}: SUBACK refused {len(refused)} subscription(s), "
                    f"reason 0x{refused[0]:02x}"
                )

    def write(self, data: bytes) -> None:
        """Write already-encoded packets (QoS>0 ids must come from ``inflight.acquire``)."""
        if not self.is_open:
            raise MqttError(f"{self.client_id}: connection is closed")
        assert self.transport is not None
        self.transport.write(data)
        if not self.inflight.room:
            self.room.clear()

    def queued_bytes(self) -> int:
        return 0 if self.transport is None else self.transport.get_write_buffer_size()

    def fileno(self) -> int | None:
        if not self.is_open:
            return None
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        return None if sock is None else int(sock.fileno())

    async def disconnect(self) -> None:
        if self.is_open:
            assert self.transport is not None
            self.transport.write(codec.disconnect_packet())
            self.transport.close()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), 1.0)
        except TimeoutError:
            if self.transport is not None:
                self.transport.abort()


def _skip_properties(body: bytes, cursor: int) -> tuple[int, int]:
    """(property length, offset after the properties) of a property block at ``cursor``."""
    length = shift = 0
    while cursor < len(body):
        byte = body[cursor]
        cursor += 1
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
    return length, cursor + length


def _property_u16(body: bytes, cursor: int, ident: int) -> int | None:
    """A two-byte property's value in the property block at ``cursor``; None when absent."""
    length, end = _skip_properties(body, cursor)
    cursor = end - length
    sizes = {0x11: 4, 0x12: -1, 0x13: 2, 0x15: -1, 0x16: -1, 0x17: 1, 0x1A: -1, 0x1C: -1,
             0x1F: -1, 0x21: 2, 0x22: 2, 0x24: 1, 0x25: 1, 0x26: -2, 0x27: 4, 0x28: 1,
             0x29: 1, 0x2A: 1}  # fmt: skip
    while cursor < end:
        found = body[cursor]
        cursor += 1
        size = sizes.get(found)
        if size is None:
            return None
        if found == ident:
            return int.from_bytes(body[cursor : cursor + 2])
        if size > 0:
            cursor += size
        else:
            for _ in range(-size):
                cursor += 2 + int.from_bytes(body[cursor : cursor + 2])
    return None


async def open_connection(
    host: str, port: int, client_id: str, timeout_s: float, **options: object
) -> MqttConnection:
    """Connect and wait for a successful CONNACK; MqttError/OSError/TimeoutError otherwise."""
    loop = asyncio.get_running_loop()

    def factory() -> MqttConnection:
        return MqttConnection(client_id, **options)  # type: ignore[arg-type]

    async def connect() -> MqttConnection:
        transport, protocol = await loop.create_connection(factory, host, port)
        try:
            await protocol.connack
        except BaseException:
            transport.abort()
            raise
        return protocol

    return await asyncio.wait_for(connect(), timeout_s)
