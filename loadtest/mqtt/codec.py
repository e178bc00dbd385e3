"""MQTT 5 packets the load generator speaks: encoders, and an incremental stream decoder.

Sans-I/O, like h11: :class:`Decoder` is fed whatever bytes a socket produced, in chunks split
anywhere, and returns every complete packet in them; no I/O and no clock. Only what the swarm, its
publisher and its relays need is here: CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH at QoS 0/1/2
with its acknowledgements, PINGREQ/PINGRESP and DISCONNECT. PUBLISH is parsed straight out of the
received buffer in one loop (the hot path of a 121,000-message fan-out), and its one property of
interest, the publisher's schedule stamp (a User Property), is picked out there too.

Malformed input raises :class:`WireError` naming the offset and what was found; a declared packet
larger than ``max_packet_bytes`` is refused at once rather than waited for, so a corrupt length
can never leave a reader waiting forever.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from dispatcher.errors import AlertsimError

__all__ = [
    "CONNACK",
    "DISCONNECT",
    "PINGREQ",
    "PINGRESP",
    "PUBACK",
    "PUBCOMP",
    "PUBLISH",
    "PUBREC",
    "PUBREL",
    "STAMP_KEY",
    "SUBACK",
    "Control",
    "Decoder",
    "Publish",
    "WireError",
    "ack_packet",
    "connect_packet",
    "disconnect_packet",
    "fixed_stamp",
    "pingreq_packet",
    "publish_packet",
    "publish_template",
    "subscribe_packet",
    "varint",
]

CONNECT: Final = 1
CONNACK: Final = 2
PUBLISH: Final = 3
PUBACK: Final = 4
PUBREC: Final = 5
PUBREL: Final = 6
PUBCOMP: Final = 7
SUBSCRIBE: Final = 8
SUBACK: Final = 9
PINGREQ: Final = 12
PINGRESP: Final = 13
DISCONNECT: Final = 14
AUTH: Final = 15

# The publisher's stamp, a User Property: "<scheduled send time, unix ns> <message sequence>".
STAMP_KEY: Final = b"alertsim-scheduled"
_STAMP_HEAD: Final = len(STAMP_KEY).to_bytes(2) + STAMP_KEY
_STAMP_HEAD_END: Final = 1 + len(_STAMP_HEAD)
DEFAULT_MAX_PACKET_BYTES: Final = 1 << 20
# Flags a packet of each type must carry (MQTT 5 section 2.1.3); PUBLISH's flags vary.
_FIXED_FLAGS: Final = {
    CONNACK: 0,
    PUBACK: 0,
    PUBREC: 0,
    PUBREL: 2,
    PUBCOMP: 0,
    SUBACK: 0,
    PINGREQ: 0,
    PINGRESP: 0,
    DISCONNECT: 0,
    AUTH: 0,
    CONNECT: 0,
    SUBSCRIBE: 2,
}
# Property identifier -> size of its value: >0 fixed bytes, -1 two-byte-length string or binary,
# -2 string pair, -3 variable byte integer (MQTT 5 section 2.2.2.2).
_PROPERTY_SIZES: Final = {
    0x01: 1, 0x02: 4, 0x03: -1, 0x08: -1, 0x09: -1, 0x0B: -3, 0x11: 4, 0x12: -1, 0x13: 2,
    0x15: -1, 0x16: -1, 0x17: 1, 0x18: 4, 0x19: 1, 0x1A: -1, 0x1C: -1, 0x1F: -1, 0x21: 2,
    0x22: 2, 0x23: 2, 0x24: 1, 0x25: 1, 0x26: -2, 0x27: 4, 0x28: 1, 0x29: 1, 0x2A: 1,
}  # fmt: skip


class WireError(AlertsimError, ValueError):
    """Bytes that are not a valid MQTT 5 packet stream (where, what was found, what expected)."""


class Publish(NamedTuple):
    """One received PUBLISH: ``stamp`` is the schedule stamp's value, or None when absent."""

    topic: bytes
    qos: int
    packet_id: int
    stamp: bytes | None
    payload: bytes


class Control(NamedTuple):
    """Any other packet: its type, fixed-header flags and body (variable header and payload)."""

    kind: int
    flags: int
    body: bytes


def varint(value: int) -> bytes:
    """MQTT's Variable Byte Integer (section 1.5.5)."""
    if not 0 <= value < 268_435_456:
        raise WireError(f"varint: expected 0 <= value < 268435456, got {value}")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def _string(text: bytes) -> bytes:
    return len(text).to_bytes(2) + text


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + varint(len(body)) + body


