"""One MQTT message as alertsim sends and receives it: topic, payload and the MQTT 5 properties.

Transports carry it; the wire modules build and read it (see docs/wire-protocol.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Message:
    """One message on the wire, with the MQTT 5 properties alertsim uses (None where absent)."""

    topic: str
    payload: bytes
    qos: int = 1
    # Seconds the broker may hold the message before discarding it (MQTT 5 Message Expiry).
    expiry_s: int | None = None
    response_topic: str | None = None
    correlation_data: bytes | None = None
    user_properties: tuple[tuple[str, str], ...] = ()

    def user_property(self, name: str) -> str | None:
        for key, value in self.user_properties:
            if key == name:
                return value
        return None
