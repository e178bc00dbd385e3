"""The pure dispatch policy: `handle(event, now_s) -> commands`, the one place decisions are made.

Sans-I/O in the manner of h11: the policy never waits, sleeps, sends or reads a clock. A driver
(the SimPy model in virtual time, the asyncio service over MQTT) feeds it events with the current
time and carries out the commands it returns.

Strategies:
- cascade: municipal -> district centers -> town centers -> responders; each center processes the
  alert before relaying it, and the ladder climbs only once the alert has come down the chain.
- direct: the municipal center notifies every responder at once and drives the ladder itself;
  town staff are still the ones who make calls and send someone to the door.
- hybrid: the municipal center pushes to every responder at once while the cascade runs; climbing
  past the first rung waits until the responder's town center has the alert in hand.

Escalation: an unacknowledged responder is tried on the next rung of the ladder after that rung's
timeout; after the last rung they are flagged `unreachable` (or `unavailable` if a door-knock found
them away). Whoever has not ended by the alert's expiry is flagged `expired`, and whoever has not
ended when the driver stops waiting (`DeadlinePassed`) is flagged `unacknowledged`.

A warning's life (`dispatcher.core.lifecycle`): an Update (a plan with ``references``) ends the
pending states of the earlier messages it supersedes ``superseded`` and carries those recipients
on at the rung reached, leaving out whoever acknowledged already; a Cancel ends the rest of the
episode in its area ``cancelled`` and calls its walks off (`CallOff`, `called_off`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from dispatcher.core.commands import (
    AlertCompleted,
    CallOff,
    Command,
    Dispatch,
    ExpireAt,
    Flagged,
    Process,
    make_dispatch,
    make_notify,
    make_start_timer,
)
from dispatcher.core.events import (
    Acknowledged,
    AlertExpired,
    AlertIssued,
    CenterProcessed,
    DeadlinePassed,
    Delivered,
    Event,
    FoundAbsent,
    OnScene,
    RelayConfirmed,
    RelayReceived,
    RelayTimerFired,
    TimerFired,
)
from dispatcher.core.lifecycle import Episodes, carry, narrowed, withdrawn
from dispatcher.core.plan import MUNICIPAL, AlertPlan, FlagCause, TownPlan
from dispatcher.core.relays import RelayBook, RelaySettings
from dispatcher.core.tracker import AckOutcome, RecipientState, Tracker

# Causes that end the alert's handling: nobody is sent in the flagged recipient's place (a
# superseded recipient carries on in the newer message, points and all).
_ALERT_OVER: tuple[FlagCause, ...] = ("expired", "unacknowledged", "superseded", "cancelled")


@dataclass(frozen=True, slots=True)
class PolicySettings:
    strategy: str  # "cascade" | "direct" | "hybrid"
    ladder: tuple[str, ...]
    timeout_s: tuple[float, ...]
    relay: RelaySettings = field(default_factory=RelaySettings)

    def __post_init__(self) -> None:
        if self.strategy not in ("cascade", "direct", "hybrid"):
            raise ValueError(f"strategy: expected cascade, direct or hybrid, got {self.strategy!r}")
        if not self.ladder or len(self.ladder) != len(self.timeout_s):
            raise ValueError(
                f"ladder: expected one timeout per rung, got {len(self.ladder)} rungs and "
                f"{len(self.timeout_s)} timeouts"
            )


class _AlertIndex:
    """Lookups the policy needs for one alert, built once when it is issued."""

    __slots__ = (
        "carried",
        "districts",
        "engaged_towns",
        "lead_of_town",
        "relays",
        "towns",
        "waiting",
    )

    def __init__(self, plan: AlertPlan, relay: RelaySettings, counters: Counter[str]) -> None:
        self.relays = RelayBook(plan.alert_id, relay, counters)
        self.districts = {d.code: d for d in plan.districts}
        self.towns: dict[str, TownPlan] = {t.code: t for d in plan.districts for t in d.towns}
        self.lead_of_town = {code: t.team[0] for code, t in self.towns.items() if t.team}
        self.engaged_towns: set[str] = set()
        # hybrid: recipients whose next rung waits for their town center to have the alert
        self.waiting: dict[str, list[tuple[str, int]]] = {}
        # an Update: the rung each recipient carried on from a superseded state starts at
        self.carried: dict[str, int] = {}


class Policy:
    """Decides whom to notify, over which channel, when to escalate, and when an alert is done."""

    def __init__(self, settings: PolicySettings, tracker: Tracker | None = None) -> None:
        self.settings = settings
        self.tracker = tracker if tracker is not None else Tracker()
        self._index: dict[str, _AlertIndex] = {}
        self._episodes = Episodes()
        # (alert, town) a Cancel withdrew: a walk there reaches no further risk point (CallOff)
        self.called_off: set[tuple[str, str]] = set()

    def handle(self, event: Event, now_s: float) -> list[Command]:
        # The commonest first: a case is an isinstance check, tried in turn (the SimPy world's
        # timers, the commonest events of all, come through `handle_many`).
        match event:
            case Delivered():
                return self._delivered(event, now_s)
            case Acknowledged():
                return self._acknowledged(event, now_s)
            case OnScene():
                return self._on_scene(event, now_s)
            case TimerFired():
                return self.handle_many((event,), now_s)  # where a timer is looked at
            case CenterProcessed():
                return self._center_processed(event, now_s)
            case RelayReceived():
                return self._relay_received(event)
            case RelayConfirmed():
                self._index[event.alert_id].relays.confirmed(event.center)
                return []
            case RelayTimerFired():
                if not self.tracker.alerts[event.alert_id].open:
                    return []  # nobody is waiting for the alert any more
                return self._index[event.alert_id].relays.timer(event.center, event.attempt, now_s)
            case AlertIssued():
                return self._issued(event.plan, now_s)
            case FoundAbsent():
                return self._found_absent(event, now_s)
            case AlertExpired():
                return self._flag_open(event.alert_id, "expired", now_s)
            case DeadlinePassed():
                return self._flag_open(event.alert_id, "unacknowledged", now_s)
        raise TypeError(f"unknown event {event!r}")  # pragma: no cover

    def handle_many(self, events: Iterable[Event], now_s: float) -> list[Command]:
        """Handle `events`, all at `now_s`, in turn: the commands `handle` gives each, one
        event's after another's.

        The same as calling `handle` for each and carrying out its commands before the next,
        since carrying out a command never feeds the policy at once. A driver whose timers fall
        due together hands them over in one call (the SimPy world: 278,000 escalation timers in
        4,275 instants at city scale): most are stale (the recipient acknowledged, was flagged
        or climbed already), and a stale one costs two lookups here, not a dispatch and a call
        (`handle` hands a timer here too: one place decides whether a timer is stale).
        """
        commands: list[Command] = []
        alerts = self.tracker.alerts
        for event in events:
            if type(event) is TimerFired:
                alert = alerts.get(event.alert_id)
                state = None if alert is None else alert.recipients.get(event.recipient_id)
                if state is None or state.rung != event.rung or state.done:
                    continue  # stale: acknowledged, flagged or already climbed
                commands.extend(self._escalate(event, state, now_s))
            else:
                commands.extend(self.handle(event, now_s))
        return commands

    # -- issue and relay ----------------------------------------------------------------------

    def _issued(self, plan: AlertPlan, now_s: float) -> list[Command]:
        if plan.references or plan.msg_type != "Alert":
            return self._lifecycle(plan, now_s)
        return self._open(plan, now_s)

    def _open(self, plan: AlertPlan, now_s: float) -> list[Command]:
        self.tracker.open(plan)
        self._index[plan.alert_id] = _AlertIndex(plan, self.settings.relay, self.tracker.counters)
        commands: list[Command] = [Process(plan.alert_id, MUNICIPAL)]
        commands.append(ExpireAt(plan.alert_id, plan.expires_at_s))
        if not plan.districts:
            commands.append(AlertCompleted(plan.alert_id))
        return commands

    def _center_processed(self, event: CenterProcessed, now_s: float) -> list[Command]:
        alert_id, center = event.alert_id, event.center
        index = self._index[alert_id]
        alert = self.tracker.alerts[alert_id]
        strategy = self.settings.strategy
        commands: list[Command] = []
        if center.tier == "municipal":
            for state in alert.recipients.values():
                state.relayed_municipal_at_s = now_s
            if strategy != "cascade":
                for state in alert.recipients.values():
                    commands.extend(self._first_attempt(alert_id, state, now_s))
            if strategy != "direct":
                for d in alert.plan.districts:
                    commands.extend(index.relays.send(MUNICIPAL, d.center, now_s))
        elif center.tier == "district":
            district = index.districts[center.code]
            for member in self._members_of_district(alert_id, center.code):
                member.relayed_district_at_s = now_s
            for t in district.towns:
                commands.extend(index.relays.send(center, t.center, now_s))
            if strategy == "cascade":
                for recipient in district.team:
                    commands.extend(
                        self._first_attempt(alert_id, alert.recipients[recipient.id], now_s)
                    )
        else:
            town = index.towns[center.code]
            index.engaged_towns.add(center.code)
            for recipient in (*town.team, *town.members):
                state = alert.recipients[recipient.id]
                state.relayed_town_at_s = now_s
                if strategy == "cascade":
                    commands.extend(self._first_attempt(alert_id, state, now_s))
            for recipient_id, rung in index.waiting.pop(center.code, []):
                commands.extend(self._climb(alert_id, alert.recipients[recipient_id], rung, now_s))
        return commands

    def _lifecycle(self, plan: AlertPlan, now_s: float) -> list[Command]:
        """An Update or Cancel: end what it supersedes or withdraws (dispatcher.core.lifecycle)."""
        earlier = self._episodes.add(plan, self.tracker.alerts)
        commands: list[Command] = []
        if plan.msg_type == "Cancel":
            for alert_id, state in withdrawn(self.tracker, plan, earlier):
                commands.extend(self._flag(alert_id, state, "cancelled", now_s))
            towns = tuple(t.code for d in plan.districts for t in d.towns)
            commands.extend(CallOff(alert_id, towns) for alert_id in earlier)
            self.called_off.update((alert_id, town) for alert_id in earlier for town in towns)
            empty = replace(plan, districts=())
            self.tracker.open(empty)
            relay, counters = self.settings.relay, self.tracker.counters
            self._index[plan.alert_id] = _AlertIndex(empty, relay, counters)
            return [*commands, *self._maybe_complete(plan.alert_id)]
        moved = carry(self.tracker, plan, earlier)
        for alert_id, state in moved.superseded:
            points = self.tracker.alerts[alert_id].risk_points
            for point_id in state.recipient.risk_points:
                if points[point_id].withdrawn is None:
                    points[point_id].withdrawn = "superseded"
            commands.extend(self._flag(alert_id, state, "superseded", now_s))
        commands.extend(self._open(narrowed(plan, moved.acknowledged), now_s))
        index = self._index[plan.alert_id]
        index.carried = moved.rungs
        # a duty team lead who acknowledged before still covers the town's unreached members
        index.lead_of_town = {t.code: t.team[0] for d in plan.districts for t in d.towns if t.team}
        return [*commands, *self._maybe_complete(plan.alert_id)]

    def _relay_received(self, event: RelayReceived) -> list[Command]:
        """A center takes an alert once; every copy it gets is confirmed to the tier above."""
        first, commands = self._index[event.alert_id].relays.received(event.center, event.via)
        if first:
            commands.insert(0, Process(event.alert_id, event.center))
        return commands

    def _members_of_district(self, alert_id: str, code: str) -> list[RecipientState]:
        alert = self.tracker.alerts[alert_id]
        district = self._index[alert_id].districts[code]
        ids = [r.id for r in district.team]
        for town in district.towns:
            ids.extend(r.id for r in town.team)
            ids.extend(r.id for r in town.members)
        return [alert.recipients[i] for i in ids]

    # -- attempts and escalation ----------------------------------------------------------

    def _first_attempt(self, alert_id: str, state: RecipientState, now_s: float) -> list[Command]:
        if state.rung >= 0 or state.done:
            return []
        state.notified_at_s = now_s
        index = self._index[alert_id]
        rung = index.carried.get(state.recipient.id, 0) if index.carried else 0
        if rung and self.settings.strategy == "hybrid" and state.recipient.town:
            # hybrid climbs past the first rung only once the town center has the alert
            rung = rung if state.recipient.town in index.engaged_towns else 0
        return self._attempt(alert_id, state, rung, now_s)

    def _attempt(
        self, alert_id: str, state: RecipientState, rung: int, now_s: float
    ) -> list[Command]:
        channel = self.settings.ladder[rung]
        state.rung = rung
        state.attempts += 1
        state.sent_at[rung] = now_s
        if rung > 0:
            state.escalations.append(channel)
        recipient = state.recipient
        return [
            make_notify(alert_id, recipient, channel, rung),
            make_start_timer(alert_id, recipient.id, rung, now_s + self.settings.timeout_s[rung]),
        ]

    def _escalate(self, event: TimerFired, state: RecipientState, now_s: float) -> list[Command]:
        """A live timer of `state`'s (its rung unanswered): the next rung, or flagged."""
        next_rung = event.rung + 1
        if next_rung >= len(self.settings.ladder):
            return self._flag(event.alert_id, state, "unreachable", now_s)
        index = self._index[event.alert_id]
        town = state.recipient.town
        if self.settings.strategy == "hybrid" and town and town not in index.engaged_towns:
            index.waiting.setdefault(town, []).append((state.recipient.id, next_rung))
            return []
        return self._climb(event.alert_id, state, next_rung, now_s)

    def _climb(
        self, alert_id: str, state: RecipientState, rung: int, now_s: float
    ) -> list[Command]:
        if state.done:
            return []
        return self._attempt(alert_id, state, rung, now_s)

    # -- outcomes -------------------------------------------------------------------------

    def _delivered(self, event: Delivered, now_s: float) -> list[Command]:
        alert_id, recipient_id, _, rung = event
        alert = self.tracker.alerts.get(alert_id)  # `Tracker.get`, inline: a call fewer
        state = None if alert is None else alert.recipients.get(recipient_id)
        if state is None:
            self.tracker.counters["deliveries_unknown"] += 1
            return []
        self.tracker.delivered(state, now_s, rung)
        return []

    def _acknowledged(self, event: Acknowledged, now_s: float) -> list[Command]:
        alert_id, recipient_id, channel, rung, read_at_s, acked_at_s = event
        tracker = self.tracker
        alert = tracker.alerts.get(alert_id)
        state = None if alert is None else alert.recipients.get(recipient_id)
        if alert is None or state is None:
            tracker.counters["acks_unknown"] += 1
            return []
        # `Tracker.acknowledge` with the state looked up once, here, and no keywords to bind.
        outcome: AckOutcome = tracker.accept(
            alert, state, channel, rung, read_at_s, acked_at_s, now_s
        )
        if outcome != "accepted":
            return []
        commands: list[Command] = []
        recipient = state.recipient
        if recipient.risk_points:
            state.dispatched_at_s = now_s
            commands.append(
                make_dispatch(alert_id, recipient.id, recipient.town, recipient.risk_points, False)
            )
            self._mark_dispatched(alert_id, recipient.risk_points, recipient.id, now_s)
        if alert.pending == 0 and alert.open:  # `_maybe_complete`, its alert at hand
            alert.open = False
            commands.append(AlertCompleted(alert_id))
        return commands

    def _found_absent(self, event: FoundAbsent, now_s: float) -> list[Command]:
        state = self.tracker.get(event.alert_id, event.recipient_id)
        if state is None or state.done:
            return []
        return self._flag(event.alert_id, state, "unavailable", now_s)

    def _flag_open(self, alert_id: str, cause: FlagCause, now_s: float) -> list[Command]:
        """Flag every recipient of the alert who has not ended yet with ``cause``."""
        alert = self.tracker.alerts[alert_id]
        commands: list[Command] = []
        for state in alert.recipients.values():
            if not state.done:
                commands.extend(self._flag(alert_id, state, cause, now_s))
        return commands

    def _flag(
        self, alert_id: str, state: RecipientState, cause: FlagCause, now_s: float
    ) -> list[Command]:
        if not self.tracker.flag(alert_id, state, cause, now_s):
            return []
        commands: list[Command] = [Flagged(alert_id, state.recipient.id, cause)]
        recipient = state.recipient
        lead = self._index[alert_id].lead_of_town.get(recipient.town)
        if recipient.risk_points and lead is not None and cause not in _ALERT_OVER:
            # Somebody must still go: the town duty team covers an unreached member's points.
            commands.append(
                Dispatch(alert_id, lead.id, recipient.town, recipient.risk_points, True)
            )
            self._mark_dispatched(alert_id, recipient.risk_points, lead.id, now_s, reassigned=True)
        commands.extend(self._maybe_complete(alert_id))
        return commands

    def _mark_dispatched(
        self,
        alert_id: str,
        points: Sequence[str],
        responder_id: str,
        now_s: float,
        *,
        reassigned: bool = False,
    ) -> None:
        risk_points = self.tracker.alerts[alert_id].risk_points
        for point_id in points:
            point = risk_points[point_id]
            if point.dispatched_at_s is None:
                point.dispatched_at_s = now_s
                point.responder = responder_id
                point.reassigned = reassigned

    def _on_scene(self, event: OnScene, now_s: float) -> list[Command]:
        alert = self.tracker.alerts[event.alert_id]
        point = alert.risk_points.get(event.risk_point_id)
        if point is None:
            self.tracker.counters["on_scene_unknown"] += 1
            return []
        if point.on_scene_at_s is None:
            point.on_scene_at_s = now_s
        responder = alert.recipients.get(event.responder_id)
        if responder is not None and responder.on_scene_at_s is None:
            responder.on_scene_at_s = now_s
        return []

    def _maybe_complete(self, alert_id: str) -> list[Command]:
        alert = self.tracker.alerts[alert_id]
        if alert.pending == 0 and alert.open:
            alert.open = False
            return [AlertCompleted(alert_id)]
        return []
