"""Background work shares the centers' staff with the alert; records and report show the queue."""

from __future__ import annotations

from typing import Any

import pytest

from simulation.experiment.virtual import run_virtual
from simulation.report.build import RunResult, build_report
from tests.support.scenarios import constant, load

STAFF_S, CALL_DELAY_S = 40.0, 15.0  # the base scenario's voice call
SCRIPT_S = 15 / 4.0  # then the default zh-CN instruction read out: 15 characters at 4 a second
# Push and SMS never arrive, so every responder is phoned by their center's staff.
BY_PHONE: dict[str, Any] = {
    "channels": {"app_push": {"failure": 1.0}, "sms": {"failure": 1.0}},
    "escalation": {"timeout_s": [30, 30, 3000, 600]},
}
BUSY_TOWNS = {
    "town": {
        "staff": 2,
        "background": [
            {"name": "citizen_calls", "rate_per_hour": 40, "service_s": constant(120)},
            {
                "name": "incident_reports",
                "rate_profile_per_hour": [6, 2],
                "service_s": constant(300),
            },
        ],
    },
    "district": {"staff": 2},
}


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    # the same staff, no background work
    tiers = {"town": {"staff": 2}, "district": {"staff": 2}}
    return run_virtual(load(tmp_path_factory.mktemp("quiet"), tiers=tiers, **BY_PHONE))


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_virtual(load(tmp_path_factory.mktemp("busy"), tiers=BUSY_TOWNS, **BY_PHONE))


def town_tier(result: RunResult) -> dict[str, Any]:
    report = build_report(result)
    [town] = [t for t in report["queues"]["by_tier"] if t["tier"] == "town"]
    return town


def test_every_staffed_attempt_is_stamped_and_its_call_starts_when_granted(
    busy: RunResult,
) -> None:
    attempts = [a for stamps in busy.staff_stamps.values() for a in stamps]
    assert len(attempts) == len(busy.records)  # one call each, nobody escalated further
    assert all(granted >= requested for _, requested, granted in attempts)
    assert any(granted > requested for _, requested, granted in attempts)
    for record in busy.records:
        [[channel, _, granted]] = busy.staff_stamps[(record.alert_id, record.recipient_id)]
        assert channel == record.channel == "voice_call"
        assert record.ack_delivered_at_s == pytest.approx(
            granted + STAFF_S + CALL_DELAY_S + SCRIPT_S
        )


def test_the_alert_waits_behind_background_work(quiet: RunResult, busy: RunResult) -> None:
    calm, loaded = town_tier(quiet), town_tier(busy)
    assert calm["background"]["granted"] == 0
    assert loaded["background"]["granted"] > 0
    assert loaded["alert"]["p_wait"] >= calm["alert"]["p_wait"] > 0
    assert loaded["alert"]["mean_wait_s"] > calm["alert"]["mean_wait_s"]
    assert loaded["utilisation"] > calm["utilisation"]
    # the town center processed the alert, then phoned each of its responders
    towns = {r.town for r in busy.records if r.town}
    phoned = sum(1 for r in busy.records if r.tier != "district")
    assert loaded["alert"]["granted"] == len(towns) + phoned
    assert 0 < loaded["utilisation"] <= 1
    assert {row["code"] for row in loaded["busiest"]} == towns
    shares = [row["utilisation"] for row in loaded["busiest"]]
    assert shares == sorted(shares, reverse=True)
    latest = max(r.acknowledged_at_s or 0.0 for r in quiet.records)
    assert max(r.acknowledged_at_s or 0.0 for r in busy.records) > latest


def test_without_background_the_tallies_match_the_records(quiet: RunResult) -> None:
    report = build_report(quiet)
    by_tier = {t["tier"]: t for t in report["queues"]["by_tier"]}
    assert set(by_tier) == {"municipal", "district", "town"}
    assert by_tier["municipal"]["alert"]["granted"] == 1
    district_team = sum(1 for r in quiet.records if r.tier == "district")
    assert by_tier["district"]["alert"]["granted"] == 1 + district_team
    assert report["queues"]["window_s"] == pytest.approx(quiet.sim_end_s, abs=1e-3)


def test_background_work_starts_an_hour_before_the_first_alert(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    late = {"hazard": {"rainfall_mm": {"default": [0, 0, 0, 120]}}}
    result = run_virtual(
        load(tmp_path_factory.mktemp("late"), tiers=BUSY_TOWNS, **BY_PHONE, **late)
    )
    [alert] = result.alerts
    queues = build_report(result)["queues"]
    assert queues["since_s"] == alert["issued_at_s"] - 3600 > 0
    assert queues["window_s"] == pytest.approx(result.sim_end_s - queues["since_s"], abs=1e-3)
    town = next(t for t in queues["by_tier"] if t["tier"] == "town")
    # two towns at 40 an hour plus 6 or 2 (hour by hour), over the window only
    arrived = town["background"]["granted"] + town["waiting_at_end"]
    expected = 2 * (40 + 4) * queues["window_s"] / 3600
    assert 0.7 * expected < arrived < 1.3 * expected
