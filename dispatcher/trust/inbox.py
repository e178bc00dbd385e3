"""The receiving end of an alert topic: topic check, signature verification, counted verdicts.

A responder or a relaying center hands every message it gets to :meth:`Inbox.receive`, which
checks the signature for the delivery the topic and properties name (:func:`delivery_of`) and
never raises: a bad topic, a bad payload or a failed verification comes back as a rejected
:class:`~dispatcher.trust.signing.Verdict` whose reason (``topic_bad_id``, ``unsigned``,
``out_of_scope``, ...) is counted in :attr:`Inbox.counts`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from dispatcher.trust.signing import Delivery, Verdict, Verifier, relay_delivery
from dispatcher.wire import properties as prop
from dispatcher.wire.message import Message
from dispatcher.wire.topics import ParsedTopic, TopicError, parse_topic

__all__ = ["Inbox", "delivery_of"]

log = structlog.get_logger(__name__)


@dataclass
class Inbox:
    """Alerts received by one connection, verified against its keyring."""

    verifier: Verifier
    counts: Counter[str] = field(default_factory=Counter)

    def receive(self, message: Message, *, now: datetime | None = None) -> Verdict:
        """The verdict on one message; rejected ones are counted by reason and logged."""
        key, verdict = self._receive(message, now)
        self.counts[key] += 1
        if verdict.outcome == "rejected":
            log.warning(
                "alert_rejected",
                reason=key,
                topic=repr(message.topic)[:200],
                detail=verdict.detail[:300],
            )
        return verdict

    def _receive(self, message: Message, now: datetime | None) -> tuple[str, Verdict]:
        try:
            parsed = parse_topic(message.topic)
        except TopicError as exc:
            return f"topic_{exc.reason}", Verdict("rejected", "topic", None, str(exc))
        if parsed.kind not in ("alert", "district_center", "town_broadcast", "town_center"):
            detail = f"topic: expected an alert topic, got a {parsed.kind} topic"
            return "topic_kind", Verdict("rejected", "topic", None, detail)
        verdict = self.verifier.verify(
            message.payload,
            message.user_properties,
            delivery=delivery_of(message, parsed),
            district=parsed.district,
            town=parsed.town,
            now=now,
        )
        return verdict.reason or verdict.outcome, verdict


def delivery_of(message: Message, parsed: ParsedTopic) -> Delivery:
    """What ``message`` claims to be, as its signature must bind it: the recipient of the topic
    it came on (on a district center topic, which a duty team shares, the ``recipient_id``
    property), its ``channel`` and ``rung``; a relay, the center whose topic it came on."""
    if message.user_property(prop.RELAY) is not None:
        return relay_delivery(parsed.district or "", parsed.town or "")
    receiver = parsed.recipient_id or message.user_property(prop.RECIPIENT_ID) or ""
    # No rung: 0, as signed for a message without one; one that is not a number: -1.
    rung_text = message.user_property(prop.RUNG) or "0"
    ok = len(rung_text) <= 6 and rung_text.isascii() and rung_text.isdigit()
    rung = int(rung_text) if ok else -1
    return Delivery(receiver, message.user_property(prop.CHANNEL) or "", rung)
