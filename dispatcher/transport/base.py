"""The `Transport` protocol: publish, subscribe, receive and close, whatever carries the bytes.

A transport moves `Message`s between clients at QoS 1 (at least once). Callers never see the
library underneath: every failure is a `TransportError`. Publishing is never silently dropped and
never buffered without bound: `publish` waits while the outgoing queue is full (the wait is the
backpressure, and `TransportStats.backpressure_waits` counts it), and `publish_nowait` refuses
with `TransportError(reason="backpressure")` instead of waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from dispatcher.errors import AlertsimError
from dispatcher.wire.message import Message
from dispatcher.wire.topics import TopicError, validate_filter

__all__ = [
    "Message",
    "Outage",
    "QueuedPublisher",
    "Transport",
    "TransportError",
    "TransportStats",
    "check_publishable",
]

TransportErrorReason = Literal["closed", "backpressure", "connect", "protocol", "bad_topic"]


class TransportError(AlertsimError):
    """A transport failure; `reason` is one of a fixed set so callers can count causes."""

    def __init__(self, reason: TransportErrorReason, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason: TransportErrorReason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


@dataclass(slots=True)
class Outage:
    """One time the broker connection was down: from when to when (UTC ISO 8601; ``down_to``
    None while still down), the connection attempts it took to come back, and the publishes
    that had not been acknowledged when it went and were sent again."""

    down_from: str
    down_to: str | None = None
    reconnects: int = 0
    resent: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "from": self.down_from,
            "to": self.down_to,
            "reconnects": self.reconnects,
            "resent": self.resent,
        }


@dataclass(slots=True)
class TransportStats:
    """What a transport counted; names follow the report's `transport` section."""

    published: int = 0
    received: int = 0
    reconnects: int = 0
    connect_failures: int = 0
    backpressure_waits: int = 0
    # Publishes whose connection dropped before the broker acknowledged them; sent again.
    republished: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    # Every time an established connection was lost, in order.
    outages: list[Outage] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        out = {
            "published": self.published,
            "received": self.received,
            "reconnects": self.reconnects,
            "connect_failures": self.connect_failures,
            "backpressure_waits": self.backpressure_waits,
            "republished": self.republished,
        }
        out.update({f"error_{k}": v for k, v in sorted(self.errors.items())})
        return out


@runtime_checkable
class Transport(Protocol):
    """What the live driver and the swarm need from a broker connection."""

    @property
    def stats(self) -> TransportStats:
        """What the transport counted so far."""

    async def start(self) -> None:
        """Connect (or begin connecting); returns once the first connection is up."""

    async def publish(self, message: Message) -> None:
        """Queue a message for sending; waits while the outgoing queue is full."""

    def publish_nowait(self, message: Message) -> None:
        """Queue a message or raise TransportError("backpressure") when the queue is full."""

    async def subscribe(self, topic_filter: str) -> None:
        """Subscribe at QoS 1; the subscription survives reconnects."""

    def messages(self) -> AsyncIterator[Message]:
        """Received messages, in arrival order; ends when the transport is closed."""

    async def flush(self) -> None:
        """Wait until every queued message has been handed to the broker."""

    async def close(self) -> None:
        """Stop sending and receiving; later calls to publish raise TransportError("closed")."""


# MQTT strings carry a two-byte length (MQTT 5 section 1.5.4).
MAX_TOPIC_BYTES = 65_535


def check_publishable(message: Message, *, closed: bool) -> None:
    """TransportError unless ``message`` may be queued: open transport, a topic name MQTT takes."""
    if closed:
        raise TransportError("closed", f"publish to {message.topic[:200]}: transport is closed")
    topic = message.topic
    if not topic or "+" in topic or "#" in topic:
        raise TransportError(
            "bad_topic", f"publish: expected a topic name without wildcards, got {topic[:200]!r}"
        )
    size = len(topic.encode("utf-8", "surrogatepass"))
    if size > MAX_TOPIC_BYTES:
        raise TransportError(
            "bad_topic",
            f"publish: expected a topic of at most {MAX_TOPIC_BYTES:,} bytes, got {size:,}",
        )


class QueuedPublisher:
    """What both transports share: publish checks, a bounded outgoing queue with explicit
    backpressure (wait, or refuse with TransportError; never drop), and filter validation."""

    stats: TransportStats
    _outgoing: asyncio.Queue[Message]
    _filters: list[str]
    _closed: bool

    def _check(self, message: Message) -> None:
        check_publishable(message, closed=self._closed)

    async def publish(self, message: Message) -> None:
        self._check(message)
        if self._outgoing.full():
            self.stats.backpressure_waits += 1
        await self._outgoing.put(message)

    def publish_nowait(self, message: Message) -> None:
        self._check(message)
        try:
            self._outgoing.put_nowait(message)
        except asyncio.QueueFull:
            raise TransportError(
                "backpressure",
                f"publish to {message.topic}: outgoing queue full "
                f"({self._outgoing.maxsize} messages)",
            ) from None

    def _add_filter(self, topic_filter: str) -> None:
        if self._closed:
            raise TransportError("closed", f"subscribe {topic_filter}: transport is closed")
        try:
            validate_filter(topic_filter)
        except TopicError as exc:
            raise TransportError("bad_topic", f"subscribe: {exc}") from exc
        self._filters.append(topic_filter)
