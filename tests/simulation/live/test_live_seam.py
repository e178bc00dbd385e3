"""The live side of the Reach seam, over an in-memory broker and a model that records its calls.

What the live reach publishes for a delivery or a relay, and what the inbound side asks of the
world (`stamp`, `reply`, `handle`) when receipts, acknowledgements and relays come back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from dispatcher.core.events import Acknowledged, Delivered, Event, FoundAbsent
from dispatcher.core.plan import Center, Recipient
from dispatcher.transport import MemoryBroker, MemoryTransport, Message
from dispatcher.wire import properties as prop
from dispatcher.wire.alerts import InfoText
from dispatcher.wire.envelopes import ABSENT_NOTE, ack_message
from dispatcher.wire.messages import decode_alert
from dispatcher.wire.topics import center_topic, topic_for
from simulation.alerttext import AlertWords, alert_lengths
from simulation.behaviour import Streams
from simulation.experiment.virtual import build_city
from simulation.live.driver import LiveDriver
from simulation.model.clock import Environment
from simulation.model.reach import IssuedAlert
from simulation.model.world import World
from simulation.scenario import Scenario
from tests.support.scenarios import load

MEMBER = Recipient("500101001-m0000", "grid", "500101", "500101001")
HANDED_S = 3.0  # the model's now when the tests hand alerts out (paced at speed 1 from 0 s)
NOW_S = 5.0  # ... and when messages come back


class RecordingModel:
    """The world as the live side sees it, recording what it is asked to do and when."""

    def __init__(self, scenario: Scenario) -> None:
        self.env = Environment()
        self.done = self.env.event()
        self.scenario = scenario
        self.streams = Streams(scenario.seed)
        self.handled: list[tuple[float, Event]] = []
        self.replied: list[tuple[float, Acknowledged]] = []
        self.stamped: list[tuple[float, Delivered]] = []

    def handle(self, event: Event) -> None:
        self.handled.append((self.env.now, event))

    def reply(self, ack: Acknowledged) -> None:
        self.replied.append((self.env.now, ack))

    def stamp(self, delivered: Delivered, at_s: float) -> None:
        self.stamped.append((at_s, delivered))

    def issued(self, alert_id: str) -> IssuedAlert:
        return IssuedAlert(alert_id, "red", 0.0, 7200.0, ("500101",), 1, 0)


class Live:
    def __init__(self, driver: LiveDriver, model: RecordingModel, wire: AsyncIterator[Message]):
        self.driver, self.model, self.wire = driver, model, wire

    def later(self) -> None:
        """Move the model on from handing out (HANDED_S) to when answers come back (NOW_S)."""
        self.model.env.run(until=NOW_S)

    async def published(self, count: int) -> list[Message]:
        """Drain the outbox and return what reached the broker."""
        self.driver.outbox.start()
        await self.driver.outbox.close()
        await self.driver.transport.flush()
        return [await asyncio.wait_for(anext(self.wire), 5.0) for _ in range(count)]


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    hub = MemoryBroker()
    listener, transport = MemoryTransport(hub), MemoryTransport(hub)
    await listener.start()
    await listener.subscribe("alertsim/#")
    await transport.start()
    driver = LiveDriver(transport, speed=1.0)
    model = RecordingModel(load(tmp_path).scenario)
    driver.reach.attach(model)
    driver.pacer.start(model.env)
    model.env.run(until=HANDED_S)
    yield Live(driver, model, listener.messages())
    await transport.close()
    await listener.close()


async def test_a_delivery_is_published_and_its_receipt_stamped_at_the_device_time(
    live: Live,
) -> None:
    driver, model = live.driver, live.model
    driver.reach.deliver("a-1", MEMBER, "app_push", 0)
    (message,) = await live.published(1)
    assert message.topic == topic_for(MEMBER)
    assert message.user_property(prop.RUNG) == "0"
    assert decode_alert(message.payload).identifier == "a-1"
    assert driver.counters.published == 1
    live.later()
    receipt = ack_message("a-1", MEMBER.id, "app_push", "received", received_at_s=4.5)
    driver.receive(receipt)
    driver.receive(receipt)  # a QoS 1 redelivery
    assert model.stamped == [(4.5, Delivered("a-1", MEMBER.id, "app_push", 0))]
    assert (driver.counters.delivered, driver.counters.duplicates) == (1, 1)


async def test_a_delivery_carries_the_alerts_own_words_in_every_language(live: Live) -> None:
    texts = (
        InfoText("zh-CN", "暴雨", "万州区暴雨红色预警", "立即转移。", "万州区"),
        InfoText("en-US", "Flood", "red warning for Wanzhou", "Move now.", "Wanzhou"),
    )
    issued = IssuedAlert("a-2", "red", 0.0, 7200.0, ("500101",), 1, 0)
    words = AlertWords(texts, alert_lengths(live.model.scenario.alert, texts))
    live.model.issued = lambda alert_id: replace(issued, words=words)  # type: ignore[method-assign]
    live.driver.reach.deliver("a-2", MEMBER, "sms", 1)
    (message,) = await live.published(1)
    alert = decode_alert(message.payload)
    assert [(i.language, i.headline, i.instruction, i.area.area_desc) for i in alert.infos] == [
        ("zh-CN", "万州区暴雨红色预警", "立即转移。", "500101001"),  # the recipient's area
        ("en-US", "red warning for Wanzhou", "Move now.", "500101001"),
    ]
    assert all(i.area.towns == ("500101001",) for i in alert.infos)


async def test_an_acknowledgement_goes_back_over_its_channel_now(live: Live) -> None:
    driver, model = live.driver, live.model
    driver.reach.deliver("a-1", MEMBER, "sms", 1)
    live.later()
    acked = ack_message("a-1", MEMBER.id, "sms", "acknowledged", read_at_s=4.0, acked_at_s=4.5)
    driver.receive(acked)
    driver.receive(ack_message("a-1", "500101001-m0001", "sms", "acknowledged"))  # never sent
    model.env.run()
    assert model.replied == [(NOW_S, Acknowledged("a-1", MEMBER.id, "sms", 1, 4.0, 4.5))]
    assert driver.counters.acknowledged == 1
    assert driver.counters.rejected == {"unknown": 1}


async def test_device_stamps_outside_handed_out_to_now_are_rejected(live: Live) -> None:
    """A device that claims to have had the alert before it was sent, or to answer in the
    future, or to press before reading: rejected, counted by name, nothing reaches the model."""
    driver, model = live.driver, live.model
    driver.reach.deliver("a-1", MEMBER, "sms", 0)
    live.later()
    bad = [
        ack_message("a-1", MEMBER.id, "sms", "received", received_at_s=0.0),
        ack_message("a-1", MEMBER.id, "sms", "acknowledged", read_at_s=0.0, acked_at_s=1.0),
        ack_message("a-1", MEMBER.id, "sms", "acknowledged", read_at_s=4.0, acked_at_s=7200.0),
        ack_message("a-1", MEMBER.id, "sms", "acknowledged", read_at_s=4.5, acked_at_s=4.0),
    ]
    for message in bad:
        driver.receive(message)
    model.env.run()
    assert driver.counters.rejected == {"stamp_out_of_window": 4}
    assert (model.stamped, model.replied) == ([], [])
    assert (driver.counters.delivered, driver.counters.acknowledged) == (0, 0)
    # Within the window, the same recipient is still heard (stamps at the window's edges).
    driver.receive(ack_message("a-1", MEMBER.id, "sms", "received", received_at_s=HANDED_S))
    driver.receive(
        ack_message("a-1", MEMBER.id, "sms", "acknowledged", read_at_s=4.0, acked_at_s=NOW_S)
    )
    model.env.run()
    assert model.stamped == [(HANDED_S, Delivered("a-1", MEMBER.id, "sms", 0))]
    assert model.replied == [(NOW_S, Acknowledged("a-1", MEMBER.id, "sms", 0, 4.0, NOW_S))]


async def test_a_door_knock_that_found_nobody_is_handed_to_the_model(live: Live) -> None:
    driver, model = live.driver, live.model
    driver.reach.deliver("a-1", MEMBER, "door_knock", 3)
    live.later()
    driver.receive(ack_message("a-1", MEMBER.id, "door_knock", "received", note=ABSENT_NOTE))
    model.env.run()
    assert model.handled == [(NOW_S, FoundAbsent("a-1", MEMBER.id))]
    assert model.stamped == []
    assert driver.counters.absent == 1


async def test_a_relay_is_published_apart_and_arrives_once(live: Live) -> None:
    driver, model = live.driver, live.model
    arrived: list[float] = []
    driver.reach.relay("a-1", Center("town", MEMBER.town), lambda: arrived.append(model.env.now))
    (message,) = await live.published(1)
    assert message.topic == center_topic(MEMBER.district, MEMBER.town)
    # Not an alert the swarm should receive: lost = published - delivered stays the swarm's.
    assert (driver.counters.published, driver.counters.relays_published) == (0, 1)
    live.later()
    driver.receive(message)
    driver.receive(message)
    model.env.run()
    assert arrived == [NOW_S]
    assert driver.counters.relays_received == 1
    assert driver.counters.rejected == {"relay_unknown": 1}


async def test_a_world_built_without_the_drivers_reach_is_refused(tmp_path: Path) -> None:
    loaded = load(tmp_path)
    driver = LiveDriver(MemoryTransport(MemoryBroker()), speed=1.0)
    with pytest.raises(ValueError, match=r"expected a world built with reach=driver\.reach"):
        await driver.run(World(loaded.scenario, build_city(loaded)))