def connect_packet(
    client_id: str, *, clean_start: bool = True, keep_alive_s: int = 60, session_expiry_s: int = 0
) -> bytes:
    """CONNECT, MQTT 5; Receive Maximum 65,535 so the broker may keep that many QoS>0 in flight."""
    properties = b"\x21\xff\xff"
    if session_expiry_s:
        properties += b"\x11" + session_expiry_s.to_bytes(4)
    variable = (
        _string(b"MQTT")
        + b"\x05"
        + bytes([0x02 if clean_start else 0x00])
        + keep_alive_s.to_bytes(2)
        + varint(len(properties))
        + properties
    )
    return _packet(CONNECT << 4, variable + _string(client_id.encode("utf-8")))


def subscribe_packet(packet_id: int, topics: list[bytes], qos: int) -> bytes:
    body = packet_id.to_bytes(2) + b"\x00" + b"".join(_string(t) + bytes([qos]) for t in topics)
    return _packet(SUBSCRIBE << 4 | 2, body)


def publish_packet(
    topic: bytes, payload: bytes, qos: int, packet_id: int, stamp: bytes | None
) -> bytes:
    """PUBLISH; the stamp travels as a User Property (section 3.3.2.3.7) so payloads stay real."""
    properties = b""
    if stamp is not None:
        properties = b"\x26" + _string(STAMP_KEY) + _string(stamp)
    variable = (
        _string(topic)
        + (packet_id.to_bytes(2) if qos else b"")
        + varint(len(properties))
        + properties
    )
    header = bytes([PUBLISH << 4 | qos << 1]) + varint(len(variable) + len(payload))
    return header + variable + payload


STAMP_BYTES: Final = 30  # "%019d %010d": fixed width, so a packet's length is known up front


def fixed_stamp(scheduled_ns: int, seq: int) -> bytes:
    return b"%019d %010d" % (scheduled_ns, seq)


def publish_template(topic: bytes, payload_bytes: int, qos: int) -> tuple[bytes, bytes]:
    """(head, tail) such that ``head + packet_id + tail + fixed_stamp + payload`` is a PUBLISH.

    The packet id part is empty at QoS 0. Encoding a city's 121,000 packets then costs one join
    each instead of five encodes: the publisher builds the templates before the clock starts.
    """
    properties_bytes = 1 + 2 + len(STAMP_KEY) + 2 + STAMP_BYTES
    tail = varint(properties_bytes) + b"\x26" + _string(STAMP_KEY) + STAMP_BYTES.to_bytes(2)
    remaining = 2 + len(topic) + (2 if qos else 0) + len(tail) + STAMP_BYTES + payload_bytes
    return bytes([PUBLISH << 4 | qos << 1]) + varint(remaining) + _string(topic), tail


def ack_packet(kind: int, packet_id: int) -> bytes:
    """PUBACK, PUBREC, PUBREL or PUBCOMP with reason Success (the short form, section 3.4.2.1)."""
    return bytes([kind << 4 | (2 if kind == PUBREL else 0), 2]) + packet_id.to_bytes(2)


def pingreq_packet() -> bytes:
    return bytes([PINGREQ << 4, 0])


def disconnect_packet() -> bytes:
    return bytes([DISCONNECT << 4, 0])


