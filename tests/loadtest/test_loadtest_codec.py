"""The swarm's MQTT codec against the spec: any split of a stream decodes the same; bad bytes
fail clearly; the encoder writes what the spec says.

Every packet decoded here is assembled by hand from the MQTT 5 specification
(tests/support/mqtt5_packets.py, itself checked against paho's encoding), never by the codec's
own encoder, so a bug the encoder and decoder share cannot cancel out.
"""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties, VariableByteIntegers

from loadtest.mqtt import codec
from loadtest.mqtt.codec import STAMP_KEY, Control, Decoder, Publish, WireError
from loadtest.mqtt.connection import InFlight
from tests.support import mqtt5_packets as spec

topics = st.binary(min_size=1, max_size=80)
payloads = st.binary(max_size=3000)  # past 127 and 16,383 bytes: 2- and 3-byte lengths
stamps = st.none() | st.binary(min_size=1, max_size=40)
qos_levels = st.sampled_from([0, 1, 2])
packet_ids = st.integers(1, 65535)
varint_values = st.integers(0, 268_435_455)
# Properties a PUBLISH may carry besides the stamp, each as the spec encodes it.
other_properties = st.lists(
    st.one_of(
        st.integers(0, 1).map(lambda v: spec.byte_property(spec.PAYLOAD_FORMAT_INDICATOR, v)),
        st.integers(0, 2**32 - 1).map(
            lambda v: spec.four_byte_property(spec.MESSAGE_EXPIRY_INTERVAL, v)
        ),
        st.binary(max_size=40).map(lambda v: spec.binary_property(spec.CONTENT_TYPE, v)),
        st.binary(max_size=40).map(lambda v: spec.binary_property(spec.RESPONSE_TOPIC, v)),
        st.binary(max_size=40).map(lambda v: spec.binary_property(spec.CORRELATION_DATA, v)),
        varint_values.filter(bool).map(
            lambda v: spec.varint_property(spec.SUBSCRIPTION_IDENTIFIER, v)
        ),
        packet_ids.map(lambda v: spec.two_byte_property(spec.TOPIC_ALIAS, v)),
        st.tuples(
            st.binary(max_size=20).filter(lambda k: k != STAMP_KEY), st.binary(max_size=20)
        ).map(lambda kv: spec.user_property(*kv)),
    ),
    max_size=4,
)


@st.composite
def publishes(draw: st.DrawFn) -> tuple[bytes, Publish]:
    """A PUBLISH with the stamp (if any) anywhere among other properties, and what it holds."""
    qos = draw(qos_levels)
    packet_id = draw(packet_ids) if qos else 0
    topic, payload, stamp = draw(topics), draw(payloads), draw(stamps)
    props = draw(other_properties)
    if stamp is not None:
        props.insert(draw(st.integers(0, len(props))), spec.user_property(STAMP_KEY, stamp))
    packet = spec.publish(topic, payload, qos, packet_id, props)
    return packet, Publish(topic, qos, packet_id, stamp, payload)


@st.composite
def controls(draw: st.DrawFn) -> tuple[bytes, Control]:
    """An acknowledgement, CONNACK, SUBACK or PINGRESP, and its type, flags and body."""
    kinds = (spec.PUBACK, spec.PUBREC, spec.PUBREL, spec.PUBCOMP)
    kind = draw(st.sampled_from([*kinds, spec.CONNACK, spec.SUBACK, spec.PINGRESP]))
    if kind == spec.CONNACK:
        present, reason = draw(st.booleans()), draw(st.sampled_from([0x00, 0x80, 0x87, 0x8C]))
        return spec.connack(present, reason), Control(kind, 0, bytes([present, reason, 0]))
    if kind == spec.SUBACK:
        packet_id = draw(packet_ids)
        reasons = draw(st.lists(st.sampled_from([0, 1, 2, 0x80, 0x87]), min_size=1, max_size=20))
        body = struct.pack("!H", packet_id) + b"\x00" + bytes(reasons)
        return spec.suback(packet_id, reasons), Control(kind, 0, body)
    if kind == spec.PINGRESP:
        return spec.pingresp(), Control(kind, 0, b"")
    packet_id = draw(packet_ids)
    flags = 0b0010 if kind == spec.PUBREL else 0
    return spec.ack(kind, packet_id), Control(kind, flags, struct.pack("!H", packet_id))


def decode_in_pieces(stream: bytes, cuts: list[int]) -> tuple[list[Publish], list[Control]]:
    decoder = Decoder()
    got: tuple[list[Publish], list[Control]] = ([], [])
    bounds = [0, *sorted(c % (len(stream) + 1) for c in cuts), len(stream)]
    for start, end in itertools.pairwise(bounds):
        found, other = decoder.feed(stream[start:end])
        got[0].extend(found)
        got[1].extend(other)
    assert decoder.buffered_bytes == 0
    return got


