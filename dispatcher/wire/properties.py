"""The MQTT 5 user properties alertsim puts on its messages: one name each, defined here only.

What each means, who sets it and in which unit is described in docs/wire-protocol.md.
"""

from __future__ import annotations

import math
from typing import Final, Protocol

__all__ = [
    "ACKED_AT_S",
    "CHANNEL",
    "DELIVERED_AT_S",
    "KIND",
    "READ_AT_S",
    "RECEIVED_AT_S",
    "RECIPIENT_ID",
    "RELAY",
    "RUNG",
    "SENT_AT_NS",
    "SIG",
    "SIG_KEY",
    "SPEED",
    "float_property",
]

# On an alert to a responder (or a district duty team, who share their center's topic).
RECIPIENT_ID: Final = "recipient_id"
CHANNEL: Final = "channel"
RUNG: Final = "rung"
DELIVERED_AT_S: Final = "delivered_at_s"  # model seconds when the channel delivered it
SPEED: Final = "speed"  # model seconds per wall second of the run that sent it
SENT_AT_NS: Final = "sent_at_ns"  # the sender's monotonic clock, for the hop's wall time
# On a relay between centers: which relay this is (alert id / tier / center code).
RELAY: Final = "relay"
# On an escalation notice to a center.
KIND: Final = "kind"
# The issuing center's signature of the payload (dispatcher.trust.signing).
SIG_KEY: Final = "sig_key"
SIG: Final = "sig"
# On an acknowledgement: model seconds on the device.
RECEIVED_AT_S: Final = "received_at_s"
READ_AT_S: Final = "read_at_s"
ACKED_AT_S: Final = "acked_at_s"


class _HasUserProperties(Protocol):
    def user_property(self, name: str) -> str | None: ...


def float_property(message: _HasUserProperties, name: str) -> float | None:
    """A user property read as a finite number; None when absent or not one."""
    text = message.user_property(name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