class Decoder:
    """Incremental MQTT 5 stream decoder: feed bytes, get the packets completed by them."""

    def __init__(self, max_packet_bytes: int = DEFAULT_MAX_PACKET_BYTES) -> None:
        self.max_packet_bytes = max_packet_bytes
        self._pending = b""
        self._offset = 0  # stream offset of _pending[0], for error messages

    @property
    def buffered_bytes(self) -> int:
        return len(self._pending)

    def feed(self, data: bytes) -> tuple[list[Publish], list[Control]]:  # noqa: PLR0915 - hot path
        """Every packet completed by ``data``: PUBLISHes and other packets, each in stream order.

        Raises WireError on malformed bytes; the decoder is then unusable (the stream has no
        recoverable framing after a bad length).
        """
        buf = self._pending + data if self._pending else bytes(data)
        size = len(buf)
        pos = 0
        publishes: list[Publish] = []
        controls: list[Control] = []
        append = publishes.append
        limit = self.max_packet_bytes
        while size - pos >= 2:
            first = buf[pos]
            byte = buf[pos + 1]
            if byte < 0x80:
                length = byte
                start = pos + 2
            else:
                length = byte & 0x7F
                shift = 7
                index = pos + 2
                while True:
                    if index >= size:
                        length = -1
                        break
                    byte = buf[index]
                    index += 1
                    length |= (byte & 0x7F) << shift
                    if byte < 0x80:
                        break
                    shift += 7
                    if shift > 21:
                        self._fail(pos, "remaining length", "at most 4 bytes", "a 5th byte")
                if length < 0:
                    break
                start = index
            if length > limit:
                self._fail(pos, "remaining length", f"at most {limit:,} bytes", f"{length:,}")
            end = start + length
            if end > size:
                break
            kind = first >> 4
            if kind == PUBLISH:
                append(self._publish(buf, first, start, end, pos))
            else:
                expected = _FIXED_FLAGS.get(kind)
                if expected is None:
                    self._fail(pos, "packet type", "1-15", "0")
                elif first & 0x0F != expected:
                    self._fail(pos, f"flags of packet type {kind}", str(expected), str(first & 15))
                controls.append(Control(kind, first & 0x0F, buf[start:end]))
            pos = end
        self._pending = buf[pos:]
        self._offset += pos
        return publishes, controls

    def _publish(self, buf: bytes, first: int, start: int, end: int, pos: int) -> Publish:
        """One PUBLISH whose variable header and payload are ``buf[start:end]``."""
        length = end - start
        qos = (first >> 1) & 3
        if qos == 3:
            self._fail(pos, "PUBLISH QoS", "0, 1 or 2", "3")
        if length < 3:
            self._fail(pos, "PUBLISH", "a topic and property length", f"{length} bytes")
        topic_end = start + 2 + ((buf[start] << 8) | buf[start + 1])
        if topic_end > end:
            self._fail(pos, "PUBLISH topic", f"within {length} bytes", "longer")
        cursor = topic_end
        packet_id = 0
        if qos:
            packet_id = (buf[cursor] << 8) | buf[cursor + 1] if cursor + 2 <= end else 0
            cursor += 2
            if packet_id == 0:
                self._fail(pos, "PUBLISH packet id", "1-65535 at QoS>0", "0 or nothing")
        if cursor >= end:
            self._fail(pos, "PUBLISH", "properties after the topic", "the packet's end")
        plen = buf[cursor]
        cursor += 1
        if plen >= 0x80:
            plen, cursor = self._varint_at(buf, cursor - 1, end, pos)
        props_end = cursor + plen
        if props_end > end:
            self._fail(pos, "PUBLISH properties", f"within {length} bytes", f"{plen}")
        stamp = None
        if plen:
            # Fast path: the stamp as the first property, as our publisher sends it.
            if buf[cursor] == 0x26 and buf[cursor + 1 : cursor + _STAMP_HEAD_END] == _STAMP_HEAD:
                value_at = cursor + _STAMP_HEAD_END + 2
                value_end = value_at + ((buf[value_at - 2] << 8) | buf[value_at - 1])
                if value_end == props_end:
                    stamp = buf[value_at:value_end]
                else:
                    stamp = self._stamp(buf, cursor, props_end, pos)
            else:
                stamp = self._stamp(buf, cursor, props_end, pos)
        topic = buf[start + 2 : topic_end]
        return Publish(topic, qos, packet_id, stamp, buf[props_end:end])

    def _fail(self, pos: int, what: str, expected: str, found: str) -> None:
        where = f"mqtt stream byte {self._offset + pos}"
        raise WireError(f"{where}: {what}: expected {expected}, got {found}")

    def _varint_at(self, buf: bytes, index: int, end: int, pos: int) -> tuple[int, int]:
        value = 0
        for shift in (0, 7, 14, 21):
            if index >= end:
                self._fail(pos, "variable byte integer", "its end inside the packet", "the end")
            byte = buf[index]
            index += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value, index
        self._fail(pos, "variable byte integer", "at most 4 bytes", "a 5th byte")
        raise AssertionError  # unreachable: _fail raises

    def _stamp(self, buf: bytes, cursor: int, props_end: int, pos: int) -> bytes | None:
        stamp = None
        while cursor < props_end:
            ident = buf[cursor]
            cursor += 1
            kind = _PROPERTY_SIZES.get(ident)
            if kind is None:
                self._fail(pos, "PUBLISH property identifier", "a known one", f"0x{ident:02x}")
            elif kind > 0:
                cursor += kind
            elif kind == -3:
                _, cursor = self._varint_at(buf, cursor, props_end, pos)
            else:
                if cursor + 2 > props_end:
                    self._fail(pos, "PUBLISH property", "a 2-byte length", "the end")
                key_end = cursor + 2 + ((buf[cursor] << 8) | buf[cursor + 1])
                if kind == -1:
                    cursor = key_end
                else:
                    if key_end + 2 > props_end:
                        self._fail(pos, "User Property", "a value after the key", "the end")
                    value_end = key_end + 2 + ((buf[key_end] << 8) | buf[key_end + 1])
                    if value_end <= props_end and buf[cursor + 2 : key_end] == STAMP_KEY:
                        stamp = buf[key_end + 2 : value_end]
                    cursor = value_end
            if cursor > props_end:
                self._fail(pos, "PUBLISH properties", "to end where their length says", "overrun")
        return stamp
