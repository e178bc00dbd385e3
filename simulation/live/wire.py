"""What live mode puts on the wire: alert publications to responders, receipts and acks back.

Alerts: a CAP alert (`dispatcher.wire.messages.Alert`) on the responder's alert topic
(`alertsim/v1/alert/{district}/{town}/{recipient_id}`; district duty teams share
`alertsim/v1/alert/{district}/center` and are named by the `recipient_id` user property), QoS 1,
MQTT 5 Message Expiry = the seconds (wall) until the alert's `expires`, Response Topic = the ack
topic, Correlation Data = the alert identifier, and user properties `recipient_id`, `channel`,
`rung`, `delivered_at_s` (model seconds), `speed` and `sent_at_ns` (publisher's monotonic clock),
and the issuing center's signature `sig_key`/`sig` (`dispatcher.trust.signing`) when the run signs.

Back from the responder, on `alertsim/v1/ack/{alert_id}/{recipient_id}`, an `Ack` JSON:
`status: "received"` when the device got the alert (a delivery receipt; with `note: "absent"` when
a door-knock found nobody), and `status: "acknowledged"` when the person pressed acknowledge.
User properties `received_at_s`, `read_at_s` and `acked_at_s` give those moments in model seconds
(the alert's `delivered_at_s` plus the measured hop times `speed`); all are optional.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from dispatcher.core.plan import Recipient
from dispatcher.transport import Message
from dispatcher.wire.alerts import flood_alert
from dispatcher.wire.messages import Ack, encode_ack, encode_alert
from dispatcher.wire.topics import ack_topic, alert_topic, district_center_topic

ABSENT_NOTE: Final = "absent"


@dataclass(frozen=True, slots=True)
class ModelClock:
    """Maps model seconds to wall time for one live run: model `origin_s` is wall `origin`."""

    origin_s: float
    origin: datetime
    speed: float

    def utc(self, model_s: float) -> datetime:
        return self.origin + timedelta(seconds=(model_s - self.origin_s) / self.speed)


def recipient_topic(recipient: Recipient) -> str:
    if recipient.town:
        return alert_topic(recipient.district, recipient.town, recipient.id)
    return district_center_topic(recipient.district)


def build_alert(
    alert_id: str,
    level: str,
    sender: str,
    recipient: Recipient,
    issued_at: datetime,
    expires_at: datetime,
) -> bytes:
    alert = flood_alert(
        alert_id,
        sender,
        level,  # type: ignore[arg-type]
        issued_at,
        expires_at,
        recipient.district,
        recipient.town,
    )
    return encode_alert(alert)


def alert_message(
    payload: bytes,
    recipient: Recipient,
    alert_id: str,
    channel: str,
    rung: int,
    now_s: float,
    expires_at_s: float,
    speed: float,
    signature: tuple[tuple[str, str], ...] = (),
) -> Message:
    return Message(
        topic=recipient_topic(recipient),
        payload=payload,
        expiry_s=max(1, math.ceil((expires_at_s - now_s) / speed)),
        response_topic=ack_topic(alert_id, recipient.id),
        correlation_data=alert_id.encode("utf-8"),
        user_properties=(
            ("recipient_id", recipient.id),
            ("channel", channel),
            ("rung", str(rung)),
            ("delivered_at_s", f"{now_s:.3f}"),
            ("speed", f"{speed:g}"),
            ("sent_at_ns", str(time.monotonic_ns())),
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
    ack = Ack(
        alert_id=alert_id,
        recipient_id=recipient_id,
        sent=datetime.now(UTC),
        channel=channel,
        status=status,
        note=note,
    )
    props: tuple[tuple[str, str], ...] = (("sent_at_ns", str(time.monotonic_ns())),)
    # Model seconds on the device: when it received the alert, when the person read it and
    # pressed acknowledge (the dispatcher learns of them one broker hop later).
    for name, value in (
        ("received_at_s", received_at_s),
        ("read_at_s", read_at_s),
        ("acked_at_s", acked_at_s),
    ):
        if value is not None:
            props += ((name, f"{value:.3f}"),)
    return Message(
        topic=ack_topic(alert_id, recipient_id),
        payload=encode_ack(ack),
        correlation_data=alert_id.encode("utf-8"),
        user_properties=props,
    )
