"""alertsim compare: a run against itself differs by nothing; differences and CI overlap."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from simulation.cli import app
from simulation.report.compare import compare, render_html
from simulation.report.headline import lookup


@pytest.fixture
def report(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    return data


def test_a_run_compared_with_itself_shows_zero_differences(run_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["compare", str(run_dir), str(run_dir), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "comparison.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr data-key=\"([^\"]*)\" data-difference='([^']*)'", page)
    differences = {key: json.loads(d) for key, d in rows}
    assert len(differences) >= 10
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    for key, difference in differences.items():
        if difference is None:
            # A figure the run never reached (e.g. time to 100%) has no difference to show.
            assert lookup(report, key) is None, key
        else:
            assert difference == 0, key
    assert "+0.0 pp" in result.output


def test_differences_are_second_minus_first(report: dict[str, Any]) -> None:
    other = copy.deepcopy(report)
    other["notification"]["latency_s"]["p95"] += 12.5
    other["response"]["within_target_share"] -= 0.25
    rows = {r.key: r for r in compare(report, other)}
    assert rows["notification.latency_s.p95"].difference == 12.5
    assert rows["response.within_target_share"].difference == pytest.approx(-0.25)
    assert rows["notification.latency_s.p50"].difference == 0
    assert "data-difference='12.5'" in render_html(report, other, ("a", "b"))


def test_confidence_intervals_overlap_or_not(report: dict[str, Any]) -> None:
    def with_ci(low: float, high: float) -> dict[str, Any]:
        out = copy.deepcopy(report)
        out["replications"] = {
            "notification.latency_s.p95": {
                "mean": (low + high) / 2,
                "ci95_low": low,
                "ci95_high": high,
                "n": 30,
            }
        }
        return out

    def overlap(a: dict[str, Any], b: dict[str, Any]) -> bool | None:
        return {r.key: r.overlap for r in compare(a, b)}["notification.latency_s.p95"]

    assert overlap(with_ci(100, 200), with_ci(150, 250)) is True
    assert overlap(with_ci(100, 200), with_ci(201, 250)) is False
    one_draw = {k: v for k, v in report.items() if k != "replications"}
    assert overlap(one_draw, with_ci(100, 200)) is None  # one side has no replications


def test_a_folder_without_a_report_is_an_error(tmp_path: Path, run_dir: Path) -> None:
    result = CliRunner().invoke(app, ["compare", str(tmp_path), str(run_dir)])
    assert result.exit_code == 2
    assert "report.json: expected a report.json" in result.output
