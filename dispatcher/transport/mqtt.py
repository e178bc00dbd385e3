"""MQTT transport on aiomqtt 2.x: QoS 1, MQTT 5 properties, bounded queue, reconnect loop.

aiomqtt does not reconnect by itself, so `MqttTransport` owns a supervisor task: connect,
resubscribe every filter, run sender tasks and the receive loop until the connection drops, then
wait a jittered, growing backoff and connect again. Publishes go through a bounded queue; a
publish whose connection dropped before the broker's PUBACK is kept (registered before sending,
released in `finally`) and sent again first on the next connection, so nothing queued is lost
to a reconnect; the broker may see it twice, which QoS 1 allows. Every aiomqtt or paho error is
turned into `TransportError` here and nowhere else.

With ``session_expiry_s`` > 0 the session is persistent (MQTT 5 clean start off, Session Expiry
Interval): under a stable client id, the broker keeps the subscriptions and queues QoS 1
messages (acknowledgements) while the client is away, and hands them over when it is back.
Every lost connection is recorded as an `Outage` (from, to, attempts, what was sent again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import structlog
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from dispatcher.transport import fast_properties
from dispatcher.transport.base import (
    Message,
    Outage,
    QueuedPublisher,
    TransportError,
    TransportStats,
)

log = structlog.get_logger(__name__)
# aiomqtt warns on every publish past ten in flight; with eight senders that is every publish.
_AIOMQTT_LOG = logging.getLogger("alertsim.aiomqtt")
_AIOMQTT_LOG.setLevel(logging.ERROR)

DEFAULT_PORT = 1883
# Packets read per socket readiness at most, so one busy connection cannot starve the others.
MAX_PACKETS_PER_READ = 256
fast_properties.install()


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """`mqtt://host:port` (port 1883 when left out)."""
        parts = urlsplit(url)
        if parts.scheme != "mqtt" or not parts.hostname:
            raise TransportError("connect", f"broker: expected mqtt://host:port, got {url!r}")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise TransportError(
                "connect", f"broker: expected a port number in 1-65535, got {url!r}"
            ) from None
        return cls(parts.hostname, port)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Full-jitter exponential backoff: a uniform wait in [0, min(max_s, base_s * 2**attempt)]."""

    base_s: float = 0.05
    max_s: float = 2.0

    def delay_s(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.max_s, self.base_s * 2.0 ** min(attempt, 30)))


