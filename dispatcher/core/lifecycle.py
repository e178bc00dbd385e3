"""A warning's life: what an Update supersedes and a Cancel withdraws, recipient by recipient.

An episode is a chain of messages linked by their CAP ``references``: an Alert, the Updates that
follow it, and the Cancel that ends it. The policy asks this module, when a newer message of the
chain is issued, what becomes of every recipient it targets who was targeted before:

- acknowledged an earlier message of the chain: keeps that acknowledgement and is not targeted
  again (one acknowledgement per recipient per episode, never two);
- still pending on an earlier message: that state ends ``superseded`` and the recipient carries
  on in the newer message at the rung the ladder had reached (the newer message goes out on the
  channel they were being tried on, not on the first rung again);
- flagged on an earlier message, or new to the chain: starts fresh on the first rung.

A Cancel ends every pending state of the chain in its area ``cancelled`` (their escalation
timers are then stale, so nothing is sent to them again), marks every risk point there that
nobody has reached ``cancelled``, and has the walks under way called off (`CallOff`). Pure: it
reads the tracker and returns what the policy should do.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, replace

from dispatcher.core.plan import AlertPlan, DistrictPlan, TownPlan
from dispatcher.core.tracker import RecipientState, Tracker

__all__ = ["Carry", "Episodes", "carry", "narrowed", "withdrawn"]


class Episodes:
    """Every alert's earlier messages in its chain, newest reference first."""

    def __init__(self) -> None:
        self._earlier: dict[str, tuple[str, ...]] = {}

    def add(self, plan: AlertPlan, known: Container[str]) -> tuple[str, ...]:
        """Record ``plan``'s chain; its earlier alerts that ``known`` holds, nearest first."""
        earlier: list[str] = []
        for reference in plan.references:
            for alert_id in (reference, *self._earlier.get(reference, ())):
                if alert_id in known and alert_id not in earlier:
                    earlier.append(alert_id)
        chain = tuple(earlier)
        self._earlier[plan.alert_id] = chain
        return chain

    def earlier(self, alert_id: str) -> tuple[str, ...]:
        return self._earlier.get(alert_id, ())


@dataclass(frozen=True, slots=True)
class Carry:
    """What a newer message does to the recipients an earlier message of its chain targeted."""

    acknowledged: frozenset[str]  # keep their acknowledgement: not targeted again
    rungs: dict[str, int]  # pending ones: the rung they carry on at
    superseded: tuple[tuple[str, RecipientState], ...]  # (earlier alert, its pending state)


def carry(tracker: Tracker, plan: AlertPlan, earlier: tuple[str, ...]) -> Carry:
    """The states of ``earlier`` alerts that ``plan``'s recipients leave behind."""
    ids = [r.id for r in plan.recipients()]
    acknowledged: set[str] = set()
    rungs: dict[str, int] = {}
    superseded: list[tuple[str, RecipientState]] = []
    for alert_id in earlier:
        states = tracker.alerts[alert_id].recipients
        for recipient_id in ids:
            state = states.get(recipient_id)
            if state is None:
                continue
            if state.acknowledged_at_s is not None:
                acknowledged.add(recipient_id)
            elif state.flag is None:
                superseded.append((alert_id, state))
                rungs[recipient_id] = max(rungs.get(recipient_id, 0), state.rung, 0)
    for recipient_id in acknowledged:
        rungs.pop(recipient_id, None)
    return Carry(frozenset(acknowledged), rungs, tuple(superseded))


def narrowed(plan: AlertPlan, out: frozenset[str]) -> AlertPlan:
    """``plan`` without the recipients in ``out`` (their towns are still relayed to)."""
    if not out:
        return plan

    def town(t: TownPlan) -> TownPlan:
        team = tuple(r for r in t.team if r.id not in out)
        members = tuple(r for r in t.members if r.id not in out)
        return TownPlan(t.code, t.district, team, members)

    districts = tuple(
        DistrictPlan(d.code, tuple(r for r in d.team if r.id not in out), tuple(map(town, d.towns)))
        for d in plan.districts
    )
    return replace(plan, districts=districts)


def withdrawn(
    tracker: Tracker, plan: AlertPlan, earlier: tuple[str, ...]
) -> list[tuple[str, RecipientState]]:
    """The pending states of ``earlier`` alerts in a Cancel's area (its towns, and its
    districts' duty teams); their unreached risk points there are marked ``cancelled``."""
    districts = {d.code for d in plan.districts}
    towns = {t.code for d in plan.districts for t in d.towns}
    pending: list[tuple[str, RecipientState]] = []
    for alert_id in earlier:
        alert = tracker.alerts[alert_id]
        for state in alert.recipients.values():
            recipient = state.recipient
            inside = recipient.town in towns if recipient.town else recipient.district in districts
            if inside and not state.done:
                pending.append((alert_id, state))
        for point in alert.risk_points.values():
            if point.on_scene_at_s is None and point.withdrawn is None and point.town in towns:
                point.withdrawn = "cancelled"
    return pending
