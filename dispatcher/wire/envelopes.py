"""The messages alertsim puts on the wire: an alert to a responder, a relay, an acknowledgement.

Each builder sets the topic, the MQTT 5 properties and the user properties of one kind of
message, so senders (the live driver, the swarm, the dispatcher service) never spell them out.
docs/wire-protocol.md describes the whole protocol.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final, Literal

from dispatcher.wire import properties as prop
from dispatcher.wire.alerts import InfoText, flood_alert
from dispatcher.wire.message import Message
from dispatcher.wire.messages import Ack, encode_ack, encode_alert
from dispatcher.wire.topics import Addressee, ack_topic, center_topic, topic_for

__all__ = [
    "ABSENT_NOTE",
    "ESCALATION_KIND",
    "PayloadFormat",
    "Properties",
    "ack_message",
    "alert_message",
    "escalation_message",
    "flood_alert_bytes",
    "relay_message",
    "wall_expiry_s",
]

Properties = tuple[tuple[str, str], ...]
# How an alert travels on MQTT: CAP JSON (the default) or CAP XML; receivers tell them by content.
PayloadFormat = Literal["json", "xml"]

# An acknowledgement's note when a door-knock found nobody at home.
ABSENT_NOTE: Final = "absent"
# The `kind` of an escalation notice on a center's topic.
ESCALATION_KIND: Final = "escalation"


def wall_expiry_s(expires_at_s: float, now_s: float, speed: float = 1.0) -> int:
    """MQTT 5 Message Expiry: whole wall seconds until the alert expires, at least 1."""
    return max(1, math.ceil((expires_at_s - now_s) / speed))


def flood_alert_bytes(
    alert_id: str,
    level: str,
    sender: str,
    recipient: Addressee,
    issued_at: datetime,
    expires_at: datetime,
    payload: PayloadFormat = "json",
    texts: Sequence[InfoText] | None = None,
) -> bytes:
    """The CAP JSON (or compact CAP XML) of a flood alert for ``recipient``'s area: one info block
    per text (default: ``zh-CN`` and ``en-US``, :func:`dispatcher.wire.alerts.default_texts`)."""
    alert = flood_alert(
        alert_id,
        sender,
        level,  # type: ignore[arg-type]
        issued_at,
        expires_at,
        recipient.district,
        recipient.town,
        texts=texts,
    )
    if payload == "xml":
        from dispatcher.wire.capxml import encode_cap

        return encode_cap(alert, pretty=False)
    return encode_alert(alert)


def alert_message(
    payload: bytes,
    recipient: Addressee,
    alert_id: str,
    channel: str,
    rung: int,
    now_s: float,
    expires_at_s: float,
    speed: float,
    signature: Properties = (),
) -> Message:
    """An alert delivered to one responder over ``channel`` on ``rung`` of the ladder."""
    return Message(
        topic=topic_for(recipient),
        payload=payload,
        expiry_s=wall_expiry_s(expires_at_s, now_s, speed),
        response_topic=ack_topic(alert_id, recipient.id),
        correlation_data=alert_id.encode("utf-8"),
        user_properties=(
            (prop.RECIPIENT_ID, recipient.id),
            (prop.CHANNEL, channel),
            (prop.RUNG, str(rung)),
            (prop.DELIVERED_AT_S, f"{now_s:.3f}"),
            (prop.SPEED, f"{speed:g}"),
            (prop.SENT_AT_NS, str(time.monotonic_ns())),
            *signature,
        ),
    )


def relay_message(
    payload: bytes,
    alert_id: str,
    relay_id: str,
    district: str,
    town: str,
    expiry_s: int,
    signature: Properties = (),
) -> Message:
    """An alert relayed to a town center (with ``town``) or a district center (without)."""
    return Message(
        topic=center_topic(district, town),
        payload=payload,
        expiry_s=expiry_s,
        correlation_data=alert_id.encode("utf-8"),
        user_properties=(
            (prop.RELAY, relay_id),
            (prop.SENT_AT_NS, str(time.monotonic_ns())),
            *signature,
        ),
    )


def ack_message(
    alert_id: str,
    recipient_id: str,
    channel: str,
    status: str,
    *,
    note: str = "",
    received_at_s: float | None = None,
    read_at_s: float | None = None,
    acked_at_s: float | None = None,
) -> Message:
    """A delivery receipt (``received``) or an acknowledgement (``acknowledged``)."""
    ack = Ack(
        alert_id=alert_id,
        recipient_id=recipient_id,
        sent=datetime.now(UTC),
        channel=channel,
        status=status,
        note=note,
    )
    props: Properties = ((prop.SENT_AT_NS, str(time.monotonic_ns())),)
    # Model seconds on the device: when it received the alert, when the person read it and
    # pressed acknowledge (the dispatcher learns of them one broker hop later).
    for name, value in (
        (prop.RECEIVED_AT_S, received_at_s),
        (prop.READ_AT_S, read_at_s),
        (prop.ACKED_AT_S, acked_at_s),
    ):
        if value is not None:
            props += ((name, f"{value:.3f}"),)
    return Message(
        topic=ack_topic(alert_id, recipient_id),
        payload=encode_ack(ack),
        correlation_data=alert_id.encode("utf-8"),
        user_properties=props,
    )


def escalation_message(alert_id: str, recipient: Addressee, cause: str) -> Message:
    """A notice to the recipient's town (or district) center: nobody answered, send someone."""
    notice = {"alertId": alert_id, "recipientId": recipient.id, "cause": cause}
    return Message(
        center_topic(recipient.district, recipient.town),
        json.dumps(notice).encode("utf-8"),
        user_properties=((prop.KIND, ESCALATION_KIND),),
    )
