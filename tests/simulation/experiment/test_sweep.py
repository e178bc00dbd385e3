"""alertsim sweep: the grid, override checks with path-qualified errors, outputs, common seeds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulation.cli import app
from simulation.experiment.replications import headline_figures
from simulation.experiment.sweep import build_grid, parse_set, run_sweep
from simulation.experiment.virtual import run_virtual
from simulation.report.build import build_report
from simulation.report.sweep import answers
from simulation.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[3]
SMOKE = ROOT / "scenarios" / "smoke-one-town.yaml"


def test_parse_set_reads_yaml_scalars() -> None:
    override = parse_set("channels.app_push.failure=0,0.15, 0.45")
    assert override.path == ("channels", "app_push", "failure")
    assert override.values == (0, 0.15, 0.45)
    assert parse_set("strategy=cascade,direct").values == ("cascade", "direct")
    with pytest.raises(ScenarioError, match="expected PATH=VALUE"):
        parse_set("strategy")
    with pytest.raises(ScenarioError, match="non-empty"):
        parse_set("strategy=cascade,,direct")


def test_grid_is_the_cartesian_product_with_one_seed() -> None:
    loaded = load_scenario(SMOKE)
    overrides, grid = build_grid(
        loaded, ["channels.app_push.failure=0,0.15,0.45", "strategy=cascade,direct"]
    )
    assert [o.name for o in overrides] == ["channels.app_push.failure", "strategy"]
    assert [tuple(p.values.values()) for p in grid] == [
        (0, "cascade"),
        (0, "direct"),
        (0.15, "cascade"),
        (0.15, "direct"),
        (0.45, "cascade"),
        (0.45, "direct"),
    ]
    for point in grid:
        scenario = point.loaded.scenario
        assert scenario.seed == loaded.scenario.seed  # common random numbers
        assert scenario.channels["app_push"].failure == point.values["channels.app_push.failure"]
        assert scenario.strategy == point.values["strategy"]
        # everything else is untouched
        assert scenario.channels["sms"] == loaded.scenario.channels["sms"]


def test_every_bad_override_is_listed_with_its_path() -> None:
    loaded = load_scenario(SMOKE)
    with pytest.raises(ScenarioError) as caught:
        build_grid(
            loaded,
            [
                "channels.app_push.failur=0.1",
                "channels.app_push.failure=0,1.5",
                "strategy=cascade,sideways",
                "seed.value=3",
            ],
        )
    lines = caught.value.errors
    assert lines == [
        "--set channels.app_push.failur=0.1: scenario.channels.app_push.failur: "
        "expected no such field, got 0.1",
        "--set channels.app_push.failure=0,1.5: scenario.channels.app_push.failure: "
        "expected less than or equal to 1, got 1.5",
        "--set strategy=cascade,sideways: scenario.strategy: "
        "expected 'cascade', 'direct' or 'hybrid', got 'sideways'",
        "--set seed.value=3: scenario.seed: expected a mapping to hold 'value', got int",
    ]


def test_a_point_with_the_scenarios_own_values_equals_a_plain_run() -> None:
    loaded = load_scenario(SMOKE)
    overrides, grid = build_grid(loaded, ["strategy=cascade,direct"])
    rows = run_sweep(grid, replications=1)
    plain = headline_figures(build_report(run_virtual(loaded)))
    cascade = rows[0]
    assert cascade["strategy"] == "cascade"
    assert cascade["acknowledged_within_target_share"] == plain["notification.within_target_share"]
    assert cascade["notification_p95_s"] == plain["notification.latency_s.p95"]
    # Under the same random numbers (each responder reads and acknowledges after the same times
    # in both), skipping the relays makes direct faster, and never worse at the target.
    direct = rows[1]
    assert direct["notification_p95_s"] < cascade["notification_p95_s"]
    assert direct["acknowledged_within_target_share"] >= cascade["acknowledged_within_target_share"]
    assert len(answers(overrides, rows)) == 1


def test_cli_sweep_writes_one_row_per_grid_point(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = ["sweep", str(SMOKE), "--set", "channels.app_push.failure=0,0.45"]
    args += ["--set", "strategy=cascade,direct", "--replications", "2", "--out", str(out), "-q"]
    one = CliRunner().invoke(app, [*args, "--workers", "1"])
    assert one.exit_code == 0, one.output
    with (out / "sweep.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert [(r["channels.app_push.failure"], r["strategy"]) for r in rows] == [
        ("0", "cascade"),
        ("0", "direct"),
        ("0.45", "cascade"),
        ("0.45", "direct"),
    ]
    document = json.loads((out / "sweep.json").read_text())
    assert len(document["rows"]) == 4
    assert document["rows"][0]["replications"]["notification.within_target_share"]["n"] == 2
    assert document["parameters"] == ["channels.app_push.failure", "strategy"]
    for row, json_row in zip(rows, document["rows"], strict=True):
        assert float(row["acknowledged_within_target_share"]) == pytest.approx(
            json_row["acknowledged_within_target_share"]
        )
    page = (out / "sweep.html").read_text()
    assert 'data-chart="sweep"' in page
    assert "<svg" in page
    assert page.count("<tr>") == 1 + 4  # head + one row per grid point

    two = CliRunner().invoke(app, [*args, "--workers", "2"])
    assert two.exit_code == 0, two.output
    assert json.loads((out / "sweep.json").read_text()) == document


def test_cli_sweep_rejects_bad_paths_with_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            str(SMOKE),
            "--set",
            "channels.app_push.failur=0.1",
            "--set",
            "strategy=sideways",
            "--out",
            str(tmp_path / "never"),
        ],
    )
    assert result.exit_code == 2
    assert "2 problem(s)" in result.output
    assert "scenario.channels.app_push.failur: expected no such field" in result.output
    assert "scenario.strategy: expected 'cascade', 'direct' or 'hybrid'" in result.output
    assert not (tmp_path / "never").exists()


def test_each_point_has_the_verdict_its_interval_gives() -> None:
    """Targets below, inside and above the interval (the target changes no draw: common random
    numbers, so every point has the same interval) give MET, cannot tell and MISSED."""
    loaded = load_scenario(SMOKE)
    _, probe = build_grid(loaded, ["targets.notify_target_share=0.5"])
    share = run_sweep(probe, 12)[0]["replications"]["notification.within_target_share"]
    low, mean, high = share["ci95_low"], share["mean"], share["ci95_high"]
    assert 0 < low < mean < high < 1, share
    targets = [round(low / 2, 6), round(mean, 6), round((high + 1) / 2, 6)]
    _, grid = build_grid(loaded, ["targets.notify_target_share=" + ",".join(map(str, targets))])
    rows = run_sweep(grid, 12)
    assert [row["replications"]["notification.within_target_share"] for row in rows] == [share] * 3
    assert [row["notify_verdict"] for row in rows] == ["MET", "cannot tell", "MISSED"]
