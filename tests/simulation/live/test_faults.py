"""The fault proxy over a real mosquitto: cut half the connections, blackhole a district."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from dispatcher.transport.base import Message
from dispatcher.transport.mqtt import Backoff
from dispatcher.transport.secure import SecureMqttTransport
from simulation.faults import Fault
from simulation.live.proxy import FaultProxy, read_client_id
from tests.support.broker import Broker


def test_client_id_of_mqtt_3_and_5_connects() -> None:
    v311 = bytes([0x10, 17, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 5]) + b"abcde"
    v5 = bytes([0x10, 18, 0, 4]) + b"MQTT" + bytes([5, 2, 0, 60, 0, 0, 5]) + b"abcde"
    assert read_client_id(v311) == "abcde"
    assert read_client_id(v5) == "abcde"
    assert read_client_id(b"\x30garbage") is None
    assert read_client_id(b"\x10\x05\x00") is None


def client(proxy: FaultProxy, client_id: str) -> SecureMqttTransport:
    return SecureMqttTransport(
        f"mqtt://127.0.0.1:{proxy.port}",
        client_id=client_id,
        username=client_id,
        password="",
        keepalive_s=1,
        backoff=Backoff(base_s=0.05, max_s=0.3),
    )


async def wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout_s)


async def drain(t: SecureMqttTransport, seconds: float) -> list[bytes]:
    got: list[bytes] = []

    async def read() -> None:
        async for m in t.messages():
            got.append(m.payload)

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(read(), seconds)
    return got


async def test_half_the_connections_cut_reconnect(mosquitto: Broker) -> None:
    proxy = await FaultProxy(mosquitto.host, mosquitto.port).start()
    clients = [client(proxy, f"50010{i % 2 + 1}-c{i}") for i in range(8)]
    center = client(proxy, "center-cut")
    try:
        for c in [*clients, center]:
            await c.start()
        for c in clients:
            await c.subscribe(f"test/cut/{c.client_id}")
        cut = proxy.cut(Fault("all", "cut", share=0.5))
        assert 1 <= cut < 9
        # every cut connection back: a reconnect is counted once its filters are resubscribed
        everyone = [*clients, center]
        await wait_for(lambda: sum(c.stats.reconnects for c in everyone) >= cut, 15.0)
        for c in clients:
            await center.publish(Message(f"test/cut/{c.client_id}", c.client_id.encode()))
        await center.flush()
        got = await asyncio.gather(*(drain(c, 0.5) for c in clients))
        assert list(got) == [[c.client_id.encode()] for c in clients]
        assert sum(c.stats.reconnects for c in everyone) == cut
    finally:
        for c in [*clients, center]:
            await c.close(flush_timeout_s=0)
        await proxy.close()


async def test_blackholed_district_heals(mosquitto: Broker) -> None:
    proxy = await FaultProxy(mosquitto.host, mosquitto.port).start()
    inside, outside = client(proxy, "500101-bh"), client(proxy, "500102-bh")
    center = SecureMqttTransport(mosquitto.url, client_id="center-bh", username="c", password="")
    try:
        for c in (inside, outside, center):
            await c.start()
        await inside.subscribe("test/bh/500101")
        await outside.subscribe("test/bh/500102")
        proxy.add(Fault("district:500101", "blackhole", duration_s=3.0))  # > keepalive 1 s
        for code in ("500101", "500102"):
            # expires during the blackhole: the broker must not hand it over afterwards
            await center.publish(Message(f"test/bh/{code}", b"during", expiry_s=1))
        await center.flush()
        assert await drain(outside, 0.5) == [b"during"]
        assert await drain(inside, 0.5) == []
        # heal, then reconnect (a CONNECT lost in the hole waits out aiomqtt's 5 s timeout)
        await wait_for(lambda: inside.stats.reconnects >= 1 and inside.connected, 15.0)
        assert outside.stats.reconnects == 0
        await center.publish(Message("test/bh/500101", b"after"))
        await center.flush()
        assert await drain(inside, 1.0) == [b"after"]
        assert proxy.counts["dropped_chunks"] >= 1
    finally:
        for c in (inside, outside, center):
            await c.close(flush_timeout_s=0)
        await proxy.close()