@settings(max_examples=150, deadline=None)
@given(
    packets=st.lists(publishes() | controls(), min_size=1, max_size=12),
    cuts=st.lists(st.integers(min_value=0), max_size=20),
)
def test_any_split_of_a_stream_decodes_to_the_same_packets(
    packets: list[tuple[bytes, Publish | Control]], cuts: list[int]
) -> None:
    stream = b"".join(packet for packet, _ in packets)

    found, other = decode_in_pieces(stream, cuts)

    assert found == [p for _, p in packets if isinstance(p, Publish)]
    assert other == [c for _, c in packets if isinstance(c, Control)]


def test_the_publishers_template_decodes_to_its_stamp_and_payload() -> None:
    topic = b"alertsim/v1/alert/500101/500101001/r7"
    stamp = codec.fixed_stamp(1_700_000_000_123_456_789, 42)
    packet = spec.publish(topic, b"<cap>", 1, 513, [spec.user_property(STAMP_KEY, stamp)])

    found, _ = Decoder().feed(packet)

    assert found == [Publish(topic, 1, 513, stamp, b"<cap>")]
    assert stamp == b"1700000000123456789 0000000042"
    head, tail = codec.publish_template(topic, 5, 1)
    assert head + (513).to_bytes(2) + tail + stamp + b"<cap>" == packet


