"""`alertsim run` over replications: the default count, the stopping rule, ranking with noise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from simulation.cli import app
from simulation.experiment.replicate import DEFAULT_REPLICATIONS, Plan, noise_note, ranked
from simulation.experiment.replications import mean_ci95
from simulation.report.build import VOLATILE_KEYS

ROOT = Path(__file__).resolve().parents[3]
SMOKE = ROOT / "scenarios" / "smoke-one-town.yaml"
SHARE = "notification.within_target_share"


def _run(out: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["run", str(SMOKE), "--out", str(out), "-q", *args])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    return report


def _stable(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in VOLATILE_KEYS}


def test_plan_stops_at_the_first_prefix_that_meets_the_precision() -> None:
    shares = [0.2, 0.3, 0.25, 0.26, 0.24, 0.25, 0.9]
    rows = [{SHARE: v} for v in shares]
    plan = Plan(replications=3, precision=0.05, max_replications=50)

    def half(n: int) -> float:
        ci = mean_ci95(shares[:n])
        return (float(ci["ci95_high"]) - float(ci["ci95_low"])) / 2  # type: ignore[arg-type]

    stop = plan.stop_at(rows)
    assert stop is not None
    assert half(stop) <= 0.05 < half(stop - 1)
    assert plan.stop_at(rows[: stop - 1]) is None  # not yet: more must run
    assert plan.stop_at(rows[:stop]) == stop == plan.stop_at(rows)  # batches do not matter
    assert Plan(replications=3, precision=1e-9, max_replications=5).stop_at(rows) == 5
    assert Plan(replications=4).stop_at(rows) == 4
    assert Plan(replications=4).stop_at(rows[:3]) is None


def test_ranked_gives_intervals_and_what_overlaps_the_worst() -> None:
    rows = [
        {"district:a": 0.10, "district:b": 0.12, "district:c": 0.80},
        {"district:a": 0.20, "district:b": 0.22, "district:c": 0.82},
        {"district:a": 0.15, "district:b": 0.17, "district:c": 0.81},
    ]
    got = ranked(rows, "district:", {"a": "Alpha"})
    assert [g["code"] for g in got] == ["a", "b", "c"]
    assert got[0]["name"] == "Alpha"
    assert got[0]["mean"] == pytest.approx(0.15)
    assert "overlaps_worst" not in got[0]
    assert [g["overlaps_worst"] for g in got[1:]] == [True, False]
    assert noise_note(got, "district") == (
        "The district ranking is within noise at the bottom: 1 of 2 other districts have 95% "
        "intervals overlapping the worst one's, so their order is not settled."
    )
    apart = ranked([rows[0], rows[0]], "district:", {})  # no spread: every interval a point
    assert noise_note(apart, "district") == (
        "The worst district is worse than every other beyond the noise (95% intervals)."
    )
    one = ranked(rows[:1], "district:", {})
    assert noise_note(one, "district").startswith("One replication: the district ranking")
    assert noise_note(one[:1], "district") == "One district only: nothing to rank."


def test_equal_means_rank_by_the_tie_figure_largest_and_missing_first() -> None:
    # towns with nobody in time in every replication: the later p95 is the worse town
    rows = [
        {"town:a": 0.0, "town:b": 0.0, "town:c": 0.0, "town:d": 0.5, "p95:a": 400.0},
        {"town:a": 0.0, "town:b": 0.0, "town:c": 0.0, "town:d": 0.5, "p95:a": 500.0},
    ]
    rows[0] |= {"p95:b": 900.0, "p95:c": 300.0, "p95:d": 200.0}
    rows[1] |= {"p95:b": 950.0, "p95:d": 200.0}  # c: nobody acknowledged in replication 1
    assert [g["code"] for g in ranked(rows, "town:", {}, tie="p95:")] == ["c", "b", "a", "d"]
    assert [g["code"] for g in ranked(rows, "town:", {})] == ["a", "b", "c", "d"]  # by code


def test_run_gives_replications_by_default_whatever_the_executor(tmp_path: Path) -> None:
    one = _run(tmp_path / "one", "--workers", "1")
    two = _run(tmp_path / "two", "--workers", "2")
    dask = _run(tmp_path / "dask", "--executor", "dask-local", "--workers", "2")
    assert _stable(one) == _stable(two) == _stable(dask)
    assert one["replications"][SHARE]["n"] == DEFAULT_REPLICATIONS
    figures = one["replication_figures"]
    assert [f["replication"] for f in figures] == list(range(DEFAULT_REPLICATIONS))
    assert figures[0][SHARE] == one["notification"]["within_target_share"]  # replication 0
    assert set(figures[0]["by_district"]) == {"500101"}
    mean = sum(f[SHARE] for f in figures) / len(figures)
    assert one["replications"][SHARE]["mean"] == pytest.approx(mean, abs=1e-6)
    assert f"mean of {DEFAULT_REPLICATIONS} replications, 95% CI" in one["verdict"][0]
    district = one["ranking"]["districts"][0]
    assert district["code"] == "500101"
    assert district["n"] == DEFAULT_REPLICATIONS
    assert one["replication_plan"]["replications"] == DEFAULT_REPLICATIONS


def test_one_replication_says_its_verdict_is_one_draw(tmp_path: Path) -> None:
    report = _run(tmp_path, "--replications", "1")
    assert "replications" not in report
    assert "ranking" not in report
    assert "one replication, one draw: no interval" in report["verdict"][0]


def test_precision_stops_where_the_rule_says_whatever_the_workers(tmp_path: Path) -> None:
    one = _run(tmp_path / "one", "--precision", "0.1", "--workers", "1")
    two = _run(tmp_path / "two", "--precision", "0.1", "--workers", "2")
    assert _stable(one) == _stable(two)
    rule = one["replication_plan"]
    n = rule["replications"]
    assert DEFAULT_REPLICATIONS < n < 100
    assert rule["share_half_width"] <= 0.1
    shares = [f[SHARE] for f in one["replication_figures"]]
    ci = mean_ci95(shares[:-1])
    assert (ci["ci95_high"] - ci["ci95_low"]) / 2 > 0.1  # type: ignore[operator]


def test_bad_precision_and_live_precision_are_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", str(SMOKE), "--out", str(tmp_path), "--precision", "0"]
    )
    assert result.exit_code == 2
    assert "--precision: expected a half-width above 0 (e.g. 0.01), got 0" in result.output
    result = CliRunner().invoke(
        app, ["run", str(SMOKE), "--out", str(tmp_path), "--mode", "live", "--precision", "0.1"]
    )
    assert result.exit_code == 2
    assert "--precision: expected --mode virtual, got --mode live" in result.output
    sequential = ["--precision", "0.1", "--replications", "6", "--max-replications", "5"]
    result = CliRunner().invoke(app, ["run", str(SMOKE), "--out", str(tmp_path), *sequential])
    assert result.exit_code == 2
    assert "--max-replications: expected at least --replications (6), got 5" in result.output
