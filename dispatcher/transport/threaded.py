"""Run a transport on a thread and event loop of its own, so its I/O never holds the caller's loop.

The live driver paces a SimPy model against the wall clock. With the MQTT client on the same
loop, a burst of acknowledgements held every due model event back: paho decodes a few hundred
packets per socket readiness and sends the queued publishes each PUBACK frees, up to 250 ms in
one callback. Here the inner transport runs on a thread of its own; the caller's loop only hands
messages over. The two threads still share the GIL, but CPython hands it over every switch
interval (5 ms), which bounds how long transport work can keep the caller waiting.

Hand-over is batched (one cross-thread wake-up per batch, not per message) and bounded in both
directions: at most `handoff_size` published messages wait for the thread (a full hand-over makes
`publish` wait, counted in `stats.backpressure_waits`, and `publish_nowait` refuse), and the
thread stops taking received messages from the inner transport while `handoff_size` wait for the
caller. An error the inner transport raises on the thread is raised to the caller by its next
`publish` or `flush`: nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

from dispatcher.transport.base import (
    Message,
    Transport,
    TransportError,
    TransportStats,
    check_publishable,
)

__all__ = ["ThreadedTransport"]

_T = TypeVar("_T")


class ThreadedTransport:
    """A `Transport` whose inner transport (made by `make`, on the thread) runs on a thread."""

    def __init__(
        self, make: Callable[[], Transport], *, name: str = "transport", handoff_size: int = 10_000
    ) -> None:
        if handoff_size < 1:
            raise ValueError(f"handoff_size: expected at least 1, got {handoff_size}")
        self._make = make
        self._name = name
        self._handoff_size = handoff_size
        self._inner: Transport | None = None
        self._closed = False
        self._failure: BaseException | None = None
        self._handoff_waits = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the thread's
        self._caller: asyncio.AbstractEventLoop | None = None
        # Caller -> thread. `_out_signalled` is set by the caller when it schedules a wake-up and
        # reset by the thread before it drains, so a message appended after the reset wakes it
        # again and none waits for a wake-up that already happened.
        self._outgoing: deque[Message] = deque()
        self._out_signalled = False
        self._room_wanted = False
        self._out_room = asyncio.Event()  # caller's loop
        # Thread -> caller; None marks the end of the inner transport's messages.
        self._incoming: deque[Message | None] = deque()
        self._in_signalled = False
        self._in_room_wanted = False
        self._in_ready = asyncio.Event()  # caller's loop
        # The thread's loop (an Event binds to the loop that first waits on it).
        self._out_wanted = asyncio.Event()
        self._drained = asyncio.Event()
        self._in_room = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- on the caller's loop -------------------------------------------------------------------

    @property
    def stats(self) -> TransportStats:
        """The inner transport's counters (a snapshot), hand-over waits counted as backpressure."""
        inner = self._inner.stats if self._inner is not None else TransportStats()
        return dataclasses.replace(
            inner,
            backpressure_waits=inner.backpressure_waits + self._handoff_waits,
            errors=dict(inner.errors),
            outages=list(inner.outages),
        )

    async def start(self) -> None:
        if self._closed:
            raise TransportError("closed", f"{self._name}: expected an open transport")
        self._caller = asyncio.get_running_loop()
        ready: concurrent.futures.Future[asyncio.AbstractEventLoop] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=_run_loop, args=(ready,), name=f"{self._name}-io", daemon=True
        )
        self._thread.start()
        self._loop = await asyncio.wrap_future(ready)
        try:
            await self._call(self._start_inner())
        except BaseException:
            await self._stop_thread()
            raise

    async def publish(self, message: Message) -> None:
        self._check(message)
        while len(self._outgoing) >= self._handoff_size:
            self._handoff_waits += 1
            self._out_room.clear()
            self._room_wanted = True
            if len(self._outgoing) < self._handoff_size:
                break  # the thread made room between the check and the flag
            await self._out_room.wait()
            self._check(message)
        self._hand_over(message)

    def publish_nowait(self, message: Message) -> None:
        self._check(message)
        if len(self._outgoing) >= self._handoff_size:
            raise TransportError(
                "backpressure",
                f"publish to {message.topic}: hand-over to {self._name} full "
                f"({self._handoff_size} messages)",
            )
        self._hand_over(message)

    async def subscribe(self, topic_filter: str) -> None:
        self._check_open(f"subscribe {topic_filter}")
        await self._call(self._subscribe_inner(topic_filter))

    async def messages(self) -> AsyncIterator[Message]:
        incoming = self._incoming
        while True:
            self._in_ready.clear()
            self._in_signalled = False
            if not incoming:
                await self._in_ready.wait()
                continue
            while incoming:
                message = incoming.popleft()
                if message is None:
                    return
                if self._in_room_wanted and len(incoming) <= self._handoff_size // 2:
                    self._in_room_wanted = False
                    self._wake_thread_reader()
                yield message

    async def flush(self) -> None:
        if self._loop is None:
            return
        await self._call(self._flush_inner())
        self._raise_failure()

    async def close(self, flush_timeout_s: float = 5.0) -> None:
        if self._closed:
            return
        self._closed = True
        self._out_room.set()  # a publisher waiting for room sees the transport closed
        if self._loop is not None:
            try:
                await self._call(self._close_inner(flush_timeout_s))
            finally:
                await self._stop_thread()
        self._incoming.append(None)
        self._in_ready.set()

    def _check(self, message: Message) -> None:
        self._raise_failure()
        check_publishable(message, closed=self._closed)

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise TransportError("closed", f"{what}: transport is closed")

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _hand_over(self, message: Message) -> None:
        self._outgoing.append(message)
        if not self._out_signalled and self._loop is not None and self._inner is not None:
            self._out_signalled = True
            self._loop.call_soon_threadsafe(self._out_wanted.set)

    def _wake_thread_reader(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._in_room.set)

    async def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        assert self._loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def _stop_thread(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            await asyncio.to_thread(thread.join)

    # -- on the thread's loop -------------------------------------------------------------------

    async def _start_inner(self) -> None:
        inner = self._make()
        await inner.start()
        self._inner = inner
        self._tasks = [asyncio.create_task(self._send()), asyncio.create_task(self._receive())]
        if self._outgoing:  # published before start: the caller could not wake a thread yet
            self._out_wanted.set()

    async def _subscribe_inner(self, topic_filter: str) -> None:
        assert self._inner is not None
        await self._inner.subscribe(topic_filter)

    async def _send(self) -> None:
        inner, outgoing = self._inner, self._outgoing
        assert inner is not None
        caller = self._caller
        assert caller is not None
        while True:
            await self._out_wanted.wait()
            self._out_wanted.clear()
            self._out_signalled = False
            try:
                while outgoing:
                    await inner.publish(outgoing[0])
                    outgoing.popleft()
                    if self._room_wanted and len(outgoing) <= self._handoff_size // 2:
                        self._room_wanted = False
                        caller.call_soon_threadsafe(self._out_room.set)
            except Exception as exc:  # raised to the caller by its next publish or flush
                self._failure = exc
                caller.call_soon_threadsafe(self._out_room.set)
                return
            finally:
                self._drained.set()

    async def _receive(self) -> None:
        inner, incoming = self._inner, self._incoming
        assert inner is not None
        caller = self._caller
        assert caller is not None
        try:
            async for message in inner.messages():
                incoming.append(message)
                self._signal_caller(caller)
                if len(incoming) >= self._handoff_size:
                    self._in_room.clear()
                    self._in_room_wanted = True
                    if len(incoming) >= self._handoff_size:
                        await self._in_room.wait()
        finally:
            incoming.append(None)
            self._signal_caller(caller)

    def _signal_caller(self, caller: asyncio.AbstractEventLoop) -> None:
        if not self._in_signalled:
            self._in_signalled = True
            with contextlib.suppress(RuntimeError):  # the caller's loop is gone: nobody reads
                caller.call_soon_threadsafe(self._in_ready.set)

    async def _flush_inner(self) -> None:
        assert self._inner is not None
        while self._outgoing and self._failure is None:
            self._drained.clear()
            self._out_wanted.set()
            await self._drained.wait()
        await self._inner.flush()

    async def _close_inner(self, flush_timeout_s: float) -> None:
        inner = self._inner
        if inner is None:
            return
        if flush_timeout_s > 0:
            with contextlib.suppress(TimeoutError, TransportError):
                await asyncio.wait_for(self._flush_inner(), flush_timeout_s)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await inner.close()


def _run_loop(ready: concurrent.futures.Future[asyncio.AbstractEventLoop]) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ready.set_result(loop)
    try:
        loop.run_forever()
    finally:
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
