"""The pure policy: what it decides for each event, with no clock and no I/O."""

from __future__ import annotations

import pytest

from dispatcher.core.commands import (
    AlertCompleted,
    Command,
    Dispatch,
    ExpireAt,
    Flagged,
    Notify,
    Process,
    Relay,
    StartRelayTimer,
    StartTimer,
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
    FoundAbsent,
    OnScene,
    TimerFired,
    make_acknowledged,
    make_delivered,
    make_on_scene,
    make_timer_fired,
)
from dispatcher.core.plan import MUNICIPAL, AlertPlan, Center, DistrictPlan, Recipient, TownPlan
from dispatcher.core.policy import Policy, PolicySettings

LADDER = ("app_push", "sms", "door_knock")
TIMEOUTS = (60.0, 30.0, 300.0)
LEAD = Recipient("500101001-t00", "town", "500101", "500101001")
MEMBER = Recipient("500101001-m0000", "grid", "500101", "500101001", ("500101001-r0000",))
DISTRICT_TEAM = Recipient("500101-d00", "district", "500101", "")
TOWN = TownPlan("500101001", "500101", (LEAD,), (MEMBER,))
PLAN = AlertPlan("a1", 0.0, 3600.0, (DistrictPlan("500101", (DISTRICT_TEAM,), (TOWN,)),))


def policy(strategy: str) -> Policy:
    p = Policy(PolicySettings(strategy, LADDER, TIMEOUTS))
    assert p.handle(AlertIssued(PLAN), 0.0) == [Process("a1", MUNICIPAL), ExpireAt("a1", 3600.0)]
    return p


def notified(commands: list[Command]) -> dict[str, str]:
    return {c.recipient.id: c.channel for c in commands if isinstance(c, Notify)}


def test_cascade_relays_tier_by_tier() -> None:
    p = policy("cascade")
    out = p.handle(CenterProcessed("a1", MUNICIPAL), 30.0)
    district = Center("district", "500101")
    assert out == [Relay("a1", MUNICIPAL, district), StartRelayTimer("a1", district, 0, 45.0)]
    out = p.handle(CenterProcessed("a1", Center("district", "500101")), 70.0)
    assert Relay("a1", Center("district", "500101"), Center("town", "500101001")) in out
    assert notified(out) == {DISTRICT_TEAM.id: "app_push"}
    out = p.handle(CenterProcessed("a1", Center("town", "500101001")), 120.0)
    assert notified(out) == {LEAD.id: "app_push", MEMBER.id: "app_push"}
    assert StartTimer("a1", MEMBER.id, 0, 180.0) in out


def test_direct_notifies_everyone_at_once_and_relays_nothing() -> None:
    out = policy("direct").handle(CenterProcessed("a1", MUNICIPAL), 30.0)
    assert notified(out) == dict.fromkeys((DISTRICT_TEAM.id, LEAD.id, MEMBER.id), "app_push")
    assert not [c for c in out if isinstance(c, Relay)]


def test_escalation_climbs_the_ladder_then_flags_unreachable() -> None:
    p = policy("direct")
    p.handle(CenterProcessed("a1", MUNICIPAL), 30.0)
    out = p.handle(TimerFired("a1", MEMBER.id, 0), 90.0)
    assert notified(out) == {MEMBER.id: "sms"}
    assert p.handle(TimerFired("a1", MEMBER.id, 0), 95.0) == [], "a stale timer does nothing"
    assert notified(p.handle(TimerFired("a1", MEMBER.id, 1), 120.0)) == {MEMBER.id: "door_knock"}
    out = p.handle(TimerFired("a1", MEMBER.id, 2), 420.0)
    assert Flagged("a1", MEMBER.id, "unreachable") in out
    # Somebody still goes to the member's risk points: the town's duty-team lead.
    assert Dispatch("a1", LEAD.id, "500101001", MEMBER.risk_points, True) in out
    state = p.tracker.get("a1", MEMBER.id)
    assert state is not None
    assert state.escalations == ["sms", "door_knock"]


def test_first_acknowledgement_counts_later_ones_are_duplicates() -> None:
    p = policy("direct")
    p.handle(CenterProcessed("a1", MUNICIPAL), 30.0)
    out = p.handle(Acknowledged("a1", MEMBER.id, "app_push", 0, 50.0, 55.0), 56.0)
    assert out == [Dispatch("a1", MEMBER.id, "500101001", MEMBER.risk_points, False)]
    assert p.handle(Acknowledged("a1", MEMBER.id, "app_push", 0), 57.0) == []
    assert p.handle(Acknowledged("a1", "nobody", "app_push", 0), 58.0) == []
    assert p.tracker.counters["acks_duplicate"] == 1
    assert p.tracker.counters["acks_unknown"] == 1
    state = p.tracker.get("a1", MEMBER.id)
    assert state is not None
    assert state.acknowledged_at_s == 56.0
    assert state.duplicates == 1
    assert p.handle(TimerFired("a1", MEMBER.id, 0), 90.0) == [], "no escalation once acknowledged"


