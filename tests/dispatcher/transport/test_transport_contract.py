"""One contract for every Transport: memory, MQTT against a real mosquitto, and MQTT on a thread.

Part of the contract: `subscribe` returns once the subscription is in force (MQTT: after the
broker's SUBACK), so a test publishes right after it, with no wait in between.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from dispatcher.transport import MemoryBroker, MemoryTransport, Message, Transport, TransportError
from dispatcher.transport.mqtt import Backoff, BrokerAddress, MqttTransport
from dispatcher.transport.threaded import ThreadedTransport
from tests.support.broker import Broker
from tests.support.waiting import eventually

_ids = itertools.count()

Factory = Callable[..., Transport]


@pytest.fixture(params=["memory", "mqtt", "threaded"])
async def factory(request: pytest.FixtureRequest) -> AsyncIterator[Factory]:
    made: list[Transport] = []
    if request.param == "memory":
        hub = MemoryBroker()

        def make(**kw: Any) -> Transport:
            t = MemoryTransport(hub, **kw)
            made.append(t)
            return t
    else:
        broker: Broker = request.getfixturevalue("mosquitto")
        threaded = request.param == "threaded"

        def make(**kw: Any) -> Transport:
            client_id = f"contract-{next(_ids)}"
            t: Transport
            if threaded:
                # The hand-over is the threaded transport's own queue: it takes the bound.
                t = ThreadedTransport(
                    lambda: MqttTransport(broker.url, client_id=client_id, **kw),
                    name=client_id,
                    handoff_size=kw.get("queue_size", 10_000),
                )
            else:
                t = MqttTransport(broker.url, client_id=client_id, **kw)
            made.append(t)
            return t

    yield make
    for t in made:
        if isinstance(t, MqttTransport | ThreadedTransport):
            await t.close(flush_timeout_s=1.0)
        else:
            await t.close()


async def _collect(t: Transport, count: int, timeout_s: float = 5.0) -> list[Message]:
    out: list[Message] = []

    async def take() -> None:
        async for m in t.messages():
            out.append(m)
            if len(out) == count:
                return

    await asyncio.wait_for(take(), timeout_s)
    return out


async def _collect_until(t: Transport, payload: bytes, timeout_s: float = 5.0) -> list[Message]:
    """Every message up to and including the first one carrying ``payload``."""
    out: list[Message] = []

    async def take() -> None:
        async for m in t.messages():
            out.append(m)
            if m.payload == payload:
                return

    await asyncio.wait_for(take(), timeout_s)
    return out


async def test_subscriber_receives_matching_messages_with_properties(factory: Factory) -> None:
    sub, pub = factory(), factory()
    await sub.start()
    await pub.start()
    await sub.subscribe("alertsim/v1/ack/+/+")
    sent = Message(
        "alertsim/v1/ack/a-1/r-1",
        b'{"x":1}',
        expiry_s=60,
        response_topic="alertsim/v1/ack/a-1/r-1",
        correlation_data=b"a-1",
        user_properties=(("sent_at_ns", "123"),),
    )
    await pub.publish(Message("alertsim/v1/status/other", b"not for sub"))
    await pub.publish(sent)
    await pub.flush()
    [got] = await _collect(sub, 1)
    assert got.topic == sent.topic
    assert got.payload == sent.payload
    assert got.correlation_data == b"a-1"
    assert got.response_topic == sent.response_topic
    assert got.user_property("sent_at_ns") == "123"
    assert got.expiry_s is not None
    assert 0 < got.expiry_s <= 60
    assert pub.stats.published == 2
    assert sub.stats.received == 1


async def test_every_message_of_a_burst_arrives(factory: Factory) -> None:
    sub, pub = factory(), factory()
    await sub.start()
    await pub.start()
    await sub.subscribe("alertsim/v1/status/#")
    for i in range(50):
        await pub.publish(Message(f"alertsim/v1/status/c{i}", str(i).encode()))
    await pub.flush()
    got = await _collect(sub, 50)
    assert sorted(int(m.payload) for m in got) == list(range(50))


async def test_full_queue_refuses_publish_nowait_and_counts_waits(factory: Factory) -> None:
    pub = factory(queue_size=2)
    # Not started: nothing drains the queue, so it fills.
    pub.publish_nowait(Message("alertsim/v1/status/a", b"1"))
    pub.publish_nowait(Message("alertsim/v1/status/a", b"2"))
    with pytest.raises(TransportError) as caught:
        pub.publish_nowait(Message("alertsim/v1/status/a", b"3"))
    assert caught.value.reason == "backpressure"
    waiting = asyncio.create_task(pub.publish(Message("alertsim/v1/status/a", b"3")))
    await eventually(
        lambda: pub.stats.backpressure_waits == 1,
        "the blocked publish to count one backpressure wait",
        state=lambda: pub.stats.backpressure_waits,
    )
    # Counted as waiting, and nothing drains the queue: it must still be blocked.
    assert not waiting.done()
    assert pub.stats.backpressure_waits == 1
    await pub.start()
    await asyncio.wait_for(waiting, 5)
    await pub.flush()
    assert pub.stats.published == 3


async def test_bad_filter_topic_and_closed_transport_raise_transport_error(
    factory: Factory,
) -> None:
    t = factory()
    await t.start()
    with pytest.raises(TransportError) as bad_filter:
        await t.subscribe("alertsim/#/x")
    assert bad_filter.value.reason == "bad_topic"
    with pytest.raises(TransportError) as bad_topic:
        await t.publish(Message("alertsim/v1/+/x", b""))
    assert bad_topic.value.reason == "bad_topic"
    await t.close()
    with pytest.raises(TransportError) as closed:
        await t.publish(Message("alertsim/v1/status/a", b""))
    assert closed.value.reason == "closed"


async def test_a_topic_too_long_for_mqtt_is_refused_at_publish(factory: Factory) -> None:
    # MQTT strings have a two-byte length: paho failed on such a topic inside a sender task,
    # which lost the message and left flush waiting forever.
    t = factory()
    await t.start()
    with pytest.raises(TransportError, match="at most 65,535 bytes, got 65,536") as caught:
        await t.publish(Message("alertsim/" + "x" * (65_536 - 9), b""))
    assert caught.value.reason == "bad_topic"
    await t.publish(Message("alertsim/v1/status/a", b"still open"))
    await asyncio.wait_for(t.flush(), 5)
    assert t.stats.published == 1


async def test_messages_iterator_ends_on_close(factory: Factory) -> None:
    t = factory()
    await t.start()
    await t.subscribe("alertsim/#")

    iterating = asyncio.Event()

    async def drain() -> int:
        iterating.set()  # the task runs on into the iterator and blocks there before we resume
        return len([m async for m in t.messages()])

    task = asyncio.create_task(drain())
    await asyncio.wait_for(iterating.wait(), 5)
    assert not task.done()
    await t.close()
    assert await asyncio.wait_for(task, 5) == 0


def test_broker_address_parses_urls_and_names_bad_ones() -> None:
    assert BrokerAddress.parse("mqtt://127.0.0.1:1999") == BrokerAddress("127.0.0.1", 1999)
    assert BrokerAddress.parse("mqtt://broker").port == 1883
    with pytest.raises(TransportError, match="expected mqtt://host:port, got 'http://x'"):
        BrokerAddress.parse("http://x")


def test_backoff_is_jittered_and_capped() -> None:
    import random

    backoff, rng = Backoff(base_s=0.1, max_s=1.0), random.Random(1)
    delays = [backoff.delay_s(a, rng) for a in range(20)]
    assert all(0.0 <= d <= 1.0 for d in delays)
    assert all(d <= 0.1 * 2**a for a, d in enumerate(delays))
    assert len(set(delays)) == 20


async def test_mqtt_connect_to_nothing_fails_with_transport_error() -> None:
    from tests.support.broker import free_port

    t = MqttTransport(f"mqtt://127.0.0.1:{free_port()}", client_id="nobody", connect_timeout_s=0.5)
    with pytest.raises(TransportError) as caught:
        await t.start()
    assert caught.value.reason == "connect"
    assert t.stats.connect_failures >= 1


async def test_mqtt_reconnects_resubscribes_and_resends_after_broker_restart(
    private_mosquitto: Broker,
) -> None:
    sub = MqttTransport(private_mosquitto.url, client_id="restart-sub")
    pub = MqttTransport(private_mosquitto.url, client_id="restart-pub")
    await sub.start()
    await pub.start()
    # The publisher hears its own topic too: a transport resubscribes before it resends, so
    # what it queued comes back to it whichever client the restarted broker sees first (the
    # separate subscriber may reconnect after the resend, and the broker keeps no session).
    for t in (sub, pub):
        await t.subscribe("alertsim/v1/status/+")
    private_mosquitto.kill()
    await eventually(
        lambda: not sub.connected and not pub.connected,
        "both clients to notice the broker is gone",
        state=lambda: {"sub": sub.connected, "pub": pub.connected},
    )
    assert not sub.connected
    # Queued while the broker is down: must arrive after it comes back.
    await pub.publish(Message("alertsim/v1/status/x", b"after"))
    private_mosquitto.start()
    [got] = await _collect(pub, 1, timeout_s=10)
    assert got.payload == b"after"
    # The subscriber is back with its subscription: what is published now reaches it.
    await eventually(lambda: sub.connected, "the subscriber to reconnect and resubscribe")
    await pub.publish(Message("alertsim/v1/status/x", b"back"))
    got_by_sub = await _collect_until(sub, b"back", timeout_s=10)
    assert got_by_sub[-1].payload == b"back"
    assert {m.payload for m in got_by_sub} <= {b"after", b"back"}
    assert sub.stats.reconnects >= 1
    assert pub.stats.reconnects >= 1
    await sub.close()
    await pub.close()


async def test_mqtt_a_message_paho_refuses_is_counted_and_the_rest_go_on(
    mosquitto: Broker,
) -> None:
    # A user property name past MQTT's two-byte string length: paho's packing raises. The
    # message is counted as refused, not resent forever, and flush does not wait on it.
    t = MqttTransport(mosquitto.url, client_id="refused-pub", senders=1)
    await t.start()
    await t.publish(Message("alertsim/v1/status/a", b"1", user_properties=(("k" * 70_000, "v"),)))
    await t.publish(Message("alertsim/v1/status/a", b"2"))
    await asyncio.wait_for(t.flush(), 5)
    assert t.stats.errors == {"refused": 1}
    assert t.stats.published == 1
    await t.close()
