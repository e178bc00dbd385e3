"""What the threaded transport adds to the contract: its own thread, bounds and errors carried back.

The inner transport here is the memory one, looped back on itself (one client subscribed to what
it publishes), so the hand-over in both directions is exercised without a broker; the contract
suite runs the threaded transport over a real mosquitto.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from dispatcher.transport import MemoryBroker, MemoryTransport, Message, TransportError
from dispatcher.transport.threaded import ThreadedTransport


class _Recording(MemoryTransport):
    """A memory transport that notes the thread it publishes on and can be made to fail."""

    def __init__(self) -> None:
        super().__init__(MemoryBroker())
        self.threads: set[int] = set()
        self.fail_with: TransportError | None = None

    async def publish(self, message: Message) -> None:
        self.threads.add(threading.get_ident())
        if self.fail_with is not None:
            raise self.fail_with
        await super().publish(message)


def _looped(handoff_size: int = 10_000) -> tuple[ThreadedTransport, list[_Recording]]:
    made: list[_Recording] = []

    def make() -> _Recording:
        made.append(_Recording())
        return made[-1]

    return ThreadedTransport(make, name="looped", handoff_size=handoff_size), made


async def _take(t: ThreadedTransport, count: int) -> list[Message]:
    got: list[Message] = []
    async for message in t.messages():
        got.append(message)
        if len(got) == count:
            break
    return got


async def test_inner_transport_runs_on_a_thread_of_its_own() -> None:
    t, made = _looped()
    await t.start()
    await t.subscribe("alertsim/v1/status/+")
    await t.publish(Message("alertsim/v1/status/a", b"1"))
    await t.flush()
    [got] = await asyncio.wait_for(_take(t, 1), 5)
    assert got.payload == b"1"
    assert made[0].threads
    assert threading.get_ident() not in made[0].threads
    assert t.stats.published == 1
    assert t.stats.received == 1
    await t.close()


async def test_messages_arrive_in_order_through_a_small_hand_over() -> None:
    # Four at a time: the thread stops taking messages until the caller reads, and resumes.
    t, _ = _looped(handoff_size=4)
    await t.start()
    await t.subscribe("alertsim/v1/status/+")
    for i in range(40):
        await t.publish(Message("alertsim/v1/status/a", str(i).encode()))
    await t.flush()
    got = await asyncio.wait_for(_take(t, 40), 5)
    assert [int(m.payload) for m in got] == list(range(40))
    await t.close()


async def test_an_error_on_the_thread_reaches_the_caller_on_its_next_call() -> None:
    t, made = _looped()
    await t.start()
    made[0].fail_with = TransportError("protocol", "broker refused the publish")
    await t.publish(Message("alertsim/v1/status/a", b"1"))
    with pytest.raises(TransportError) as on_flush:
        await asyncio.wait_for(t.flush(), 5)
    assert on_flush.value.reason == "protocol"
    with pytest.raises(TransportError) as on_publish:
        await t.publish(Message("alertsim/v1/status/a", b"2"))
    assert on_publish.value.reason == "protocol"
    await t.close()


async def test_a_failed_start_stops_the_thread_and_says_why() -> None:
    def make() -> MemoryTransport:
        raise TransportError("connect", "expected a broker, found none")

    t = ThreadedTransport(make, name="nowhere")
    before = {th.name for th in threading.enumerate()}
    with pytest.raises(TransportError, match="expected a broker"):
        await t.start()
    assert "nowhere-io" not in {th.name for th in threading.enumerate()} - before


def test_hand_over_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="handoff_size: expected at least 1, got 0"):
        ThreadedTransport(lambda: MemoryTransport(MemoryBroker()), handoff_size=0)