def test_hybrid_waits_for_the_town_before_climbing() -> None:
    p = policy("hybrid")
    out = p.handle(CenterProcessed("a1", MUNICIPAL), 30.0)
    assert MEMBER.id in notified(out)
    assert p.handle(TimerFired("a1", MEMBER.id, 0), 90.0) == []
    p.handle(CenterProcessed("a1", Center("district", "500101")), 100.0)
    out = p.handle(CenterProcessed("a1", Center("town", "500101001")), 150.0)
    assert notified(out) == {MEMBER.id: "sms"}


def test_found_absent_and_expiry_end_everyone_and_complete_the_alert() -> None:
    p = policy("direct")
    p.handle(CenterProcessed("a1", MUNICIPAL), 30.0)
    p.handle(Acknowledged("a1", LEAD.id, "app_push", 0), 40.0)
    assert Flagged("a1", MEMBER.id, "unavailable") in p.handle(FoundAbsent("a1", MEMBER.id), 50.0)
    out = p.handle(AlertExpired("a1"), 3600.0)
    assert out == [Flagged("a1", DISTRICT_TEAM.id, "expired"), AlertCompleted("a1")]
    assert p.tracker.pending("a1") == 0
    assert p.handle(Acknowledged("a1", DISTRICT_TEAM.id, "sms", 1), 3700.0) == []
    assert p.tracker.counters["acks_late"] == 1


def test_deadline_flags_whoever_is_open_unacknowledged_and_sends_nobody() -> None:
    p = policy("direct")
    p.handle(CenterProcessed("a1", MUNICIPAL), 30.0)
    p.handle(Acknowledged("a1", LEAD.id, "app_push", 0), 40.0)
    out = p.handle(DeadlinePassed("a1"), 60.0)
    # the member's risk points are not handed to the lead: the driver has stopped waiting
    assert out == [
        Flagged("a1", DISTRICT_TEAM.id, "unacknowledged"),
        Flagged("a1", MEMBER.id, "unacknowledged"),
        AlertCompleted("a1"),
    ]
    state = p.tracker.get("a1", MEMBER.id)
    assert state is not None
    assert (state.flag, state.flagged_at_s) == ("unacknowledged", 60.0)
    assert p.tracker.counters["flagged_unacknowledged"] == 2
    assert p.handle(DeadlinePassed("a1"), 61.0) == [], "nobody is left to flag"


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="strategy"):
        PolicySettings("broadcast-everything", LADDER, TIMEOUTS)
    with pytest.raises(ValueError, match="one timeout per rung"):
        PolicySettings("direct", LADDER, (60.0,))


def test_handle_many_gives_what_handle_gives_event_by_event() -> None:
    due = [
        TimerFired("a1", LEAD.id, 0),
        TimerFired("a1", MEMBER.id, 0),
        TimerFired("a1", MEMBER.id, 0),  # stale once the first has climbed
        TimerFired("a2", MEMBER.id, 0),  # an alert nobody issued
        Acknowledged("a1", DISTRICT_TEAM.id, "app_push", 0),
        AlertExpired("a1"),
    ]
    one_by_one, at_once = policy("direct"), policy("direct")
    for p in (one_by_one, at_once):
        p.handle(CenterProcessed("a1", MUNICIPAL), 30.0)
        p.handle(Acknowledged("a1", LEAD.id, "app_push", 0), 40.0)
    expected = [c for event in due for c in one_by_one.handle(event, 90.0)]
    assert at_once.handle_many(due, 90.0) == expected
    assert notified(expected) == {MEMBER.id: "sms"}
    assert at_once.tracker.counters == one_by_one.tracker.counters


def test_makers_make_what_the_class_calls_make() -> None:
    made = [
        (make_delivered("a1", "r", "sms", 1), Delivered("a1", "r", "sms", 1)),
        (
            make_acknowledged("a1", "r", "sms", 1, 2.0, 3.0),
            Acknowledged("a1", "r", "sms", 1, 2.0, 3.0),
        ),
        (make_timer_fired("a1", "r", 1), TimerFired("a1", "r", 1)),
        (make_on_scene("a1", "p", "r"), OnScene("a1", "p", "r")),
        (make_notify("a1", MEMBER, "sms", 1), Notify("a1", MEMBER, "sms", 1)),
        (make_start_timer("a1", "r", 1, 5.0), StartTimer("a1", "r", 1, 5.0)),
        (make_dispatch("a1", "r", "t", ("p",), False), Dispatch("a1", "r", "t", ("p",), False)),
    ]
    for fast, slow in made:
        assert type(fast) is type(slow)
        assert fast == slow
        assert fast._asdict() == slow._asdict()