def test_a_stamp_after_other_properties_is_still_found() -> None:
    props = [
        spec.byte_property(spec.PAYLOAD_FORMAT_INDICATOR, 1),
        spec.binary_property(spec.CONTENT_TYPE, b"text"),
        spec.user_property(b"k1", b"v"),
        spec.user_property(STAMP_KEY, b"5 9"),
    ]
    packet = spec.publish(b"t", b"pay", 0, 0, props)
    # The bytes, spelt out once (section 3.3): header, topic, properties' length 0x2b (43), then
    # Payload Format Indicator, Content Type, and two User Properties, then the payload.
    assert packet == (
        b"\x30\x32\x00\x01t\x2b\x01\x01\x03\x00\x04text\x26\x00\x02k1\x00\x01v"
        b"\x26\x00\x12alertsim-scheduled\x00\x035 9pay"
    )

    found, _ = Decoder().feed(packet)

    assert found == [Publish(b"t", 0, 0, b"5 9", b"pay")]


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b"\x00\x00", "mqtt stream byte 0: packet type: expected 1-15, got 0"),
        (b"\x36\x00", "mqtt stream byte 0: PUBLISH QoS: expected 0, 1 or 2, got 3"),
        (b"\xff\xff\xff\xff\xff\x01", "remaining length: expected at most 4 bytes, got a 5th byte"),
        (
            b"\x40\x02\x00\x01" + b"\x60\x02\x00\x01",
            "byte 4: flags of packet type 6: expected 2, got 0",
        ),
        (b"\x30\x05\x00\x09abc", "PUBLISH topic: expected within 5 bytes, got longer"),
        (b"\x30\x04\x00\x01t\x05", "PUBLISH properties: expected within 4 bytes, got 5"),
        (b"\x30\x05\x00\x01t\x01\x7f", "PUBLISH property identifier: expected a known one"),
        (b"\x32\x04\x00\x01t\x00", "PUBLISH packet id: expected 1-65535 at QoS>0"),
    ],
)
def test_malformed_bytes_raise_a_clear_error(stream: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Decoder().feed(stream)


def test_a_declared_length_past_the_limit_fails_at_once_instead_of_waiting() -> None:
    decoder = Decoder(max_packet_bytes=1000)

    with pytest.raises(
        WireError, match=r"remaining length: expected at most 1,000 bytes, got 2,000"
    ):
        decoder.feed(bytes([0x30]) + spec.variable_byte_integer(2000) + b"\x00")


@settings(max_examples=300, deadline=None)
@given(junk=st.binary(max_size=200))
def test_arbitrary_bytes_either_decode_wait_or_fail_with_wire_error(junk: bytes) -> None:
    decoder = Decoder(max_packet_bytes=4096)
    try:
        decoder.feed(junk)
    except WireError:
        return
    # Not an error: whatever is kept waiting is a partial packet under the limit, never more.
    assert decoder.buffered_bytes <= 4096 + 5


# --- the encoder writes what the spec says ------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(topic=topics, payload=payloads, qos=qos_levels, packet_id=packet_ids, stamp=stamps)
def test_publish_packet_is_the_spec_publish(
    topic: bytes, payload: bytes, qos: int, packet_id: int, stamp: bytes | None
) -> None:
    props = [] if stamp is None else [spec.user_property(STAMP_KEY, stamp)]
    expected = spec.publish(topic, payload, qos, packet_id, props)
    assert codec.publish_packet(topic, payload, qos, packet_id, stamp) == expected


@settings(max_examples=50, deadline=None)
@given(
    topic=topics,
    payload_bytes=st.integers(0, 20_000),
    qos=qos_levels,
    packet_id=packet_ids,
    scheduled_ns=st.integers(0, 10**19 - 1),
    seq=st.integers(0, 10**10 - 1),
)
def test_publish_template_is_the_spec_publish_with_a_stamp(
    topic: bytes, payload_bytes: int, qos: int, packet_id: int, scheduled_ns: int, seq: int
) -> None:
    head, tail = codec.publish_template(topic, payload_bytes, qos)
    stamp = codec.fixed_stamp(scheduled_ns, seq)
    payload = b"p" * payload_bytes
    packet = head + (packet_id.to_bytes(2) if qos else b"") + tail + stamp + payload
    expected = spec.publish(topic, payload, qos, packet_id, [spec.user_property(STAMP_KEY, stamp)])
    assert packet == expected


def test_ack_packet_is_the_spec_ack() -> None:
    for kind in (spec.PUBACK, spec.PUBREC, spec.PUBREL, spec.PUBCOMP):
        for pid in (1, 255, 256, 4660, 65535):
            assert codec.ack_packet(kind, pid) == spec.ack(kind, pid), (kind, pid)


# Where a variable byte integer gains a byte, and the largest it can hold.
VARINT_EDGES = (0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455)


@settings(max_examples=50)
@given(value=varint_values)
def test_varint_is_the_spec_variable_byte_integer(value: int) -> None:
    for v in (value, *VARINT_EDGES):
        assert codec.varint(v) == spec.variable_byte_integer(v), v


@settings(max_examples=50)
@given(
    client_id=st.text(max_size=30),
    clean_start=st.booleans(),
    keep_alive_s=st.integers(0, 65535),
    session_expiry_s=st.integers(0, 2**32 - 1),
)
def test_connect_packet_is_the_spec_connect(
    client_id: str, clean_start: bool, keep_alive_s: int, session_expiry_s: int
) -> None:
    props = [spec.two_byte_property(spec.RECEIVE_MAXIMUM, 65535)]
    if session_expiry_s:
        props.append(spec.four_byte_property(spec.SESSION_EXPIRY_INTERVAL, session_expiry_s))
    expected = spec.connect(client_id.encode(), clean_start, keep_alive_s, props)
    packet = codec.connect_packet(
        client_id,
        clean_start=clean_start,
        keep_alive_s=keep_alive_s,
        session_expiry_s=session_expiry_s,
    )
    assert packet == expected


@settings(max_examples=50)
@given(pid=packet_ids, filters=st.lists(topics, min_size=1, max_size=5), qos=qos_levels)
def test_subscribe_packet_is_the_spec_subscribe(pid: int, filters: list[bytes], qos: int) -> None:
    assert codec.subscribe_packet(pid, filters, qos) == spec.subscribe(pid, filters, qos)


def test_ping_and_disconnect_are_the_spec_packets() -> None:
    assert codec.pingreq_packet() == spec.pingreq() == b"\xc0\x00"
    assert codec.disconnect_packet() == spec.disconnect() == b"\xe0\x00"


# --- the hand-made reference agrees with paho -----------------------------------------------------


def test_reference_variable_byte_integer_agrees_with_paho() -> None:
    for v in (*VARINT_EDGES, 300, 70_000, 10_000_000):
        paho = VariableByteIntegers.encode(v)  # type: ignore[no-untyped-call]
        assert spec.variable_byte_integer(v) == paho, v


@settings(max_examples=50)
@given(
    expiry_s=st.none() | st.integers(0, 2**32 - 1),
    correlation=st.none() | st.binary(max_size=40),
    pairs=st.lists(st.tuples(st.text(max_size=20), st.text(max_size=40)), max_size=5),
)
def test_reference_properties_agree_with_paho(
    expiry_s: int | None, correlation: bytes | None, pairs: list[tuple[str, str]]
) -> None:
    paho = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    ours: list[bytes] = []
    # paho writes properties in its table's order: expiry (2), correlation data (9), users (38).
    if expiry_s is not None:
        paho.MessageExpiryInterval = expiry_s
        ours.append(spec.four_byte_property(spec.MESSAGE_EXPIRY_INTERVAL, expiry_s))
    if correlation is not None:
        paho.CorrelationData = correlation
        ours.append(spec.binary_property(spec.CORRELATION_DATA, correlation))
    if pairs:
        paho.UserProperty = pairs
        ours.extend(spec.user_property(k.encode(), v.encode()) for k, v in pairs)
    assert spec.properties(ours) == paho.pack()  # type: ignore[no-untyped-call]


# --- packet ids in flight -------------------------------------------------------------------------


def test_in_flight_ids_are_never_reused_while_unacknowledged() -> None:
    inflight = InFlight(limit=3)
    first = [inflight.acquire() for _ in range(3)]

    with pytest.raises(ValueError, match="in-flight: expected fewer than 3 unacked, got 3"):
        inflight.acquire()
    assert inflight.release(first[1])
    assert not inflight.release(first[1])
    assert inflight.acquire() not in {first[0], first[2]}
    assert inflight.room == 0


def test_in_flight_ids_wrap_past_65535_skipping_those_still_out() -> None:
    inflight = InFlight()
    held = inflight.acquire()  # id 1 stays unacknowledged throughout
    for _ in range(65533):
        inflight.release(inflight.acquire())
    last = inflight.acquire()
    inflight.release(last)

    assert (held, last) == (1, 65535)
    assert inflight.acquire() == 2  # wrapped, and 1 skipped because still in flight
