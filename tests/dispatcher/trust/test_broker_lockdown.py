"""The locked-down mosquitto: who may read and write what, checked by what subscribers received."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from dispatcher.core.plan import Recipient
from dispatcher.transport.base import Message
from dispatcher.trust.brokerauth import DISPATCHER_USER, mosquitto_password_hash
from dispatcher.trust.inbox import Inbox
from dispatcher.trust.signing import Delivery, Verifier, load_keyring, load_signer, write_key_set
from dispatcher.wire.messages import encode_alert
from dispatcher.wire.topics import alert_topic, district_center_topic, town_broadcast_topic
from tests.support.broker import free_port
from tests.support.secure_broker import SecureBroker
from tests.support.signed_alerts import D1, D2, T1, T2, T3, make_alert

M1, M2, M3 = f"{T1}-m0000", f"{T2}-m0000", f"{T3}-m0000"
TEAM = f"{D1}-d00"
RESPONDERS = [
    Recipient(M1, "grid", D1, T1),
    Recipient(M2, "grid", D1, T2),
    Recipient(M3, "grid", D2, T3),
    Recipient(TEAM, "district", D1, ""),
]
# Published after the messages under test, on a topic the subscriber may read: see `collect`.
SENTINEL = b"sentinel"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[SecureBroker]:
    b = SecureBroker(tmp_path, responders=RESPONDERS, tls_port=free_port())
    b.start()
    yield b
    b.stop()


@pytest.fixture
def permissive(tmp_path: Path) -> Iterator[SecureBroker]:
    # A deliberately wrong ACL: anyone may publish anywhere; only signatures stand in the way.
    b = SecureBroker(tmp_path, responders=RESPONDERS)
    b.start()
    assert b.files is not None
    b.files.acl.write_text(b.files.acl.read_text() + "\npattern readwrite alertsim/#\n")
    b.stop()
    b.start()
    yield b
    b.stop()


@asynccontextmanager
async def client(
    broker: SecureBroker, user: str | None, *, v311: bool = False, tls: Path | None = None
) -> AsyncIterator[aiomqtt.Client]:
    port = broker.tls_port if tls is not None else broker.port
    assert port is not None
    async with aiomqtt.Client(
        broker.host,
        port,
        identifier=user,
        username=user,
        password=broker.password(user) if user else None,
        protocol=aiomqtt.ProtocolVersion.V311 if v311 else aiomqtt.ProtocolVersion.V5,
        tls_context=ssl.create_default_context(cafile=str(tls)) if tls else None,
        timeout=5,
    ) as c:
        yield c


async def spoof(broker: SecureBroker, user: str, topic: str, payload: bytes, *, v311: bool) -> None:
    """Publish as ``user``; whether the broker acknowledges is beside the point.

    mosquitto 2.0.11 answers a refused QoS 1 publish with a PUBACK carrying reason 135 even on
    MQTT 3.1.1, which paho then treats as a broken connection; MQTT 5 gets a clean PUBACK 135.
    Either way the QoS 1 publish returns (or raises) once the broker has answered it.
    """
    try:
        async with client(broker, user, v311=v311) as attacker:
            await attacker.publish(topic, payload, qos=1)
    except aiomqtt.MqttError:
        pass


async def collect(c: aiomqtt.Client, sender: aiomqtt.Client, topic: str) -> list[aiomqtt.Message]:
    """What ``c`` received before a sentinel that ``sender`` now publishes on ``topic``.

    Each publish under test has been acknowledged or refused by the broker, and mosquitto
    hands a subscriber its messages in the order it took them in: whatever it let through
    arrives before the sentinel, so no quiet period has to be waited out to see "nothing".
    """
    await sender.publish(topic, SENTINEL, qos=1)
    got: list[aiomqtt.Message] = []

    async def read() -> None:
        async for m in c.messages:
            if m.topic.value == topic and m.payload == SENTINEL:
                return
            got.append(m)

    await asyncio.wait_for(read(), 10)
    return got


def test_password_hash_has_mosquittos_layout() -> None:
    text = mosquitto_password_hash("pw", salt=b"\x00" * 12)
    assert text.startswith("$7$101$AAAAAAAAAAAAAAAA$")
    assert len(text.split("$")[-1]) == 88


async def test_anonymous_and_wrong_password_refused(broker: SecureBroker) -> None:
    with pytest.raises(aiomqtt.MqttError):
        async with client(broker, None):
            pass
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(
            broker.host, broker.port, username=M1, password="guess", timeout=5
        ):
            pass


async def test_responder_cannot_spoof_an_alert(broker: SecureBroker) -> None:
    payload = encode_alert(make_alert())
    async with client(broker, M1) as victim:
        await victim.subscribe(alert_topic(D1, T1, M1), qos=1)
        await victim.subscribe(town_broadcast_topic(D1, T1), qos=1)
        for topic in (alert_topic(D1, T1, M1), town_broadcast_topic(D1, T1)):
            for v311 in (True, False):
                await spoof(broker, M2, topic, payload, v311=v311)
        async with client(broker, DISPATCHER_USER) as center:
            assert await collect(victim, center, alert_topic(D1, T1, M1)) == []
    async with client(broker, DISPATCHER_USER) as center, client(broker, M1) as victim:
        await victim.subscribe(alert_topic(D1, T1, M1), qos=1)
        await center.publish(alert_topic(D1, T1, M1), payload, qos=1)
        # the test can fail: delivery works
        assert len(await collect(victim, center, alert_topic(D1, T1, M1))) == 1


async def test_responder_cannot_ack_for_another(broker: SecureBroker) -> None:
    async with client(broker, DISPATCHER_USER) as center:
        await center.subscribe("alertsim/v1/ack/#", qos=1)
        await spoof(broker, M2, f"alertsim/v1/ack/a-1/{M1}", b"{}", v311=False)
        await spoof(broker, M2, f"alertsim/v1/ack/a-1/{M2}", b"{}", v311=False)
        async with client(broker, M2) as m2:
            got = await collect(center, m2, f"alertsim/v1/ack/sentinel/{M2}")
    assert [m.topic.value for m in got] == [f"alertsim/v1/ack/a-1/{M2}"]


@pytest.mark.parametrize(
    "topic_filter",
    [
        "#",
        "alertsim/#",
        "alertsim/v1/alert/+/+/+",
        f"alertsim/v1/alert/{D2}/#",
        alert_topic(D1, T2, M2),
        town_broadcast_topic(D2, T3),
        district_center_topic(D1),
    ],
)
async def test_wide_or_foreign_subscriptions_refused(
    broker: SecureBroker, topic_filter: str
) -> None:
    async with client(broker, M1) as m1, client(broker, DISPATCHER_USER) as center:
        await m1.subscribe(topic_filter, qos=1)
        await m1.subscribe(alert_topic(D1, T1, M1), qos=1)  # its own: for the sentinel
        for topic in (
            alert_topic(D1, T2, M2),
            town_broadcast_topic(D2, T3),
            district_center_topic(D1),
        ):
            await center.publish(topic, b"x", qos=1)
        assert await collect(m1, center, alert_topic(D1, T1, M1)) == []


async def test_district_team_reads_its_center_topic(broker: SecureBroker) -> None:
    async with client(broker, TEAM) as team, client(broker, DISPATCHER_USER) as center:
        await team.subscribe(district_center_topic(D1), qos=1)
        await team.subscribe(district_center_topic(D2), qos=1)
        await center.publish(district_center_topic(D1), b"x", qos=1)
        await center.publish(district_center_topic(D2), b"y", qos=1)
        got = await collect(team, center, district_center_topic(D1))
    assert [m.payload for m in got] == [b"x"]


async def test_tls_listener_with_the_generated_ca(broker: SecureBroker) -> None:
    assert broker.files is not None
    assert broker.files.ca is not None
    async with client(broker, M1, tls=broker.files.ca) as m1, client(broker, DISPATCHER_USER) as c:
        await m1.subscribe(alert_topic(D1, T1, M1), qos=1)
        await c.publish(alert_topic(D1, T1, M1), b"over tls", qos=1)
        assert [m.payload for m in await collect(m1, c, alert_topic(D1, T1, M1))] == [b"over tls"]


async def test_permissive_acl_still_rejected_by_signature(
    permissive: SecureBroker, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    now = datetime.now(UTC)
    write_key_set(keys, {D1: [T1, T2], D2: [T3]}, now=now - timedelta(days=1))
    inbox = Inbox(Verifier(load_keyring(keys)))
    good = encode_alert(make_alert(identifier="real", sent=now))
    town2 = load_signer(keys, "town-500101002")  # a stolen town key of the neighbour
    forged = encode_alert(make_alert(identifier="forged", sent=now, towns=(T1,)))
    city_wide = encode_alert(make_alert(identifier="cw", sent=now, districts=(D1, D2), towns=()))
    topic = alert_topic(D1, T1, M1)
    async with client(permissive, M1) as victim, client(permissive, M2) as attacker:
        await victim.subscribe(topic, qos=1)
        await attacker.publish(topic, good, qos=1)  # unsigned copy
        to_m1 = Delivery(M1, "", 0)
        await attacker.publish(
            topic, forged, qos=1, properties=_props(town2.properties(forged, to_m1))
        )
        await attacker.publish(
            topic, city_wide, qos=1, properties=_props(town2.properties(city_wide, to_m1))
        )
        sig = load_signer(keys, "municipal").properties(good, to_m1)
        await attacker.publish(topic, good.replace(b"red", b"RED"), qos=1, properties=_props(sig))
        got = await collect(victim, attacker, topic)
    assert len(got) == 4  # the broker let everything through ...
    verdicts = [inbox.receive(_message(m)).reason for m in got]
    assert verdicts == ["unsigned", "out_of_scope", "out_of_scope", "bad_signature"]
    assert inbox.counts["accepted"] == 0


async def test_captured_alert_replayed_after_a_minute_and_a_day(
    broker: SecureBroker, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    sent = datetime.now(UTC)
    write_key_set(keys, {D1: [T1]}, now=sent - timedelta(days=1))
    signer = load_signer(keys, "district-500101")
    payload = encode_alert(make_alert(identifier="cap-1", sent=sent, expires_in_s=2 * 86400))
    topic = alert_topic(D1, T1, M1)
    async with client(broker, M1) as m1, client(broker, DISPATCHER_USER) as center:
        await m1.subscribe(topic, qos=1)
        signature = signer.properties(payload, Delivery(M1, "", 0))
        await center.publish(topic, payload, qos=1, properties=_props(signature))
        captured = (await collect(m1, center, topic))[0]
    inbox = Inbox(Verifier(load_keyring(keys)))
    assert inbox.receive(_message(captured), now=sent).accepted
    assert inbox.receive(_message(captured), now=sent).outcome == "duplicate"
    fresh = Inbox(Verifier(load_keyring(keys)))  # a receiver that never saw it
    for later in (timedelta(minutes=1), timedelta(days=1)):
        assert fresh.receive(_message(captured), now=sent + later).reason == "replayed"
    assert fresh.counts == {"replayed": 2}


def _props(props: tuple[tuple[str, str], ...]) -> Properties:
    p = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    p.UserProperty = list(props)
    return p


def _message(m: aiomqtt.Message) -> Message:
    users = getattr(m.properties, "UserProperty", None) or []
    payload = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
    return Message(m.topic.value, payload, user_properties=tuple(users))
