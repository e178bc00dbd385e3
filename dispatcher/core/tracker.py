"""Per-recipient delivery and acknowledgement state, with exactly-once accounting.

Each targeted recipient of each alert has one `RecipientState` that ends in exactly one outcome:
acknowledged, or flagged with a cause. Later acknowledgements and deliveries are counted as
duplicates or as late, never counted twice. When the alert is done the states are frozen into
`RecipientRecord`s, one per recipient with a timestamp per hop, which is all that metrics read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import chain, repeat
from operator import attrgetter
from typing import Any, Literal, NamedTuple

from dispatcher.core.plan import AlertPlan, FlagCause, Recipient, Tier

AckOutcome = Literal["accepted", "duplicate", "late", "unknown"]


class RecipientRecord(NamedTuple):
    """One recipient of one alert, every hop stamped in model seconds (None: never happened).

    A NamedTuple rather than a frozen dataclass: just as immutable, and a city run builds
    124,000 of them, where a frozen dataclass's per-field __setattr__ cost about a second.
    `latency_s` is a field, computed once when the state is frozen (`Tracker.records`): the
    report and records.csv.gz read it about twenty times a record, and a property's call cost
    about a second of a city run's report.
    """

    alert_id: str
    recipient_id: str
    tier: Tier
    district: str
    town: str
    issued_at_s: float
    relayed_municipal_at_s: float | None
    relayed_district_at_s: float | None
    relayed_town_at_s: float | None
    notified_at_s: float | None  # first attempt sent, on the first rung
    sent_at_s: float | None  # the attempt that was acknowledged was sent
    delivered_at_s: float | None  # first delivery of any attempt to the device
    ack_delivered_at_s: float | None  # the acknowledged attempt reached the device
    read_at_s: float | None
    acked_at_s: float | None  # the responder pressed acknowledge
    acknowledged_at_s: float | None  # the acknowledgement reached the dispatcher
    dispatched_at_s: float | None
    on_scene_at_s: float | None  # first risk point reached
    channel: str | None  # channel of the acknowledged attempt
    attempts: int
    escalations: tuple[str, ...]  # channels tried after the first rung
    duplicates: int
    flag: FlagCause | None
    flagged_at_s: float | None
    latency_s: float | None  # notification latency: acknowledged_at_s - issued_at_s


# `Tracker.record_blocks`: RecipientRecord's fields after the issue and before `latency_s` are
# a RecipientState's own; recipient_id, tier, district and town its recipient's
_STATE_GETTERS = tuple(
    map(attrgetter, RecipientRecord._fields[RecipientRecord._fields.index("issued_at_s") + 1 : -1])
)
_RECIPIENT_GETTERS = tuple(map(attrgetter, ("id", "tier", "district", "town")))
_RECIPIENT = attrgetter("recipient")
_ESCALATIONS = RecipientRecord._fields.index("escalations")
_ACKNOWLEDGED = RecipientRecord._fields.index("acknowledged_at_s")


class RiskPointRecord(NamedTuple):
    """One risk point of one alert; `latency_s` (on scene minus issued) computed once, frozen."""

    alert_id: str
    risk_point_id: str
    district: str
    town: str
    issued_at_s: float
    dispatched_at_s: float | None
    on_scene_at_s: float | None
    responder_id: str | None
    reassigned: bool  # its grid member was not reached; a town duty team covered it
    # "superseded": its recipient carries it on in a newer message; "cancelled": a Cancel came
    # before anyone reached it (dispatcher.core.lifecycle)
    withdrawn: str | None
    latency_s: float | None  # on_scene_at_s - issued_at_s


class RecipientState:
    """Mutable state of one recipient of one alert; only the tracker writes it."""

    __slots__ = (
        "ack_delivered_at_s",
        "acked_at_s",
        "acknowledged_at_s",
        "attempts",
        "channel",
        "delivered_at",
        "delivered_at_s",
        "dispatched_at_s",
        "duplicates",
        "escalations",
        "flag",
        "flagged_at_s",
        "notified_at_s",
        "on_scene_at_s",
        "read_at_s",
        "recipient",
        "relayed_district_at_s",
        "relayed_municipal_at_s",
        "relayed_town_at_s",
        "rung",
        "sent_at",
        "sent_at_s",
    )

    def __init__(self, recipient: Recipient) -> None:
        self.recipient = recipient
        self.relayed_municipal_at_s: float | None = None
        self.relayed_district_at_s: float | None = None
        self.relayed_town_at_s: float | None = None
        self.notified_at_s: float | None = None
        self.sent_at: dict[int, float] = {}  # rung -> sent time
        self.sent_at_s: float | None = None
        self.delivered_at_s: float | None = None
        # rung -> first delivery; made on the first delivery, since most recipients get one
        self.delivered_at: dict[int, float] | None = None
        self.ack_delivered_at_s: float | None = None
        self.read_at_s: float | None = None
        self.acked_at_s: float | None = None
        self.acknowledged_at_s: float | None = None
        self.dispatched_at_s: float | None = None
        self.on_scene_at_s: float | None = None
        self.channel: str | None = None
        self.attempts = 0
        self.escalations: list[str] = []
        self.duplicates = 0
        self.flag: FlagCause | None = None
        self.flagged_at_s: float | None = None
        self.rung = -1  # ladder rung of the latest attempt; -1 before the first

    @property
    def done(self) -> bool:
        return self.acknowledged_at_s is not None or self.flag is not None


class RiskPointState:
    __slots__ = (
        "dispatched_at_s",
        "district",
        "on_scene_at_s",
        "reassigned",
        "responder",
        "town",
        "withdrawn",
    )

    def __init__(self, district: str, town: str) -> None:
        self.district = district
        self.town = town
        self.dispatched_at_s: float | None = None
        self.on_scene_at_s: float | None = None
        self.responder: str | None = None
        self.reassigned = False
        self.withdrawn: str | None = None


class AlertState:
    __slots__ = ("issued_at_s", "open", "pending", "plan", "recipients", "risk_points")

    def __init__(self, plan: AlertPlan) -> None:
        self.plan = plan
        self.issued_at_s = plan.issued_at_s
        self.recipients: dict[str, RecipientState] = {}
        self.risk_points: dict[str, RiskPointState] = {}
        for recipient in plan.recipients():
            if recipient.id in self.recipients:
                raise ValueError(f"alert {plan.alert_id}: recipient {recipient.id} targeted twice")
            self.recipients[recipient.id] = RecipientState(recipient)
            for point in recipient.risk_points:
                self.risk_points[point] = RiskPointState(recipient.district, recipient.town)
        self.pending = len(self.recipients)
        self.open = True


class Tracker:
    """Recipient states of every open alert and the counters that must never double-count."""

    def __init__(self) -> None:
        self.alerts: dict[str, AlertState] = {}
        self.counters: Counter[str] = Counter()

    def open(self, plan: AlertPlan) -> AlertState:
        if plan.alert_id in self.alerts:
            raise ValueError(f"alert {plan.alert_id} opened twice")
        state = AlertState(plan)
        self.alerts[plan.alert_id] = state
        return state

    def get(self, alert_id: str, recipient_id: str) -> RecipientState | None:
        alert = self.alerts.get(alert_id)
        return None if alert is None else alert.recipients.get(recipient_id)

    def delivered(self, state: RecipientState, at_s: float, rung: int = 0) -> None:
        if state.delivered_at is None:
            state.delivered_at = {rung: at_s}
        elif rung not in state.delivered_at:
            state.delivered_at[rung] = at_s
        if state.delivered_at_s is None:
            state.delivered_at_s = at_s
        else:
            self.counters["deliveries_repeated"] += 1

    def acknowledge(
        self,
        alert_id: str,
        recipient_id: str,
        *,
        channel: str,
        rung: int,
        read_at_s: float | None,
        acked_at_s: float | None,
        at_s: float,
    ) -> AckOutcome:
        """Record an acknowledgement; only the first one for a live recipient is accepted."""
        alert = self.alerts.get(alert_id)
        state = None if alert is None else alert.recipients.get(recipient_id)
        if alert is None or state is None:
            self.counters["acks_unknown"] += 1
            return "unknown"
        return self.accept(alert, state, channel, rung, read_at_s, acked_at_s, at_s)

    def accept(
        self,
        alert: AlertState,
        state: RecipientState,
        channel: str,
        rung: int,
        read_at_s: float | None,
        acked_at_s: float | None,
        at_s: float,
    ) -> AckOutcome:
        """`acknowledge` for the state `state` of `alert`, looked up already (the policy's
        own path: positional, as an acknowledgement is the second commonest event)."""
        if state.acknowledged_at_s is not None:
            state.duplicates += 1
            self.counters["acks_duplicate"] += 1
            return "duplicate"
        if state.flag is not None:
            self.counters["acks_late"] += 1
            return "late"
        state.acknowledged_at_s = at_s
        state.acked_at_s = acked_at_s if acked_at_s is not None else at_s
        state.read_at_s = read_at_s
        state.channel = channel
        state.sent_at_s = state.sent_at.get(rung)
        if state.delivered_at is not None:
            state.ack_delivered_at_s = state.delivered_at.get(rung)
        if state.delivered_at_s is None:
            # An ack proves delivery even when the receipt itself was lost.
            state.delivered_at_s = read_at_s if read_at_s is not None else state.acked_at_s
        if state.ack_delivered_at_s is None:
            state.ack_delivered_at_s = read_at_s if read_at_s is not None else state.acked_at_s
        alert.pending -= 1  # `_settle`, the alert at hand
        if alert.pending < 0:  # pragma: no cover - would be a bookkeeping bug
            raise AssertionError(f"alert {alert.plan.alert_id}: more outcomes than recipients")
        return "accepted"

    def flag(self, alert_id: str, state: RecipientState, cause: FlagCause, at_s: float) -> bool:
        if state.done:
            return False
        state.flag = cause
        state.flagged_at_s = at_s
        self.counters[f"flagged_{cause}"] += 1
        self._settle(alert_id)
        return True

    def _settle(self, alert_id: str) -> None:
        alert = self.alerts[alert_id]
        alert.pending -= 1
        if alert.pending < 0:  # pragma: no cover - would be a bookkeeping bug
            raise AssertionError(f"alert {alert_id}: more outcomes than recipients")

    def pending(self, alert_id: str) -> int:
        return self.alerts[alert_id].pending

    def records(self, alert_id: str) -> list[RecipientRecord]:
        """The states of one alert frozen into records, in targeting order."""
        alert = self.alerts[alert_id]
        issued = alert.issued_at_s
        # Positional, in RecipientRecord's field order: a city run freezes 124,000 states, and
        # keywords cost a third more (_make still checks the count).
        make = RecipientRecord._make
        return [
            make(
                (
                    alert_id,
                    (r := s.recipient).id,
                    r.tier,
                    r.district,
                    r.town,
                    issued,
                    s.relayed_municipal_at_s,
                    s.relayed_district_at_s,
                    s.relayed_town_at_s,
                    s.notified_at_s,
                    s.sent_at_s,
                    s.delivered_at_s,
                    s.ack_delivered_at_s,
                    s.read_at_s,
                    s.acked_at_s,
                    (acknowledged := s.acknowledged_at_s),
                    s.dispatched_at_s,
                    s.on_scene_at_s,
                    s.channel,
                    s.attempts,
                    tuple(s.escalations),
                    s.duplicates,
                    s.flag,
                    s.flagged_at_s,
                    None if acknowledged is None else acknowledged - issued,
                )
            )
            for s in alert.recipients.values()
        ]

    def record_blocks(self, alert_ids: Sequence[str], size: int) -> Iterator[list[list[Any]]]:
        """The `records` of these alerts, one alert after another, ``size`` at a time, each
        block column by column in RecipientRecord's field order: the same values, and no
        record made.

        For records.csv.gz (`simulation.report.records.write_blocks`), which formats a column
        at a time: the writer forked at a city run's end took a fifth of its time making
        124,000 records and taking them apart again. A block at a time, since reading every
        state once per column is cheap only while the states are in the processor's cache.
        """
        alerts = [self.alerts[a] for a in alert_ids]
        sizes = [len(a.recipients) for a in alerts]
        states = list(chain.from_iterable(a.recipients.values() for a in alerts))
        ids = list(chain.from_iterable(map(repeat, alert_ids, sizes)))
        issued = list(chain.from_iterable(map(repeat, [a.issued_at_s for a in alerts], sizes)))
        for start in range(0, len(states), size):
            block = states[start : start + size]
            recipients = list(map(_RECIPIENT, block))
            when = issued[start : start + size]
            columns: list[list[Any]] = [
                ids[start : start + size],
                *(list(map(get, recipients)) for get in _RECIPIENT_GETTERS),
                when,
                *(list(map(get, block)) for get in _STATE_GETTERS),
            ]
            columns[_ESCALATIONS] = list(map(tuple, columns[_ESCALATIONS]))
            acknowledged = columns[_ACKNOWLEDGED]
            columns.append(
                [None if a is None else a - i for a, i in zip(acknowledged, when, strict=True)]
            )
            yield columns

    def risk_point_records(self, alert_id: str) -> list[RiskPointRecord]:
        alert = self.alerts[alert_id]
        issued = alert.issued_at_s
        make = RiskPointRecord._make
        return [
            make(
                (
                    alert_id,
                    point_id,
                    p.district,
                    p.town,
                    issued,
                    p.dispatched_at_s,
                    (on_scene := p.on_scene_at_s),
                    p.responder,
                    p.reassigned,
                    p.withdrawn,
                    None if on_scene is None else on_scene - issued,
                )
            )
            for point_id, p in alert.risk_points.items()
        ]
