"""In-process transport for unit tests: a `MemoryBroker` routes messages between transports.

It behaves like a broker where the contract tests can see: MQTT wildcard matching (via
`dispatcher.wire.topics.matches`), one copy per matching subscription of a client, a bounded
outgoing queue drained by a background task, and no delivery to a client after it closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from dispatcher.transport.base import Message, QueuedPublisher, TransportError, TransportStats
from dispatcher.wire.topics import matches

DEFAULT_QUEUE_SIZE = 1000


class MemoryBroker:
    """The meeting point of memory transports; holds no messages of its own."""

    def __init__(self) -> None:
        self.clients: list[MemoryTransport] = []

    def route(self, message: Message) -> None:
        for client in self.clients:
            if client.wants(message.topic):
                client.deliver(message)


class MemoryTransport(QueuedPublisher):
    def __init__(self, broker: MemoryBroker, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.broker = broker
        self.stats = TransportStats()
        self._filters: list[str] = []
        self._outgoing: asyncio.Queue[Message] = asyncio.Queue(maxsize=queue_size)
        self._incoming: asyncio.Queue[Message | None] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        if self._closed:
            raise TransportError("closed", "memory transport: expected an open transport")
        self.broker.clients.append(self)
        self._pump = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            message = await self._outgoing.get()
            try:
                self.broker.route(message)
                self.stats.published += 1
            finally:
                self._outgoing.task_done()

    def wants(self, topic: str) -> bool:
        return not self._closed and any(matches(f, topic) for f in self._filters)

    def deliver(self, message: Message) -> None:
        self.stats.received += 1
        self._incoming.put_nowait(message)

    async def subscribe(self, topic_filter: str) -> None:
        self._add_filter(topic_filter)

    async def messages(self) -> AsyncIterator[Message]:
        while True:
            message = await self._incoming.get()
            if message is None:
                return
            yield message

    async def flush(self) -> None:
        await self._outgoing.join()

    async def close(self) -> None:
        if self._closed:
            return
        if self._pump is not None:
            await self.flush()
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        self._closed = True
        if self in self.broker.clients:
            self.broker.clients.remove(self)
        self._incoming.put_nowait(None)
