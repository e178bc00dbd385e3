"""A warning's life in the policy: an Update supersedes, a Cancel withdraws, nothing twice.

Every recipient of an episode ends acknowledged or flagged once per message they were targeted
by; an acknowledged one keeps that acknowledgement; a pending one carries on in the newer message
at the rung the ladder had reached; after a Cancel nothing more is sent for the episode.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.core.commands import (
    AlertCompleted,
    CallOff,
    Command,
    Dispatch,
    Flagged,
    Notify,
    StartTimer,
)
from dispatcher.core.events import (
    Acknowledged,
    AlertExpired,
    AlertIssued,
    CenterProcessed,
    Event,
    TimerFired,
)
from dispatcher.core.plan import MUNICIPAL, AlertPlan, Center, DistrictPlan, Recipient, TownPlan
from dispatcher.core.policy import Policy, PolicySettings

LADDER = ("app_push", "sms", "door_knock")
TIMEOUTS = (60.0, 30.0, 300.0)
TOWN = "500101001"
LEAD = Recipient("500101001-t00", "town", "500101", TOWN)
MEMBERS = tuple(
    Recipient(f"500101001-m{i:04d}", "grid", "500101", TOWN, (f"500101001-r{i:04d}",))
    for i in range(3)
)
NEWCOMER = Recipient("500101001-m0009", "grid", "500101", TOWN, ("500101001-r0009",))


def plan(
    alert_id: str, at_s: float, members: tuple[Recipient, ...] = MEMBERS, **kw: object
) -> AlertPlan:
    town = TownPlan(TOWN, "500101", (LEAD,), members)
    return AlertPlan(alert_id, at_s, at_s + 3600.0, (DistrictPlan("500101", (), (town,)),), **kw)  # type: ignore[arg-type]


def direct() -> Policy:
    return Policy(PolicySettings("direct", LADDER, TIMEOUTS))


def notified(commands: list[Command]) -> dict[str, tuple[str, int]]:
    return {c.recipient.id: (c.channel, c.rung) for c in commands if isinstance(c, Notify)}


def ack(alert_id: str, who: Recipient, at_s: float) -> Acknowledged:
    return Acknowledged(alert_id, who.id, "app_push", 0, acked_at_s=at_s)


def test_an_update_keeps_acknowledgements_supersedes_the_pending_and_carries_their_rung() -> None:
    p = direct()
    p.handle(AlertIssued(plan("a1", 0.0)), 0.0)
    p.handle(CenterProcessed("a1", MUNICIPAL), 30.0)
    p.handle(ack("a1", LEAD, 40.0), 40.0)
    p.handle(ack("a1", MEMBERS[0], 45.0), 45.0)
    climbed = p.handle(TimerFired("a1", MEMBERS[1].id, 0), 90.0)  # member 1 is tried by SMS
    assert notified(climbed) == {MEMBERS[1].id: ("sms", 1)}

    update = plan("a2", 100.0, (*MEMBERS, NEWCOMER), msg_type="Update", references=("a1",))
    out = p.handle(AlertIssued(update), 100.0)
    # the pending end superseded, nobody is sent in their place, the earlier alert is done
    assert [c for c in out if isinstance(c, Flagged)] == [
        Flagged("a1", MEMBERS[1].id, "superseded"),
        Flagged("a1", MEMBERS[2].id, "superseded"),
    ]
    assert not [c for c in out if isinstance(c, Dispatch)]
    assert AlertCompleted("a1") in out
    # the update targets whoever had not acknowledged; the acknowledged keep theirs
    assert set(p.tracker.alerts["a2"].recipients) == {m.id for m in (*MEMBERS[1:], NEWCOMER)}
    out = p.handle(CenterProcessed("a2", MUNICIPAL), 130.0)
    assert notified(out) == {
        MEMBERS[1].id: ("sms", 1),  # carries on at the rung it had reached
        MEMBERS[2].id: ("app_push", 0),
        NEWCOMER.id: ("app_push", 0),
    }
    # the superseded ladder's timer is stale; an ack of the old message is late, not counted
    assert p.handle(TimerFired("a1", MEMBERS[1].id, 1), 120.0) == []
    assert p.handle(ack("a1", MEMBERS[2], 140.0), 140.0) == []
    assert p.tracker.counters["acks_late"] == 1
    assert p.tracker.counters["flagged_superseded"] == 2
    # a grid member unreached on the update is still covered by the lead who acknowledged a1
    out = p.handle(TimerFired("a2", NEWCOMER.id, 0), 190.0)
    out = p.handle(TimerFired("a2", NEWCOMER.id, 1), 220.0)
    out = p.handle(TimerFired("a2", NEWCOMER.id, 2), 520.0)
    assert Dispatch("a2", LEAD.id, TOWN, NEWCOMER.risk_points, True) in out
    assert p.tracker.alerts["a1"].risk_points[MEMBERS[1].risk_points[0]].withdrawn == "superseded"


def test_an_update_of_acknowledged_recipients_only_targets_nobody_and_completes() -> None:
    p = direct()
    p.handle(AlertIssued(plan("a1", 0.0, ())), 0.0)
    p.handle(CenterProcessed("a1", MUNICIPAL), 30.0)
    p.handle(ack("a1", LEAD, 40.0), 40.0)
    out = p.handle(AlertIssued(plan("a2", 100.0, (), msg_type="Update", references=("a1",))), 100.0)
    assert AlertCompleted("a2") in out
    assert p.tracker.alerts["a2"].recipients == {}


def test_a_cancel_withdraws_the_pending_calls_walks_off_and_stops_every_ladder() -> None:
    p = direct()
    p.handle(AlertIssued(plan("a1", 0.0)), 0.0)
    p.handle(CenterProcessed("a1", MUNICIPAL), 30.0)
    p.handle(ack("a1", MEMBERS[0], 45.0), 45.0)
    p.handle(AlertIssued(plan("a2", 100.0, msg_type="Update", references=("a1",))), 100.0)
    p.handle(CenterProcessed("a2", MUNICIPAL), 130.0)
    out = p.handle(AlertIssued(plan("c", 200.0, msg_type="Cancel", references=("a2",))), 200.0)
    assert [c for c in out if isinstance(c, Flagged)] == [
        Flagged("a2", r.id, "cancelled") for r in (LEAD, *MEMBERS[1:])
    ]
    assert CallOff("a2", (TOWN,)) in out
    assert CallOff("a1", (TOWN,)) in out
    assert out[-1] == AlertCompleted("c")
    assert AlertCompleted("a2") in out
    assert not [c for c in out if isinstance(c, (Notify, Dispatch))]
    for rung in range(3):
        assert p.handle(TimerFired("a2", MEMBERS[1].id, rung), 300.0 + rung) == []
    # the acknowledged member's point, not reached yet, is withdrawn with the rest
    points = p.tracker.alerts["a1"].risk_points
    assert points[MEMBERS[0].risk_points[0]].withdrawn == "cancelled"
    assert p.tracker.counters["flagged_cancelled"] == 3


# --- invariants over any order of events ---------------------------------------------------------

PEOPLE = (LEAD, *MEMBERS, NEWCOMER)
steps = st.lists(
    st.tuples(
        st.sampled_from(["ack", "timer", "update", "cancel", "process"]),
        st.sampled_from(PEOPLE),
        st.integers(0, 2),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(steps, st.sampled_from(["direct", "hybrid", "cascade"]))
def test_every_state_ends_once_and_nothing_is_sent_after_the_cancel(
    actions: list[tuple[str, Recipient, int]], strategy: str
) -> None:
    p = Policy(PolicySettings(strategy, LADDER, TIMEOUTS))
    alerts = ["a1"]
    now = 0.0
    cancelled = False
    sent: list[Command] = []

    def handle(event: Event) -> None:
        out = p.handle(event, now)
        if cancelled:
            assert not [c for c in out if isinstance(c, (Notify, StartTimer, Dispatch))], out
        sent.extend(out)

    handle(AlertIssued(plan("a1", 0.0)))
    for kind, who, n in actions:
        now += 7.0
        latest = alerts[-1]
        if kind == "update" and not cancelled:
            alert_id = f"a{len(alerts) + 1}"
            members = (*MEMBERS[n:], NEWCOMER)
            handle(
                AlertIssued(plan(alert_id, now, members, msg_type="Update", references=(latest,)))
            )
            alerts.append(alert_id)
        elif kind == "cancel" and not cancelled:
            # the Cancel names fewer people than the update targeted: its area is what counts
            handle(AlertIssued(plan("c", now, (), msg_type="Cancel", references=(latest,))))
            cancelled = True
        elif kind == "process":
            for center in (MUNICIPAL, Center("district", "500101"), Center("town", TOWN)):
                handle(CenterProcessed(alerts[n % len(alerts)], center))
        elif kind == "ack":
            handle(ack(alerts[n % len(alerts)], who, now))
        elif kind == "timer":
            handle(TimerFired(alerts[n % len(alerts)], who.id, n))
    for alert_id in alerts:
        handle(AlertExpired(alert_id))
    acknowledged: set[str] = set()
    for alert_id in alerts:
        state = p.tracker.alerts[alert_id]
        assert state.pending == 0
        assert not state.open
        for rid, s in state.recipients.items():
            assert s.done
            assert s.acknowledged_at_s is None or s.flag is None
            if s.acknowledged_at_s is not None:
                assert rid not in acknowledged  # one acknowledgement per episode
                acknowledged.add(rid)
    ends = sum(1 for a in alerts for s in p.tracker.alerts[a].recipients.values())
    flagged = sum(v for k, v in p.tracker.counters.items() if k.startswith("flagged_"))
    assert ends == flagged + len(acknowledged)
    assert sum(1 for c in sent if isinstance(c, AlertCompleted)) == len(alerts) + cancelled


def test_hybrid_carries_a_rung_on_only_once_the_town_center_has_the_update() -> None:
    p = Policy(PolicySettings("hybrid", LADDER, TIMEOUTS))
    town = Center("town", TOWN)
    p.handle(AlertIssued(plan("a1", 0.0)), 0.0)
    p.handle(CenterProcessed("a1", MUNICIPAL), 30.0)
    p.handle(CenterProcessed("a1", town), 60.0)
    assert notified(p.handle(TimerFired("a1", MEMBERS[1].id, 0), 90.0)) == {
        MEMBERS[1].id: ("sms", 1)
    }
    p.handle(AlertIssued(plan("a2", 100.0, msg_type="Update", references=("a1",))), 100.0)
    # the municipal push goes to everyone at once, on the first rung: the town has not got a2
    assert notified(p.handle(CenterProcessed("a2", MUNICIPAL), 130.0))[MEMBERS[1].id] == (
        "app_push",
        0,
    )
