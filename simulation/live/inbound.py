"""Live mode's inbound side: receipts, acknowledgements and relays from the broker -> model events.

Every incoming message is checked (topic, payload, that it answers something this run sent, a
relay's signature, that the device's stamps lie between the moment the alert was handed out and
now) and then scheduled as what it means, at the model time that corresponds to now; anything
else is rejected and counted by reason. Duplicates (QoS 1 redeliveries, a device
that answers twice) are counted and dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from dispatcher.core.events import Acknowledged, Delivered, FoundAbsent
from dispatcher.transport import Message
from dispatcher.trust.inbox import Inbox
from dispatcher.wire import properties as prop
from dispatcher.wire.envelopes import ABSENT_NOTE
from dispatcher.wire.messages import Ack, MessageError, decode_ack
from dispatcher.wire.properties import float_property
from dispatcher.wire.topics import TopicError, parse_topic
from simulation.live.pacer import Pacer
from simulation.live.reach import LiveCounters, LiveReach
from simulation.model.reach import Model

log = structlog.get_logger(__name__)

# Device stamps travel with three decimals: this much either side of the window is rounding.
STAMP_SLACK_S = 0.002


class Inbound:
    """Turns what the broker brings back into events for the world `reach` is attached to."""

    def __init__(
        self,
        reach: LiveReach,
        pacer: Pacer,
        counters: LiveCounters,
        relay_inbox: Inbox | None = None,
    ) -> None:
        self.reach = reach
        self.pacer = pacer
        self.counters = counters
        # Relays are verified as a center would before acting on them (None: an unsigned run,
        # relays taken as they come).
        self.relay_inbox = relay_inbox
        self._receipts: set[tuple[str, str, str, int]] = set()
        self._acked: set[tuple[str, str]] = set()

    def receive(self, message: Message) -> None:
        """Check one incoming message and schedule what it means at the model time of now."""
        try:
            parsed = parse_topic(message.topic)
        except TopicError as exc:
            self._reject(f"topic_{exc.reason}", message, str(exc))
            return
        if parsed.kind in ("district_center", "town_center"):
            self._on_center_message(message)
            return
        if parsed.kind != "ack":
            self._reject("topic_kind", message, f"expected an ack topic, got {parsed.kind}")
            return
        try:
            ack = decode_ack(message.payload)
        except MessageError as exc:
            self._reject(f"payload_{exc.reason}", message, str(exc))
            return
        if (ack.alert_id, ack.recipient_id) != (parsed.alert_id, parsed.recipient_id):
            self._reject(
                "mismatch",
                message,
                f"expected alertId {parsed.alert_id} and recipientId {parsed.recipient_id} "
                f"as in the topic, got {ack.alert_id} and {ack.recipient_id}",
            )
            return
        rung = self.reach.rung(ack.alert_id, ack.recipient_id, ack.channel)
        if rung is None:
            self._reject(
                "unknown",
                message,
                f"expected an ack for an alert sent to {ack.recipient_id} on {ack.channel}, "
                "got one for nothing sent",
            )
            return
        model = self.reach.model
        now_s = max(model.env.now, self.pacer.model_now_s())
        if ack.status not in ("received", "acknowledged"):
            return
        handed_s = self.reach.handed_at_s(ack.alert_id, ack.recipient_id)
        stamps = self._stamps(ack, message, handed_s or 0.0, now_s)
        if stamps is None:
            return
        if ack.status == "received":
            self._on_receipt(model, ack, rung, now_s, stamps[0])
        else:
            self._on_acknowledged(model, ack, rung, now_s, stamps[1], stamps[2])

    def _stamps(
        self, ack: Ack, message: Message, handed_s: float, now_s: float
    ) -> tuple[float | None, float | None, float | None] | None:
        """The device's received, read and acked stamps, each None when absent; None (rejected,
        counted) when one lies outside [handed out, now] or the press comes before the read."""
        names = (prop.RECEIVED_AT_S, prop.READ_AT_S, prop.ACKED_AT_S)
        stamps = tuple(float_property(message, name) for name in names)
        low, high = handed_s - STAMP_SLACK_S, now_s + STAMP_SLACK_S
        read_at_s, acked_at_s = stamps[1], stamps[2]
        outside = [
            f"{name}={value:.3f}"
            for name, value in zip(names, stamps, strict=True)
            if value is not None and not low <= value <= high
        ]
        if read_at_s is not None and acked_at_s is not None and acked_at_s < read_at_s:
            outside.append(f"{prop.ACKED_AT_S} before {prop.READ_AT_S}")
        if outside:
            self._reject(
                "stamp_out_of_window",
                message,
                f"expected device stamps within [{handed_s:.3f}, {now_s:.3f}] (handed out, now), "
                f"got {', '.join(outside)}",
            )
            return None
        # Rounding may put a stamp just outside: bring it inside.
        inside = tuple(None if v is None else min(max(v, handed_s), now_s) for v in stamps)
        return inside[0], inside[1], inside[2]

    def _reject(self, reason: str, message: Message, detail: str) -> None:
        self.counters.rejected[reason] += 1
        log.warning("message_rejected", reason=reason, topic=message.topic[:200], detail=detail)

    def _on_center_message(self, message: Message) -> None:
        relay_id = message.user_property(prop.RELAY)
        if relay_id is None:
            if message.user_property(prop.RECIPIENT_ID) is not None:
                return  # a district duty team's alert: they share the district center's topic
            self._reject(
                "relay_missing", message, "expected a relay user property on a center topic"
            )
            return
        if self.relay_inbox is not None:
            # One alert reaches a district and then a town center with the same identifier:
            # a duplicate is that second relay, not a replay, so only a rejection stops it.
            verdict = self.relay_inbox.receive(message)
            if verdict.outcome == "rejected":
                self.counters.rejected[f"relay_{verdict.reason}"] += 1
                return
        on_arrival = self.reach.take_relay(relay_id)
        if on_arrival is None:
            self._reject(
                "relay_unknown", message, f"expected a relay sent by this run, got {relay_id!r}"
            )
            return
        self.counters.relays_received += 1
        model = self.reach.model
        if not model.done.triggered:
            _at(model, max(model.env.now, self.pacer.model_now_s()), on_arrival)

    def _on_receipt(
        self, model: Model, ack: Ack, rung: int, now_s: float, received_at_s: float | None
    ) -> None:
        receipt = (ack.alert_id, ack.recipient_id, ack.channel, rung)
        if receipt in self._receipts:
            self.counters.duplicates += 1
            return
        self._receipts.add(receipt)
        self.counters.delivered += 1
        absent = ack.note == ABSENT_NOTE
        self.counters.absent += absent
        if model.done.triggered:
            return
        if absent:
            found_absent = FoundAbsent(ack.alert_id, ack.recipient_id)
            _at(model, now_s, lambda: model.handle(found_absent))
            return
        # Stamped when the device got it, as virtual mode stamps it: the receipt's own model
        # time (within [handed out, now]).
        at_s = now_s if received_at_s is None else received_at_s
        model.stamp(Delivered(ack.alert_id, ack.recipient_id, ack.channel, rung), at_s)

    def _on_acknowledged(
        self,
        model: Model,
        ack: Ack,
        rung: int,
        now_s: float,
        read_at_s: float | None,
        acked_at_s: float | None,
    ) -> None:
        key = (ack.alert_id, ack.recipient_id)
        if key in self._acked:
            self.counters.duplicates += 1
            return
        self._acked.add(key)
        self.counters.acknowledged += 1
        if model.done.triggered:
            return
        # Pressed on the device a hop ago; the dispatcher has it only now (plus the reply's way
        # back over the channel), as in virtual mode.
        if acked_at_s is None:
            acked_at_s = now_s
        acked = Acknowledged(
            ack.alert_id, ack.recipient_id, ack.channel, rung, read_at_s, acked_at_s
        )
        _at(model, now_s, lambda: model.reply(acked))


def _at(model: Model, at_s: float, action: Callable[[], None]) -> None:
    """Run `action` at model time `at_s`, or now if that has passed."""
    env = model.env
    env.timeout(max(0.0, at_s - env.now)).callbacks.append(lambda _: action())
