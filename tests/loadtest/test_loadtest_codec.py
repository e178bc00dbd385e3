"""The swarm's MQTT decoder: any split of a stream decodes the same; bad bytes fail clearly."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest.mqtt import codec
from loadtest.mqtt.codec import Control, Decoder, Publish, WireError
from loadtest.mqtt.connection import InFlight

topics = st.binary(min_size=1, max_size=80)
payloads = st.binary(max_size=3000)  # past 127 and 16,383 bytes: 2- and 3-byte lengths
stamps = st.none() | st.binary(min_size=1, max_size=40)


@st.composite
def publishes(draw: st.DrawFn) -> tuple[bytes, Publish]:
    qos = draw(st.sampled_from([0, 1, 2]))
    packet_id = draw(st.integers(1, 65535)) if qos else 0
    topic, payload, stamp = draw(topics), draw(payloads), draw(stamps)
    packet = codec.publish_packet(topic, payload, qos, packet_id, stamp)
    return packet, Publish(topic, qos, packet_id, stamp, payload)


@st.composite
def controls(draw: st.DrawFn) -> tuple[bytes, Control]:
    kind = draw(st.sampled_from([codec.PUBACK, codec.PUBREC, codec.PUBREL, codec.PUBCOMP]))
    packet_id = draw(st.integers(1, 65535))
    packet = codec.ack_packet(kind, packet_id)
    return packet, Control(kind, packet[0] & 0x0F, packet_id.to_bytes(2))


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
    head, tail = codec.publish_template(b"alertsim/v1/alert/500101/500101001/r7", 5, 1)
    stamp = codec.fixed_stamp(1_700_000_000_123_456_789, 42)
    packet = head + (513).to_bytes(2) + tail + stamp + b"<cap>"

    found, _ = Decoder().feed(packet)

    assert found == [Publish(b"alertsim/v1/alert/500101/500101001/r7", 1, 513, stamp, b"<cap>")]
    assert stamp == b"1700000000123456789 0000000042"


def test_a_stamp_after_other_properties_is_still_found() -> None:
    properties = b"\x01\x01" + b"\x03" + (4).to_bytes(2) + b"text" + b"\x26" + (2).to_bytes(2)
    properties += b"k1" + (1).to_bytes(2) + b"v" + b"\x26" + codec._string(codec.STAMP_KEY)
    properties += codec._string(b"5 9")
    body = codec._string(b"t") + codec.varint(len(properties)) + properties + b"pay"
    packet = bytes([0x30]) + codec.varint(len(body)) + body

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
        decoder.feed(bytes([0x30]) + codec.varint(2000) + b"\x00")


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
