"""With constant delays and nothing lost, every latency is the hand-computed sum of its hops."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.experiment.virtual import run_virtual
from tests.support.scenarios import load

# Hops of the base scenario (tests/support/scenarios.py), in model seconds.
MUNICIPAL, DISTRICT, TOWN = 30.0, 40.0, 50.0
NET = 0.5  # broker latency, every message
PUSH = 2.0  # app push delay past the broker
READ, ACK = 20.0, 5.0
DEPART, LEG = 60.0, 300.0  # 300 m at 1 m/s
TO_DEVICE_AND_BACK = NET + PUSH + READ + ACK + NET
# A call reads the default zh-CN instruction aloud: 15 spoken characters at 4 a second.
SCRIPT = 15 / 4.0

EXPECTED = {
    "cascade": {
        "district": MUNICIPAL + NET + DISTRICT + TO_DEVICE_AND_BACK,
        "town": MUNICIPAL + NET + DISTRICT + NET + TOWN + TO_DEVICE_AND_BACK,
        "grid": MUNICIPAL + NET + DISTRICT + NET + TOWN + TO_DEVICE_AND_BACK,
    },
    "direct": dict.fromkeys(("district", "town", "grid"), MUNICIPAL + TO_DEVICE_AND_BACK),
    "hybrid": dict.fromkeys(("district", "town", "grid"), MUNICIPAL + TO_DEVICE_AND_BACK),
}


@pytest.mark.parametrize("strategy", ["cascade", "direct", "hybrid"])
def test_latency_is_the_sum_of_hops(tmp_path: Path, strategy: str) -> None:
    result = run_virtual(load(tmp_path, strategy=strategy))
    assert result.records, "the scenario targets nobody"
    tiers = {r.tier for r in result.records}
    assert tiers == {"district", "town", "grid"}
    for record in result.records:
        assert record.flag is None
        assert record.channel == "app_push"
        assert record.latency_s == pytest.approx(EXPECTED[strategy][record.tier], abs=1e-6)
        assert record.read_at_s == pytest.approx(
            record.acked_at_s - ACK if record.acked_at_s is not None else -1
        )


def test_cascade_stamps_every_tier(tmp_path: Path) -> None:
    result = run_virtual(load(tmp_path, strategy="cascade"))
    grid = next(r for r in result.records if r.tier == "grid")
    issued = grid.issued_at_s
    assert grid.relayed_municipal_at_s == pytest.approx(issued + MUNICIPAL)
    assert grid.relayed_district_at_s == pytest.approx(issued + MUNICIPAL + NET + DISTRICT)
    assert grid.relayed_town_at_s == pytest.approx(issued + MUNICIPAL + NET + DISTRICT + NET + TOWN)
    assert grid.delivered_at_s == pytest.approx(grid.relayed_town_at_s + NET + PUSH)


def test_direct_skips_the_relays(tmp_path: Path) -> None:
    result = run_virtual(load(tmp_path, strategy="direct"))
    for record in result.records:
        assert record.relayed_district_at_s is None
        assert record.relayed_town_at_s is None


def test_risk_points_are_reached_after_depart_and_walk(tmp_path: Path) -> None:
    result = run_virtual(load(tmp_path, strategy="direct"))
    acked = {r.recipient_id: r.acknowledged_at_s for r in result.records}
    assert result.risk_points
    by_responder: dict[str, list[float]] = {}
    for point in result.risk_points:
        assert point.responder_id is not None
        assert point.on_scene_at_s is not None
        by_responder.setdefault(point.responder_id, []).append(point.on_scene_at_s)
    for responder, arrivals in by_responder.items():
        start = acked[responder]
        assert start is not None
        expected = [start + DEPART + LEG * (k + 1) for k in range(len(arrivals))]
        assert sorted(arrivals) == pytest.approx(expected)


def test_town_staff_queue_for_calls(tmp_path: Path) -> None:
    """Push never arrives, SMS never arrives: every call goes through one town officer."""
    loaded = load(
        tmp_path,
        strategy="direct",
        tiers={"town": {"staff": 1}},
        channels={"app_push": {"failure": 1.0}, "sms": {"failure": 1.0}},
        escalation={"timeout_s": [60, 60, 600, 600]},
    )
    result = run_virtual(loaded)
    calls = sorted(
        r.acknowledged_at_s - r.issued_at_s
        for r in result.records
        if r.channel == "voice_call" and r.town and r.acknowledged_at_s is not None
    )
    assert len(calls) >= 4
    # Calls start when the second timeout fires (30 + 60 + 60 s) and take 40 s of the one
    # officer each, then ring (15 s) and read the script out; the k-th call in a town completes
    # 40 s after the one before it.
    first = MUNICIPAL + 60 + 60 + 40 + 15 + SCRIPT + 0 + ACK
    assert calls[0] == pytest.approx(first)
    assert calls[-1] > first + 40
