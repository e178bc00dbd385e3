"""The tracker's exactly-once accounting: every recipient ends once, acknowledged or flagged.

Later acknowledgements are duplicates or late, repeated deliveries are counted, and the frozen
records carry every stamp the states held.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.core.plan import FLAG_CAUSES, AlertPlan, DistrictPlan, Recipient, TownPlan
from dispatcher.core.tracker import RecipientRecord, Tracker

D1 = "500101"
T1, T2 = "500101001", "500101002"
DISTRICT_TEAM = Recipient("500101-d00", "district", D1, "")
TOWN_LEAD = Recipient("500101001-t00", "town", D1, T1)
MEMBERS = tuple(Recipient(f"{T1}-m{i:04d}", "grid", D1, T1, (f"rp-{i}",)) for i in range(3))
OTHER_TOWN = Recipient(f"{T2}-m0000", "grid", D1, T2, ("rp-9",))
EVERYONE = [DISTRICT_TEAM, TOWN_LEAD, *MEMBERS, OTHER_TOWN]


def plan(alert_id: str = "a1", issued_at_s: float = 100.0) -> AlertPlan:
    towns = (TownPlan(T1, D1, (TOWN_LEAD,), MEMBERS), TownPlan(T2, D1, (), (OTHER_TOWN,)))
    return AlertPlan(
        alert_id, issued_at_s, issued_at_s + 3600, (DistrictPlan(D1, (DISTRICT_TEAM,), towns),)
    )


def opened() -> Tracker:
    tracker = Tracker()
    tracker.open(plan())
    return tracker


def ack(tracker: Tracker, recipient_id: str, at_s: float, **kw: object) -> str:
    fields: dict[str, object] = {"channel": "app_push", "rung": 0, "read_at_s": None}
    fields |= {"acked_at_s": None, "at_s": at_s} | kw
    return tracker.acknowledge("a1", recipient_id, **fields)  # type: ignore[arg-type]


def test_open_makes_one_pending_state_per_recipient_in_plan_order() -> None:
    tracker = opened()

    assert list(tracker.alerts["a1"].recipients) == [r.id for r in EVERYONE]
    assert tracker.pending("a1") == len(EVERYONE)
    assert list(tracker.alerts["a1"].risk_points) == ["rp-0", "rp-1", "rp-2", "rp-9"]
    assert tracker.get("a1", "nobody") is None
    assert tracker.get("a9", MEMBERS[0].id) is None


def test_an_alert_opened_twice_or_a_recipient_targeted_twice_is_refused() -> None:
    tracker = opened()
    with pytest.raises(ValueError, match="alert a1 opened twice"):
        tracker.open(plan())
    twice = AlertPlan("a2", 0.0, 10.0, (DistrictPlan(D1, (DISTRICT_TEAM, DISTRICT_TEAM), ()),))
    with pytest.raises(ValueError, match="alert a2: recipient 500101-d00 targeted twice"):
        tracker.open(twice)


def test_the_first_acknowledgement_is_accepted_and_stamps_the_acknowledged_attempt() -> None:
    tracker = opened()
    state = tracker.get("a1", MEMBERS[0].id)
    assert state is not None
    state.sent_at.update({0: 110.0, 1: 230.0})  # the policy's attempts: push, then SMS
    tracker.delivered(state, 111.0, rung=0)
    tracker.delivered(state, 240.0, rung=1)

    outcome = ack(tracker, MEMBERS[0].id, 300.0, channel="sms", rung=1, read_at_s=280.0)

    assert outcome == "accepted"
    assert state.done
    assert tracker.pending("a1") == len(EVERYONE) - 1
    assert (state.acknowledged_at_s, state.acked_at_s, state.read_at_s) == (300.0, 300.0, 280.0)
    assert (state.channel, state.sent_at_s) == ("sms", 230.0)
    assert (state.delivered_at_s, state.ack_delivered_at_s) == (111.0, 240.0)
    assert tracker.counters["deliveries_repeated"] == 1


def test_an_acknowledgement_proves_delivery_when_the_receipt_was_lost() -> None:
    tracker = opened()

    assert ack(tracker, MEMBERS[1].id, 500.0, read_at_s=420.0, acked_at_s=430.0) == "accepted"
    state = tracker.get("a1", MEMBERS[1].id)
    assert state is not None
    assert (state.delivered_at_s, state.ack_delivered_at_s) == (420.0, 420.0)  # read: on device
    assert (state.acked_at_s, state.sent_at_s) == (430.0, None)

    assert ack(tracker, MEMBERS[2].id, 600.0, acked_at_s=590.0) == "accepted"
    other = tracker.get("a1", MEMBERS[2].id)
    assert other is not None
    assert (other.delivered_at_s, other.ack_delivered_at_s) == (590.0, 590.0)  # pressed: there


def test_later_acknowledgements_are_duplicates_and_change_nothing() -> None:
    tracker = opened()
    rid = MEMBERS[0].id
    ack(tracker, rid, 300.0)

    assert ack(tracker, rid, 310.0, channel="sms", rung=1) == "duplicate"
    assert ack(tracker, rid, 320.0) == "duplicate"

    state = tracker.get("a1", rid)
    assert state is not None
    assert (state.acknowledged_at_s, state.channel, state.duplicates) == (300.0, "app_push", 2)
    assert tracker.counters["acks_duplicate"] == 2
    assert tracker.pending("a1") == len(EVERYONE) - 1


def test_an_acknowledgement_after_a_flag_is_late_and_the_flag_stands() -> None:
    tracker = opened()
    state = tracker.get("a1", OTHER_TOWN.id)
    assert state is not None

    assert tracker.flag("a1", state, "unreachable", 700.0)
    assert ack(tracker, OTHER_TOWN.id, 710.0) == "late"

    assert (state.flag, state.flagged_at_s, state.acknowledged_at_s) == ("unreachable", 700.0, None)
    assert tracker.counters["acks_late"] == 1
    assert tracker.counters["flagged_unreachable"] == 1
    assert tracker.pending("a1") == len(EVERYONE) - 1


def test_a_recipient_is_flagged_at_most_once_and_never_after_its_acknowledgement() -> None:
    tracker = opened()
    flagged, acked = tracker.get("a1", MEMBERS[0].id), tracker.get("a1", MEMBERS[1].id)
    assert flagged is not None
    assert acked is not None
    ack(tracker, MEMBERS[1].id, 50.0)

    assert tracker.flag("a1", flagged, "expired", 3700.0)
    assert not tracker.flag("a1", flagged, "unavailable", 3800.0)
    assert not tracker.flag("a1", acked, "expired", 3700.0)

    assert (flagged.flag, flagged.flagged_at_s) == ("expired", 3700.0)
    assert acked.flag is None
    assert tracker.counters == Counter(flagged_expired=1)
    assert tracker.pending("a1") == len(EVERYONE) - 2


def test_acknowledgements_for_unknown_alerts_or_recipients_are_counted_not_applied() -> None:
    tracker = opened()

    assert (
        tracker.acknowledge(
            "a9", MEMBERS[0].id, channel="sms", rung=0, read_at_s=None, acked_at_s=None, at_s=1.0
        )
        == "unknown"
    )
    assert ack(tracker, "500101001-m9999", 1.0) == "unknown"

    assert tracker.counters == Counter(acks_unknown=2)
    assert tracker.pending("a1") == len(EVERYONE)


def test_repeated_deliveries_keep_the_first_per_rung_and_are_counted() -> None:
    tracker = opened()
    state = tracker.get("a1", MEMBERS[0].id)
    assert state is not None

    for at_s, rung in ((5.0, 0), (6.0, 0), (9.0, 1), (12.0, 1)):
        tracker.delivered(state, at_s, rung)

    assert state.delivered_at_s == 5.0
    assert state.delivered_at == {0: 5.0, 1: 9.0}
    assert tracker.counters["deliveries_repeated"] == 3


def test_records_are_one_per_recipient_with_every_stamp_and_the_latency() -> None:
    tracker = opened()
    member = tracker.get("a1", MEMBERS[0].id)
    assert member is not None
    member.relayed_municipal_at_s, member.relayed_district_at_s = 130.0, 170.0
    member.relayed_town_at_s, member.notified_at_s = 220.0, 221.0
    member.sent_at[0] = 221.0
    member.attempts, member.escalations = 2, ["sms"]
    tracker.delivered(member, 223.0)
    ack(tracker, MEMBERS[0].id, 290.0, read_at_s=260.0, acked_at_s=280.0)
    ack(tracker, MEMBERS[0].id, 295.0)
    member.dispatched_at_s, member.on_scene_at_s = 300.0, 700.0
    lead = tracker.get("a1", TOWN_LEAD.id)
    assert lead is not None
    tracker.flag("a1", lead, "unavailable", 400.0)

    records = {r.recipient_id: r for r in tracker.records("a1")}

    assert list(records) == [r.id for r in EVERYONE]
    assert records[MEMBERS[0].id] == RecipientRecord(
        alert_id="a1",
        recipient_id=MEMBERS[0].id,
        tier="grid",
        district=D1,
        town=T1,
        issued_at_s=100.0,
        relayed_municipal_at_s=130.0,
        relayed_district_at_s=170.0,
        relayed_town_at_s=220.0,
        notified_at_s=221.0,
        sent_at_s=221.0,
        delivered_at_s=223.0,
        ack_delivered_at_s=223.0,
        read_at_s=260.0,
        acked_at_s=280.0,
        acknowledged_at_s=290.0,
        dispatched_at_s=300.0,
        on_scene_at_s=700.0,
        channel="app_push",
        attempts=2,
        escalations=("sms",),
        duplicates=1,
        flag=None,
        flagged_at_s=None,
        latency_s=190.0,
    )
    assert (records[TOWN_LEAD.id].flag, records[TOWN_LEAD.id].flagged_at_s) == (
        "unavailable",
        400.0,
    )
    assert records[TOWN_LEAD.id].latency_s is None
    assert records[DISTRICT_TEAM.id].town == ""
    member.escalations.append("voice_call")  # records are frozen copies, not views
    assert records[MEMBERS[0].id].escalations == ("sms",)


def test_record_blocks_are_the_records_of_each_alert_column_by_column() -> None:
    tracker = opened()
    tracker.open(plan("a2", 500.0))
    member = tracker.get("a1", MEMBERS[0].id)
    assert member is not None
    member.attempts, member.escalations = 2, ["sms"]
    ack(tracker, MEMBERS[0].id, 290.0, read_at_s=260.0, acked_at_s=280.0)
    lead = tracker.get("a2", TOWN_LEAD.id)
    assert lead is not None
    tracker.flag("a2", lead, "unavailable", 600.0)

    records = [*tracker.records("a2"), *tracker.records("a1")]

    for size in (1, 4, len(records), 100):
        blocks = list(tracker.record_blocks(["a2", "a1"], size))
        assert len(blocks) == -(-len(records) // size)
        rows = [row for block in blocks for row in zip(*block, strict=True)]
        assert rows == [tuple(r) for r in records]
    assert list(tracker.record_blocks([], 10)) == []


def test_risk_point_records_follow_their_states() -> None:
    tracker = opened()
    point = tracker.alerts["a1"].risk_points["rp-9"]
    point.dispatched_at_s, point.on_scene_at_s = 200.0, 650.0
    point.responder, point.reassigned = TOWN_LEAD.id, True

    records = {r.risk_point_id: r for r in tracker.risk_point_records("a1")}

    assert list(records) == ["rp-0", "rp-1", "rp-2", "rp-9"]
    assert (records["rp-9"].district, records["rp-9"].town) == (D1, T2)
    assert records["rp-9"].latency_s == 550.0
    assert (records["rp-9"].responder_id, records["rp-9"].reassigned) == (TOWN_LEAD.id, True)
    assert records["rp-0"].latency_s is None


# --- the invariant, over any order of events ----------------------------------------------------

RECIPIENT_IDS = [r.id for r in EVERYONE] + ["500101001-m9999"]  # the last is unknown
events = st.lists(
    st.one_of(
        st.tuples(st.just("ack"), st.sampled_from(RECIPIENT_IDS), st.integers(0, 3)),
        st.tuples(
            st.just("flag"), st.sampled_from(RECIPIENT_IDS[:-1]), st.sampled_from(FLAG_CAUSES)
        ),
        st.tuples(st.just("deliver"), st.sampled_from(RECIPIENT_IDS[:-1]), st.integers(0, 3)),
    ),
    max_size=60,
)


@given(events=events)
def test_every_recipient_ends_once_whatever_the_order_of_events(
    events: list[tuple[str, str, object]],
) -> None:
    tracker = opened()
    first: dict[str, str] = {}  # recipient -> its first outcome, as the rules say it must be
    expected: Counter[str] = Counter()
    for at_s, (kind, rid, arg) in enumerate(events):
        state = tracker.get("a1", rid)
        if kind == "ack":
            outcome = ack(tracker, rid, float(at_s), rung=arg)
            want = (
                "unknown"
                if state is None
                else {"acked": "duplicate", "flagged": "late"}.get(first.get(rid, ""), "accepted")
            )
            assert outcome == want
            expected[f"acks_{want}"] += want != "accepted"
            if want == "accepted":
                first[rid] = "acked"
        elif kind == "flag":
            assert state is not None
            assert tracker.flag("a1", state, arg, float(at_s)) == (rid not in first)  # type: ignore[arg-type]
            if rid not in first:
                first[rid] = "flagged"
                expected[f"flagged_{arg}"] += 1
        else:
            assert state is not None
            expected["deliveries_repeated"] += state.delivered_at_s is not None
            tracker.delivered(state, float(at_s), arg)  # type: ignore[arg-type]

    records = tracker.records("a1")
    assert tracker.pending("a1") == len(EVERYONE) - len(first)
    assert +tracker.counters == +expected
    for record in records:
        ended = first.get(record.recipient_id)
        # acknowledged xor flagged, or neither while still open: never both
        assert (record.acknowledged_at_s is not None) == (ended == "acked")
        assert (record.flag is not None) == (ended == "flagged")
    assert sum(r.duplicates for r in records) == tracker.counters["acks_duplicate"]
