"""MQTT 5 packets assembled by hand from the specification, apart from the load tester's codec.

The load tester's decoder is tested on these bytes, and its encoder compared with them, so a bug
shared by its encoder and decoder cannot cancel out. Section numbers are those of the MQTT
Version 5.0 OASIS Standard; the test module checks these helpers against paho's own encoding
of variable byte integers and properties.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

# Control packet types (section 2.1.2).
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14
# Property identifiers (section 2.2.2.2) used here.
PAYLOAD_FORMAT_INDICATOR = 0x01
MESSAGE_EXPIRY_INTERVAL = 0x02
SESSION_EXPIRY_INTERVAL = 0x11
RECEIVE_MAXIMUM = 0x21
CONTENT_TYPE = 0x03
RESPONSE_TOPIC = 0x08
CORRELATION_DATA = 0x09
SUBSCRIPTION_IDENTIFIER = 0x0B
TOPIC_ALIAS = 0x23
USER_PROPERTY = 0x26


def variable_byte_integer(value: int) -> bytes:
    """Section 1.5.5: seven bits a byte, least significant first, high bit = more follow."""
    assert 0 <= value <= 268_435_455, value
    digits = []
    while True:
        value, digit = divmod(value, 128)
        digits.append(digit | 0x80 if value else digit)
        if not value:
            return bytes(digits)


def binary(data: bytes) -> bytes:
    """Sections 1.5.4 and 1.5.6: a two-byte big-endian length, then the bytes."""
    return struct.pack("!H", len(data)) + data


def user_property(key: bytes, value: bytes) -> bytes:
    """Section 3.3.2.3.7: identifier 38, then a UTF-8 string pair."""
    return bytes([USER_PROPERTY]) + binary(key) + binary(value)


def byte_property(identifier: int, value: int) -> bytes:
    return bytes([identifier, value])


def two_byte_property(identifier: int, value: int) -> bytes:
    return bytes([identifier]) + struct.pack("!H", value)


def four_byte_property(identifier: int, value: int) -> bytes:
    return bytes([identifier]) + struct.pack("!I", value)


def binary_property(identifier: int, value: bytes) -> bytes:
    return bytes([identifier]) + binary(value)


def varint_property(identifier: int, value: int) -> bytes:
    return bytes([identifier]) + variable_byte_integer(value)


def properties(encoded: Iterable[bytes]) -> bytes:
    """Section 2.2.2.1: the properties' length as a variable byte integer, then the properties."""
    body = b"".join(encoded)
    return variable_byte_integer(len(body)) + body


def fixed_header(kind: int, flags: int, remaining: int) -> bytes:
    """Section 2.1.1: type in the high nibble, flags in the low one, then the remaining length."""
    return bytes([kind << 4 | flags]) + variable_byte_integer(remaining)


def connect(
    client_id: bytes, clean_start: bool, keep_alive_s: int, props: Iterable[bytes]
) -> bytes:
    """Section 3.1: protocol name "MQTT", version 5, flags (bit 1: Clean Start; no will, user
    name or password), keep alive, properties; the payload is the client identifier."""
    variable = binary(b"MQTT") + bytes([5, 0b10 if clean_start else 0])
    variable += struct.pack("!H", keep_alive_s) + properties(props)
    body = variable + binary(client_id)
    return fixed_header(CONNECT, 0, len(body)) + body


def subscribe(packet_id: int, filters: Iterable[bytes], qos: int) -> bytes:
    """Section 3.8: flags 0010, packet id, no properties, then each filter and its options
    (maximum QoS in bits 0-1; No Local, Retain As Published and Retain Handling all 0)."""
    body = struct.pack("!H", packet_id) + properties(())
    body += b"".join(binary(f) + bytes([qos]) for f in filters)
    return fixed_header(SUBSCRIBE, 0b0010, len(body)) + body


def publish(
    topic: bytes, payload: bytes, qos: int, packet_id: int, props: Iterable[bytes] = ()
) -> bytes:
    """Section 3.3: flags DUP 0, QoS, RETAIN 0; the packet id only at QoS 1 and 2."""
    variable = binary(topic)
    if qos:
        variable += struct.pack("!H", packet_id)
    variable += properties(props)
    return fixed_header(PUBLISH, qos << 1, len(variable) + len(payload)) + variable + payload


def ack(kind: int, packet_id: int) -> bytes:
    """Sections 3.4-3.7: PUBACK, PUBREC, PUBREL (flags 0010) or PUBCOMP, reason Success
    and no properties, so the short form: the packet id alone (3.4.2.1)."""
    return fixed_header(kind, 0b0010 if kind == PUBREL else 0, 2) + struct.pack("!H", packet_id)


def connack(session_present: bool, reason: int) -> bytes:
    """Section 3.2: acknowledge flags, reason code, no properties."""
    body = bytes([int(session_present), reason]) + properties(())
    return fixed_header(CONNACK, 0, len(body)) + body


def suback(packet_id: int, reasons: Iterable[int]) -> bytes:
    """Section 3.9: packet id, no properties, one reason code per topic filter."""
    body = struct.pack("!H", packet_id) + properties(()) + bytes(reasons)
    return fixed_header(SUBACK, 0, len(body)) + body


def pingreq() -> bytes:
    """Section 3.12."""
    return fixed_header(PINGREQ, 0, 0)


def pingresp() -> bytes:
    """Section 3.13."""
    return fixed_header(PINGRESP, 0, 0)


def disconnect() -> bytes:
    """Section 3.14: reason Normal disconnection and no properties, so no variable header."""
    return fixed_header(DISCONNECT, 0, 0)
