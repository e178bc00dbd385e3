"""Relays between centers: taken once, confirmed, resent while unconfirmed, phoned when silent."""

from __future__ import annotations

from dispatcher.core.commands import (
    CallCenter,
    Command,
    Confirm,
    Process,
    Relay,
    StartRelayTimer,
)
from dispatcher.core.events import (
    AlertExpired,
    AlertIssued,
    CenterProcessed,
    RelayConfirmed,
    RelayReceived,
    RelayTimerFired,
)
from dispatcher.core.plan import MUNICIPAL, AlertPlan, Center, DistrictPlan, Recipient, TownPlan
from dispatcher.core.policy import Policy, PolicySettings
from dispatcher.core.relays import RelaySettings, source_of

DISTRICT = Center("district", "500101")
TOWN = Center("town", "500101001")
MEMBER = Recipient("500101001-m0000", "grid", "500101", "500101001")
PLAN = AlertPlan(
    "a1",
    0.0,
    3600.0,
    (DistrictPlan("500101", (), (TownPlan("500101001", "500101", (), (MEMBER,)),)),),
)


def cascade(resend_after_s: float = 15.0, call_after_s: float = 60.0) -> Policy:
    settings = PolicySettings(
        "cascade", ("app_push",), (60.0,), RelaySettings(resend_after_s, call_after_s)
    )
    p = Policy(settings)
    p.handle(AlertIssued(PLAN), 0.0)
    p.handle(CenterProcessed("a1", MUNICIPAL), 0.0)
    return p


def kinds(commands: list[Command]) -> list[str]:
    return [type(c).__name__ for c in commands]


def test_source_of_a_center_is_the_tier_above() -> None:
    assert source_of(TOWN) == DISTRICT
    assert source_of(DISTRICT) == MUNICIPAL


def test_a_center_processes_an_alert_once_and_confirms_every_copy() -> None:
    p = cascade()
    first = p.handle(RelayReceived("a1", DISTRICT), 1.0)
    assert first == [Process("a1", DISTRICT), Confirm("a1", DISTRICT, MUNICIPAL)]
    again = p.handle(RelayReceived("a1", DISTRICT), 2.0)
    assert again == [Confirm("a1", DISTRICT, MUNICIPAL)], "a repeat is confirmed, not processed"
    assert p.tracker.counters["relays_duplicate"] == 1


def test_an_unconfirmed_relay_is_resent_and_a_confirmed_one_is_not() -> None:
    p = cascade()
    out = p.handle(RelayTimerFired("a1", DISTRICT, 0), 15.0)
    assert out == [Relay("a1", MUNICIPAL, DISTRICT, 1), StartRelayTimer("a1", DISTRICT, 1, 30.0)]
    p.handle(RelayReceived("a1", DISTRICT), 16.0)
    p.handle(RelayConfirmed("a1", DISTRICT), 16.1)
    assert p.handle(RelayTimerFired("a1", DISTRICT, 1), 30.0) == []
    assert p.tracker.counters["relays_resent"] == 1
    assert p.tracker.counters["relays_confirmed"] == 1


def test_a_silent_center_is_phoned_and_phoned_again_while_it_stays_silent() -> None:
    p = cascade(resend_after_s=20.0, call_after_s=60.0)
    calls = []
    for attempt, at_s in enumerate((20.0, 40.0, 60.0, 80.0, 100.0, 120.0)):
        out = p.handle(RelayTimerFired("a1", DISTRICT, attempt), at_s)
        assert kinds(out)[0] == "Relay", "resends go on while unconfirmed"
        calls += [at_s for c in out if isinstance(c, CallCenter)]
    assert calls == [60.0, 120.0]
    assert p.tracker.counters["center_calls"] == 2
    # The call is answered: the alert is delivered and the caller heard it; nothing travels back.
    assert p.handle(RelayReceived("a1", DISTRICT, via="call"), 125.0) == [Process("a1", DISTRICT)]
    assert p.handle(RelayTimerFired("a1", DISTRICT, 6), 140.0) == []


def test_a_closed_alert_chases_nobody() -> None:
    p = cascade()
    p.handle(AlertExpired("a1"), 3600.0)
    assert p.handle(RelayTimerFired("a1", DISTRICT, 0), 3601.0) == []


def test_towns_are_relayed_by_their_district_with_the_same_protocol() -> None:
    p = cascade()
    p.handle(RelayReceived("a1", DISTRICT), 1.0)
    out = p.handle(CenterProcessed("a1", DISTRICT), 40.0)
    assert Relay("a1", DISTRICT, TOWN) in out
    assert StartRelayTimer("a1", TOWN, 0, 55.0) in out
    assert p.handle(RelayReceived("a1", TOWN), 41.0)[1] == Confirm("a1", TOWN, DISTRICT)
