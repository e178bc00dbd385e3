"""Replications: the t interval, aggregation, worker-independence and the interval's coverage."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulation.cli import app
from simulation.experiment.executors import ExecutorSpec
from simulation.experiment.replications import (
    HEADLINE_FIGURES,
    aggregate,
    mean_ci95,
    run_replications,
    run_tasks,
    t975,
)
from simulation.report.build import VOLATILE_KEYS
from simulation.scenario import LoadedScenario, load_scenario

ROOT = Path(__file__).resolve().parents[3]
SMOKE = ROOT / "scenarios" / "smoke-one-town.yaml"


def _with_seed(loaded: LoadedScenario, seed: int) -> LoadedScenario:
    return loaded.model_copy(update={"scenario": loaded.scenario.model_copy(update={"seed": seed})})


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.706), (2, 4.303), (10, 2.228), (29, 2.045), (30, 2.042), (60, 2.000), (120, 1.980)],
)
def test_t_quantile_matches_the_table(df: int, expected: float) -> None:
    assert t975(df) == pytest.approx(expected, abs=1e-9)


def test_t_quantile_between_anchors_is_close_to_the_exact_value() -> None:
    # exact t(0.975) for df 45, 90, 1000: 2.0141, 1.9867, 1.9623
    assert t975(45) == pytest.approx(2.0141, abs=0.002)
    assert t975(90) == pytest.approx(1.9867, abs=0.002)
    assert t975(1000) == pytest.approx(1.9623, abs=0.002)
    with pytest.raises(ValueError, match="got 0"):
        t975(0)


def test_mean_ci95_of_known_values() -> None:
    # mean 2, sample sd 1, half width 4.303 / sqrt(3)
    got = mean_ci95([1.0, 2.0, 3.0])
    assert got["n"] == 3
    assert got["mean"] == 2.0
    assert got["ci95_low"] == pytest.approx(2 - 4.303 / math.sqrt(3), abs=1e-6)
    assert got["ci95_high"] == pytest.approx(2 + 4.303 / math.sqrt(3), abs=1e-6)
    assert mean_ci95([5.0]) == {"mean": 5.0, "ci95_low": None, "ci95_high": None, "n": 1}
    assert mean_ci95([])["mean"] is None


def test_aggregate_leaves_out_figures_a_replication_never_reached() -> None:
    name = "notification.time_to_share_s.0.95"
    rows = [{name: 100.0}, {name: None}, {name: 200.0}]
    block = aggregate(rows)
    assert block[name]["n"] == 2
    assert block[name]["mean"] == 150.0
    assert set(block) == {n for n, _ in HEADLINE_FIGURES}
    assert block["response.within_target_share"]["n"] == 0


def test_one_and_two_workers_give_identical_figures() -> None:
    loaded = load_scenario(SMOKE)
    one = run_replications(loaded, range(6), executor=ExecutorSpec("local", 1))
    two = run_replications(loaded, range(6), executor=ExecutorSpec("local", 2))
    assert one == two
    assert list(two) == list(range(6))
    # the replications differ from each other: each has its own streams
    assert len({json.dumps(f, sort_keys=True) for f in one.values()}) == 6


def _report(out: Path, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["run", str(SMOKE), "--out", str(out), "-q", *args])
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads((out / "report.json").read_text())
    return report


def test_cli_replications_block_does_not_depend_on_workers(tmp_path: Path) -> None:
    plain = _report(tmp_path / "plain", "--seed", "11", "--replications", "1")
    one = _report(tmp_path / "one", "--seed", "11", "--replications", "5", "--workers", "1")
    two = _report(tmp_path / "two", "--seed", "11", "--replications", "5", "--workers", "2")
    assert "replications" not in plain
    assert one["replications"] == two["replications"]
    block = one["replications"]
    assert isinstance(block, dict)
    assert set(block) == {n for n, _ in HEADLINE_FIGURES}
    share = block["notification.within_target_share"]
    assert share["n"] == 5
    assert share["ci95_low"] <= share["mean"] <= share["ci95_high"]
    # the rest of the report is replication 0's, as a plain run writes it
    for key in VOLATILE_KEYS:
        for report in (plain, one):
            report.pop(key, None)
    for key in ("replications", "replication_plan", "replication_figures", "ranking", "verdict"):
        one.pop(key)
    plain.pop("verdict")  # one draw, not an interval
    assert one == plain


@pytest.mark.slow
def test_thirty_replications_cover_the_mean_of_three_hundred() -> None:
    """The 95% t interval of 30 replications holds the mean of 300 others at least 90% of the time.

    Per seed (the city depends on it) the reference is 300 replications numbered from 1000, and
    five disjoint blocks of 30 (0-29 is exactly what `--replications 30` reports) are the trials:
    3 seeds x 5 blocks x 9 figures. Fixed seeds make the outcome deterministic. Measured when
    written: 124 of 135 intervals held the reference (91.9%); both target shares 15/15 and 14/15;
    latency p50, the most skewed figure over 22 responders, only 11/15 (a t interval under-covers
    a right-skewed figure: low blocks also have small spreads).
    """
    loaded = load_scenario(SMOKE)
    numbers = [*range(150), *range(1000, 1300)]
    seeds = [_with_seed(loaded, seed) for seed in (1, 2, 3)]
    # Here, in the test's process: a replication is about 15 ms now that the collector's pause
    # does not walk the whole process each time, and a pool of two would take a core from the
    # other test worker (the figures do not depend on workers: tested above).
    every = run_tasks([(s, r) for s in seeds for r in numbers], executor=ExecutorSpec("local", 1))
    hits = dict.fromkeys((n for n, _ in HEADLINE_FIGURES), 0)
    trials = 0
    for i in range(len(seeds)):
        figures = dict(zip(numbers, every[i * len(numbers) : (i + 1) * len(numbers)], strict=True))
        reference = aggregate(figures[r] for r in range(1000, 1300))
        for block_start in range(0, 150, 30):
            block = aggregate(figures[r] for r in range(block_start, block_start + 30))
            trials += 1
            for name in hits:
                mean, low, high = (
                    reference[name]["mean"],
                    block[name]["ci95_low"],
                    block[name]["ci95_high"],
                )
                assert None not in (mean, low, high)
                hits[name] += low <= mean <= high
    coverage = {name: count / trials for name, count in hits.items()}
    overall = sum(hits.values()) / (trials * len(hits))
    assert overall >= 0.90, (overall, coverage)
    # the figures the verdict rests on hold it individually
    assert coverage["notification.within_target_share"] >= 0.90, coverage
    assert coverage["response.within_target_share"] >= 0.90, coverage


def test_cli_refuses_replications_of_a_live_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["run", str(SMOKE), "--mode", "live", "--replications", "3", "--out", str(tmp_path)],
    )
    assert result.exit_code == 2
    assert "--replications: expected 1 with --mode live, got 3" in result.output
