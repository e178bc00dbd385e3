"""alertsim optimize: levers, costs, the search, the front, plans that `alertsim run` reproduces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from simulation.cli import app
from simulation.experiment.levers import load_levers, plan_cost, plan_scenario
from simulation.experiment.replications import aggregate, run_replications
from simulation.scenario import ScenarioError, load_scenario
from tests.support.scenarios import base_scenario, constant, merged, write_scenario

NOTIFY = "notification.within_target_share"


def _scenario(tmp_path: Path) -> Path:
    """Two towns; the municipal center takes 200 s, so nobody acknowledges within 180 s."""
    data = merged(
        base_scenario(),
        {
            "behaviour": {"read_s": {"kind": "lognormal", "median": 20, "p90": 60}},
            "tiers": {"municipal": {"staff": 50, "processing_s": constant(200)}},
        },
    )
    return write_scenario(tmp_path, data)


LEVERS: dict[str, Any] = {
    "targets": [{"figure": NOTIFY, "at_least": 0.5}],
    "levers": [
        # the lever that obviously helps: a faster municipal center, dearer the faster
        {
            "path": "tiers.municipal.processing_s",
            "scale": [0.1, 1.0],
            "step": 0.05,
            "cost_per_unit": -100,
        },
        # one that cannot: door-knocks never start before 180 s; any failure above 0 costs
        {"path": "channels.door_knock.failure", "range": [0.0, 0.5], "cost_per_unit": 10},
    ],
}
STRATEGY = {"path": "strategy", "choices": ["cascade", "hybrid"], "costs": [0, 40]}


def _levers(tmp_path: Path, spec: dict[str, Any] = LEVERS, name: str = "levers.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec))
    return path


def test_levers_read_ranges_scales_and_choices_and_cost_nothing_at_base(tmp_path: Path) -> None:
    loaded = load_scenario(_scenario(tmp_path))
    spec = {
        "levers": [
            {"path": "tiers.town.staff", "range": [1, 20], "cost_per_unit": 8},
            {"path": "escalation.timeout_s.0", "range": [60, 600], "step": 30},
            *LEVERS["levers"],
            STRATEGY,
        ]
    }
    levers = load_levers(_levers(tmp_path, spec), loaded)
    kinds = {lv.name: (lv.kind, lv.base) for lv in levers.levers}
    assert kinds["tiers.town.staff"] == ("int", 50)
    assert kinds["escalation.timeout_s.0"] == ("float", 600.0)
    assert kinds["tiers.municipal.processing_s"][0] == "scale"
    assert kinds["strategy"] == ("choice", "cascade")
    # without targets, the scenario's own notification target share
    assert [(t.figure, t.at_least) for t in levers.targets] == [(NOTIFY, 1.0)]
    base = {
        "tiers.town.staff": 50,
        "escalation.timeout_s.0": 600.0,
        "tiers.municipal.processing_s": 1.0,
        "channels.door_knock.failure": 0.0,
        "strategy": 0,
    }
    assert plan_cost(levers, base) == 0.0
    plan = {**base, "tiers.town.staff": 10, "tiers.municipal.processing_s": 0.25, "strategy": 1}
    assert plan_cost(levers, plan) == pytest.approx(8 * (10 - 50) + 75 + 40)
    scenario = plan_scenario(loaded, levers, plan).scenario
    assert scenario.tiers.town.staff == 10
    assert scenario.tiers.municipal.processing_s.model_dump() == constant(50)
    assert scenario.strategy == "hybrid"
    assert scenario.seed == loaded.scenario.seed


def test_every_bad_lever_is_listed_with_where_it_is(tmp_path: Path) -> None:
    loaded = load_scenario(_scenario(tmp_path))
    path = _levers(tmp_path, {"levers": [{"path": "strategy", "range": [0, 1], "choices": [1]}]})
    with pytest.raises(ScenarioError) as caught:
        load_levers(path, loaded)
    assert caught.value.errors == [
        f"{path}: levers.levers[0]: expected exactly one of range, scale or choices, "
        "got ['range', 'choices']"
    ]
    spec = {
        "levers": [
            {"path": "tiers.twn.staff", "range": [1, 2]},
            {"path": "behaviour.read_s", "range": [1, 2]},
            {"path": "tiers.town.staff", "range": [0, 5]},
            {"path": "strategy", "choices": ["cascade", "sideways"]},
        ]
    }
    path = _levers(tmp_path, spec)
    with pytest.raises(ScenarioError) as caught:
        load_levers(path, loaded)
    at = f"{path}: levers.levers"
    assert caught.value.errors == [
        f"{at}[0] (tiers.twn.staff): scenario.tiers: expected a field or index 'twn', got none",
        f"{at}[1] (behaviour.read_s): expected a number for a range, got dict",
        f"{at}[2] (tiers.town.staff): scenario.tiers.town.staff: "
        "expected greater than or equal to 1, got 0",
        f"{at}[3] (strategy): scenario.strategy: "
        "expected 'cascade', 'direct' or 'hybrid', got 'sideways'",
    ]


def _optimize(scenario: Path, levers: Path, out: Path, trials: int) -> dict[str, Any]:
    args = ["optimize", str(scenario), "--levers", str(levers), "--trials", str(trials)]
    args += ["--workers", "1"]
    result = CliRunner().invoke(app, [*args, "--replications", "3", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads((out / "optimize.json").read_text())
    return document


def test_the_cheapest_plan_meets_the_target_and_run_reproduces_it(tmp_path: Path) -> None:
    scenario, levers = _scenario(tmp_path), _levers(tmp_path)
    out = tmp_path / "out"
    document = _optimize(scenario, levers, out, trials=8)
    trials = document["trials"]
    assert len(trials) == 8
    assert document["baseline"]["figures"][NOTIFY]["mean"] == 0.0
    assert document["baseline"]["meets"] == [False]
    [chosen] = document["chosen"]
    assert chosen["trial"] is not None, "no plan met the target: the lever cannot be found"
    plan = next(t for t in trials if t["trial"] == chosen["trial"])
    assert plan["figures"][NOTIFY]["ci95_low"] >= 0.5
    feasible = [t for t in trials if t["meets_all"]]
    assert plan["cost"] == min(t["cost"] for t in feasible)
    # the only way to meet it is a faster municipal center: under 0.4x of 200 s at the least
    assert float(plan["settings"]["tiers.municipal.processing_s"].removeprefix("x")) < 0.4
    # the front is cheapest first, each point better than the one before
    front = [next(t for t in trials if t["trial"] == n) for n in document["front"]]
    costs = [t["cost"] for t in front]
    lows = [t["figures"][NOTIFY]["ci95_low"] for t in front]
    assert costs == sorted(costs)
    assert lows == sorted(lows)
    assert len(set(lows)) == len(lows)
    assert chosen["trial"] in document["front"]
    # the plan's file, run as `alertsim run FILE --replications 3` runs it, gives its figures
    loaded = load_scenario(out / chosen["scenario_file"])
    rerun = aggregate(run_replications(loaded, range(3)).values())
    assert rerun[NOTIFY] == plan["figures"][NOTIFY]
    assert (
        chosen["overlay"]["tiers.municipal.processing_s"]
        == loaded.scenario.tiers.municipal.processing_s.model_dump()
    )
    # on fresh seeds the plan still meets the target it claimed (issue 13's must-hold)
    fresh = loaded.model_copy(
        update={"scenario": loaded.scenario.model_copy(update={"seed": loaded.scenario.seed + 1})}
    )
    assert aggregate(run_replications(fresh, range(10)).values())[NOTIFY]["mean"] >= 0.5
    page = (out / "optimize.html").read_text()
    assert "<script" not in page
    assert page.count('data-chart="front"') == 1
    assert page.count("<circle data-trial=") == 8
    assert page.count('class="chosen"') == 1


def test_same_seed_same_search_and_a_stored_study_resumes(tmp_path: Path) -> None:
    scenario, levers = _scenario(tmp_path), _levers(tmp_path)
    one = _optimize(scenario, levers, tmp_path / "one", trials=2)
    two = _optimize(scenario, levers, tmp_path / "two", trials=2)
    assert one["trials"] == two["trials"]
    resumed = _optimize(scenario, levers, tmp_path / "one", trials=3)
    assert [t["trial"] for t in resumed["trials"]] == [0, 1, 2]
    assert resumed["trials"][:2] == one["trials"]
    # a resumed study does not replay its first proposal
    assert resumed["trials"][2]["raw"] != resumed["trials"][0]["raw"]
    other = _levers(tmp_path, {**LEVERS, "targets": [{"figure": NOTIFY, "at_least": 0.9}]}, "b")
    args = ["optimize", str(scenario), "--levers", str(other), "--out", str(tmp_path / "one")]
    refused = CliRunner().invoke(app, [*args, "--trials", "6", "-q"])
    assert refused.exit_code == 2
    assert "expected a study of these levers, targets and replications to resume" in refused.output


def test_without_optuna_it_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import simulation.extras

    monkeypatch.setattr(simulation.extras, "find_spec", lambda name: None)
    args = ["optimize", str(_scenario(tmp_path)), "--levers", str(_levers(tmp_path))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "alertsim optimize: expected the 'optimize' extra installed" in result.output
    assert "pip install 'alertsim[optimize]'" in result.output
