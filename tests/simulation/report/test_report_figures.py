"""The chart figures in report.json: hop budget, CDFs and the acknowledged share over time."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from dispatcher.core.tracker import RecipientRecord
from simulation import metrics
from simulation.experiment.virtual import run_virtual
from simulation.report.build import VOLATILE_KEYS, RunResult, build_report
from tests.support.scenarios import load


@pytest.fixture(scope="module")
def constant_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_virtual(load(tmp_path_factory.mktemp("constant")))


def test_hop_budget_of_a_constant_scenario_is_each_configured_delay(
    constant_run: RunResult,
) -> None:
    budget = metrics.budget(constant_run.records)
    # municipal 30 s; each relay is 0.5 s of network plus the center's processing (40 s, 50 s);
    # app push 2 s out, 0.5 s to the broker and 0.5 s back; read 20 s, acknowledge 5 s;
    # travel: depart 60 s, then 300 m at 1 m/s.
    assert budget["p50"]["hops_s"] == {
        "municipal_processing": 30.0,
        "district_relay": 40.5,
        "town_relay": 50.5,
        "escalation": 0.0,
        "network": 3.0,
        "read": 20.0,
        "acknowledge": 5.0,
        "travel": 360.0,
    }
    assert budget["p50"]["latency_s"] == 149.0


def test_escalation_shows_in_the_budget(tmp_path: Path) -> None:
    loaded = load(tmp_path, channels={"app_push": {"failure": 1.0}})
    budget = metrics.budget(run_virtual(loaded).records)
    hops = budget["p50"]["hops_s"]
    assert hops["escalation"] == 600.0  # the app push timeout, then SMS worked
    assert hops["network"] == 20.0  # an SMS takes 10 s each way


def test_hops_add_up_to_each_notification_latency(constant_run: RunResult) -> None:
    loaded = load(Path(constant_run.loaded.path).parent, seed=3)
    for record in [*constant_run.records, *run_virtual(loaded).records]:
        hops = metrics.hop_times_s(record)
        assert hops is not None
        assert record.latency_s is not None
        assert all(v >= -1e-9 for v in hops.values()), hops
        notification = sum(v for k, v in hops.items() if k != "travel")
        assert notification == pytest.approx(record.latency_s, abs=1e-6)


def test_cdf_ends_at_the_acknowledged_share_and_never_falls() -> None:
    points = metrics.cdf([5.0, 1.0, 3.0], total=4)
    assert points == [[1.0, 0.25], [3.0, 0.5], [5.0, 0.75]]
    thinned = metrics.cdf([float(i) for i in range(1000)], total=1000, points=50)
    assert len(thinned) == 50
    assert thinned[0] == [0.0, 0.001]
    assert thinned[-1] == [999.0, 1.0]
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in itertools.pairwise(thinned))


def test_ack_share_over_time_matches_the_share_within_target(constant_run: RunResult) -> None:
    series = metrics.ack_share_over_time(constant_run.records)
    assert series["t_s"][0] == 0.0
    assert series["share"]["all"][0] == 0.0
    assert series["share"]["all"][-1] == 1.0  # everyone acknowledges in this scenario
    at_100_s = series["t_s"].index(100.0)
    # district teams acknowledge at 98.5 s, everyone else at 149 s
    districts = sum(1 for r in constant_run.records if r.tier == "district")
    assert series["share"]["all"][at_100_s] == round(districts / len(constant_run.records), 6)
    assert series["share"]["district"][at_100_s] == 1.0
    assert series["share"]["grid"][at_100_s] == 0.0


def test_report_json_is_the_same_bytes_for_the_same_seed(tmp_path: Path) -> None:
    def report_bytes() -> str:
        report = build_report(
            run_virtual(load(tmp_path, seed=11, channels={"sms": {"failure": 0.3}}))
        )
        for key in VOLATILE_KEYS:
            assert key in report
            report.pop(key)
        return json.dumps(report, indent=2)

    first = report_bytes()
    assert first == report_bytes()
    assert '"budget"' in first
    assert '"cdf"' in first
    assert '"ack_share_over_time"' in first


def test_districts_give_the_share_acknowledged_at_each_mark(constant_run: RunResult) -> None:
    report = build_report(constant_run)
    assert report["by_district"]
    for district in report["by_district"]:
        rows = [r for r in constant_run.records if r.district == district["code"]]
        marks = district["acknowledged_within_s"]
        assert list(marks) == ["60", "120", "180", "300", "900"]
        for mark, share in marks.items():
            hits = sum(1 for r in rows if r.latency_s is not None and r.latency_s <= int(mark))
            assert share == round(hits / len(rows), 6)
        # the constant scenario: district duty teams acknowledge at 98.5 s, everyone else at
        # 149 s; nobody by 1 min, the district team by 2 min, everyone by 3
        assert (marks["60"], marks["180"], marks["900"]) == (0.0, 1.0, 1.0)
        assert 0.0 < marks["120"] < 1.0
        assert marks["180"] == district["within_target_share"]
        assert district["risk_points"] == sum(
            1 for p in constant_run.risk_points if p.district == district["code"]
        )


def test_the_storm_is_reported_per_district(constant_run: RunResult) -> None:
    report = build_report(constant_run)
    hazard = report["hazard_by_district"]
    assert [d["code"] for d in hazard] == [d["code"] for d in report["by_district"]]
    series = constant_run.loaded.scenario.hazard.rainfall_mm
    for district in hazard:
        rain = series.get(district["code"], series.get("default"))
        assert rain is not None
        assert district["rainfall_mm"] == pytest.approx(sum(rain))
        assert set(district) == {
            "code",
            "name",
            "rainfall_mm",
            "max_3h_mm",
            "level",
            "outage_peak_share",
        }


def _record(town: str, latency_s: float | None) -> RecipientRecord:
    acknowledged = None if latency_s is None else 100.0 + latency_s
    fields = dict.fromkeys(RecipientRecord._fields)
    fields |= {
        "alert_id": "a",
        "recipient_id": f"{town}-m{latency_s}",
        "tier": "grid",
        "district": town[:6],
        "town": town,
        "issued_at_s": 100.0,
        "attempts": 1,
        "escalations": (),
        "duplicates": 0,
        "acknowledged_at_s": acknowledged,
        "flag": "unreachable" if latency_s is None else None,
        "latency_s": latency_s,
    }
    return RecipientRecord(**fields)


def test_worst_towns_rank_equal_shares_by_the_latest_p95() -> None:
    # three towns with nobody in time (a city has hundreds): the order says which is worst
    records = [
        *(_record("500101001", s) for s in (400.0, 500.0)),  # answered, late
        *(_record("500101002", s) for s in (900.0, 1_200.0)),  # answered, later
        *(_record("500101003", None) for _ in range(2)),  # nobody answered at all
        *(_record("500101004", s) for s in (100.0, 900.0)),  # half in time
    ]
    ranked = metrics.worst_towns(records, target_s=180.0)
    assert [t["code"] for t in ranked] == ["500101003", "500101002", "500101001", "500101004"]
    assert [t["within_target_share"] for t in ranked] == [0.0, 0.0, 0.0, 0.5]