class MqttTransport(QueuedPublisher):
    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        queue_size: int = 1000,
        senders: int = 64,
        max_inflight: int = 1000,
        mqtt5: bool = True,
        backoff: Backoff | None = None,
        connect_timeout_s: float = 10.0,
        rng: random.Random | None = None,
        session_expiry_s: int = 0,
    ) -> None:
        self.address = BrokerAddress.parse(url)
        self.client_id = client_id
        self.mqtt5 = mqtt5
        self.session_expiry_s = session_expiry_s
        self.stats = TransportStats()
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random(client_id)
        self._connect_timeout_s = connect_timeout_s
        self._senders = senders
        self._max_inflight = max_inflight
        self._filters: list[str] = []
        self._outgoing: asyncio.Queue[Message] = asyncio.Queue(maxsize=queue_size)
        # Taken from the queue but not yet acknowledged by the broker; resent after a reconnect.
        self._retry: deque[Message] = deque()
        self._incoming: asyncio.Queue[Message | None] = asyncio.Queue(maxsize=queue_size)
        self._connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._closed:
            raise TransportError("closed", f"{self.client_id}: expected an open transport")
        self._supervisor = asyncio.create_task(self._supervise())
        try:
            await asyncio.wait_for(self._connected.wait(), self._connect_timeout_s)
        except TimeoutError:
            await self.close(flush_timeout_s=0.0)
            raise TransportError(
                "connect",
                f"{self.client_id}: expected a broker at {self.address.url}, "
                f"no connection within {self._connect_timeout_s} s",
            ) from None

    async def close(self, flush_timeout_s: float = 5.0) -> None:
        if self._closed:
            return
        if flush_timeout_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.flush(), flush_timeout_s)
        self._closed = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        with contextlib.suppress(asyncio.QueueFull):
            self._incoming.put_nowait(None)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def _supervise(self) -> None:
        attempt = 0
        ever_connected = False
        outage: Outage | None = None
        republished_mark = 0
        while not self._closed:
            try:
                if outage is not None:
                    outage.reconnects += 1
                async with self._new_client() as client:
                    self._client = client
                    _read_every_ready_packet(client)
                    for topic_filter in self._filters:
                        await client.subscribe(topic_filter, qos=1)
                    if ever_connected:
                        self.stats.reconnects += 1
                    if outage is not None:
                        outage.down_to = _utc_now()
                        outage.resent = self.stats.republished - republished_mark
                        log.warning(
                            "mqtt_outage_ended", client_id=self.client_id, **outage.as_dict()
                        )
                        outage = None
                    republished_mark = self.stats.republished
                    ever_connected, attempt = True, 0
                    log.info("mqtt_connected", client_id=self.client_id, broker=self.address.url)
                    self._connected.set()
                    await self._serve(client)
            except aiomqtt.MqttError as exc:
                if not ever_connected or not self._connected.is_set():
                    self.stats.connect_failures += 1
                log.info("mqtt_disconnected", client_id=self.client_id, error=str(exc))
            finally:
                if self._connected.is_set() and not self._closed:
                    outage = Outage(_utc_now())
                    self.stats.outages.append(outage)
                self._connected.clear()
                self._client = None
            delay_s = self._backoff.delay_s(attempt, self._rng)
            attempt += 1
            await asyncio.sleep(delay_s)

    def _session(self) -> dict[str, Any]:
        """aiomqtt's session arguments: a persistent MQTT 5 session with ``session_expiry_s``."""
        if self.session_expiry_s <= 0 or not self.mqtt5:
            return {}
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = int(self.session_expiry_s)
        return {"clean_start": False, "properties": props}

    def _new_client(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            self.address.host,
            self.address.port,
            identifier=self.client_id,
            logger=_AIOMQTT_LOG,
            **self._session(),
            protocol=aiomqtt.ProtocolVersion.V5 if self.mqtt5 else aiomqtt.ProtocolVersion.V311,
            keepalive=10,
            timeout=5.0,
            max_inflight_messages=self._max_inflight,
            # paho leaves Nagle on: a PUBACK or a small PUBLISH then waits for the previous
            # segment's ACK, which caps a connection at a few hundred QoS 1 messages/s.
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        )

    async def _serve(self, client: aiomqtt.Client) -> None:
        senders = [asyncio.create_task(self._send_loop(client)) for _ in range(self._senders)]
        try:
            async for raw in client.messages:
                message = self._from_aiomqtt(raw)
                self.stats.received += 1
                await self._incoming.put(message)
        finally:
            for task in senders:
                task.cancel()
            await asyncio.gather(*senders, return_exceptions=True)

    async def _send_loop(self, client: aiomqtt.Client) -> None:
        while True:
            message = self._retry.popleft() if self._retry else await self._outgoing.get()
            sent = False
            try:
                await client.publish(
                    message.topic,
                    message.payload,
                    qos=message.qos,
                    properties=self._properties(message),
                )
                sent = True
                self.stats.published += 1
                self._outgoing.task_done()
            except aiomqtt.MqttError as exc:
                log.info("mqtt_publish_failed", topic=message.topic, error=str(exc))
                # The connection is going; the supervisor will notice through the receive loop.
                return
            except Exception as exc:  # paho refusing this one message (struct.error, ValueError)
                # Sending it again would fail again, and a dead sender task would leave flush
                # waiting forever: count it, say so, and go on with the next message.
                sent = True
                self.stats.errors["refused"] = self.stats.errors.get("refused", 0) + 1
                self._outgoing.task_done()
                log.error("mqtt_publish_refused", topic=message.topic[:200], error=repr(exc))
            finally:
                if not sent:
                    self.stats.republished += 1
                    self._retry.appendleft(message)

    # -- publishing and subscribing -------------------------------------------------------------

    async def subscribe(self, topic_filter: str) -> None:
        self._add_filter(topic_filter)
        client = self._client
        if client is not None and self._connected.is_set():
            try:
                await client.subscribe(topic_filter, qos=1)
            except aiomqtt.MqttError as exc:
                # Kept in _filters: the next connection subscribes it.
                log.info("mqtt_subscribe_deferred", topic_filter=topic_filter, error=str(exc))

    async def messages(self) -> AsyncIterator[Message]:
        while True:
            message = await self._incoming.get()
            if message is None:
                return
            yield message

    async def flush(self) -> None:
        await self._outgoing.join()

    # -- MQTT 5 properties ----------------------------------------------------------------------

    def _properties(self, message: Message) -> Properties | None:
        if not self.mqtt5:
            return None
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if message.expiry_s is not None:
            props.MessageExpiryInterval = max(1, message.expiry_s)
        if message.response_topic is not None:
            props.ResponseTopic = message.response_topic
        if message.correlation_data is not None:
            props.CorrelationData = message.correlation_data
        if message.user_properties:
            props.UserProperty = list(message.user_properties)
        return props

    @staticmethod
    def _from_aiomqtt(raw: aiomqtt.Message) -> Message:
        payload = raw.payload
        if isinstance(payload, str):
            data = payload.encode("utf-8")
        elif isinstance(payload, bytes | bytearray):
            data = bytes(payload)
        elif payload is None:
            data = b""
        else:
            data = str(payload).encode("utf-8")
        props = raw.properties
        expiry = getattr(props, "MessageExpiryInterval", None) if props is not None else None
        response = getattr(props, "ResponseTopic", None) if props is not None else None
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        users = getattr(props, "UserProperty", None) if props is not None else None
        return Message(
            topic=raw.topic.value,
            payload=data,
            qos=raw.qos,
            expiry_s=expiry,
            response_topic=response,
            correlation_data=bytes(correlation) if correlation is not None else None,
            user_properties=tuple((str(k), str(v)) for k, v in users) if users else (),
        )


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _read_every_ready_packet(client: aiomqtt.Client) -> None:
    """Replace aiomqtt's socket reader with one that reads every packet already received.

    aiomqtt's reader calls paho's `loop_read` once per readiness, and paho reads one packet per
    message it has in flight (at least one): a connection that mostly receives (the driver
    reading acknowledgements) then gets one packet per event-loop turn, a few hundred per second
    when fifty other connections share the loop, and its messages queue in the kernel for
    seconds. Errors end the connection exactly as aiomqtt's own reader does.
    """
    paho = client._client
    found = paho.socket()
    if not isinstance(found, socket.socket):
        return  # TLS or websockets: keep aiomqtt's reader, which knows their buffering
    sock: socket.socket = found
    loop = asyncio.get_running_loop()
    disconnected = client._disconnected
    peek_flags = socket.MSG_PEEK | socket.MSG_DONTWAIT

    def read_ready() -> None:
        try:
            for _ in range(MAX_PACKETS_PER_READ):
                paho.loop_read()
                if paho.socket() is not sock:
                    return
                try:
                    if not sock.recv(1, peek_flags):
                        return  # end of stream: the next readiness lets paho see it
                except BlockingIOError:
                    return
        except Exception as exc:
            if not disconnected.done():
                disconnected.set_exception(exc)

    fd = sock.fileno()
    loop.remove_reader(fd)
    loop.add_reader(fd, read_ready)
