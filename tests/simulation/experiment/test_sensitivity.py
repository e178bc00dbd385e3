"""alertsim sensitivity: the default set, the params file, ranking, paired intervals, outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from simulation.cli import app
from simulation.experiment.sensitivity_params import default_parameters, load_parameters
from simulation.scenario import ScenarioError, load_scenario
from tests.support.scenarios import base_scenario, constant, merged, write_scenario

ROOT = Path(__file__).resolve().parents[3]
SMOKE = ROOT / "scenarios" / "smoke-one-town.yaml"
NOTIFY = "notification.within_target_share"
RESPOND = "response.within_target_share"


def test_the_default_set_divides_and_multiplies_the_main_parameters() -> None:
    loaded = load_scenario(SMOKE)
    params = {p.name: p for p in default_parameters(loaded)}
    municipal = params["tiers.municipal.processing_s"]
    assert municipal.base == {"kind": "lognormal", "median": 30.0, "p90": 60.0}
    assert municipal.low == {"kind": "lognormal", "median": 15.0, "p90": 30.0}
    assert municipal.high == {"kind": "lognormal", "median": 60.0, "p90": 120.0}
    assert (params["tiers.municipal.staff"].low, params["tiers.municipal.staff"].high) == (2, 8)
    assert params["behaviour.read_s"].high == {"kind": "lognormal", "median": 180.0, "p90": 900.0}
    # availability moves by its complement: 4% away becomes 2% and 8%
    away = params["behaviour.availability"]
    assert (away.low, away.high) == (pytest.approx(0.98), pytest.approx(0.92))
    assert (params["channels.app_push.missed"].low, params["channels.app_push.missed"].high) == (
        0.075,
        0.3,
    )
    assert (params["escalation.timeout_s.0"].low, params["escalation.timeout_s.0"].high) == (
        60.0,
        240.0,
    )
    # a zero has nothing to scale (voice_call.missed), and off-ladder channels are not varied
    assert "channels.voice_call.missed" not in params
    assert not any(name.startswith("channels.area_terminal") for name in params)
    assert len(params) == 23
    tripled = {p.name: p for p in default_parameters(loaded, 3.0)}
    assert tripled["tiers.town.processing_s"].high == {
        "kind": "lognormal",
        "median": 150.0,
        "p90": 450.0,
    }


def test_a_params_file_names_paths_with_values_or_factors(tmp_path: Path) -> None:
    loaded = load_scenario(SMOKE)
    spec = {
        "factor": 4,
        "parameters": [
            {"path": "channels.sms.failure", "low": 0.0, "high": 0.2},
            {"path": "behaviour.ack_s"},
            {"path": "tiers.town.staff", "factor": 3},
        ],
    }
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(spec))
    params = load_parameters(path, loaded)
    assert [(p.name, p.low, p.high) for p in params] == [
        ("channels.sms.failure", 0.0, 0.2),
        (
            "behaviour.ack_s",
            {"kind": "lognormal", "median": 2.0, "p90": 7.5},
            {"kind": "lognormal", "median": 32.0, "p90": 120.0},
        ),
        ("tiers.town.staff", 1, 9),
    ]


def test_every_bad_parameter_is_listed_with_where_it_is(tmp_path: Path) -> None:
    loaded = load_scenario(SMOKE)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"parameters": [{"path": "tiers.municipal", "low": 1}]}))
    with pytest.raises(ScenarioError) as caught:
        load_parameters(path, loaded)
    assert caught.value.errors == [
        f"{path}: params.parameters[0]: expected both low and high, or neither"
    ]
    spec = {
        "parameters": [
            {"path": "tiers.municipl.staff"},
            {"path": "strategy"},
            {"path": "channels.voice_call.missed"},
        ]
    }
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(ScenarioError) as caught:
        load_parameters(path, loaded)
    assert caught.value.errors == [
        f"{path}: params.parameters[0] (tiers.municipl.staff): scenario.tiers: "
        "expected a field or index 'municipl', got none",
        f"{path}: params.parameters[1] (strategy): scenario.strategy: "
        "expected a number or a distribution to scale, got str",
        f"{path}: params.parameters[2] (channels.voice_call.missed): "
        "expected a non-zero value to scale, got 0.0",
    ]


def _small(tmp_path: Path) -> Path:
    """Two towns; readers vary (so replications differ), everything else constant."""
    data = merged(
        base_scenario(),
        {"behaviour": {"read_s": {"kind": "lognormal", "median": 20, "p90": 60}}},
    )
    return write_scenario(tmp_path, data)


def _params(tmp_path: Path) -> Path:
    spec = {
        "parameters": [
            # door-knocks never start: nobody fails to answer before the last rung's timeout
            {"path": "channels.door_knock.failure", "low": 0.0, "high": 0.5},
            # relays 30 + 40 + 50 s at base: 200 s at the top alone puts everyone past 180 s
            {"path": "tiers.municipal.processing_s", "low": constant(10), "high": constant(200)},
            # the scenario's own value on the low side: no effect at all, replication by
            # replication, only under common random numbers
            {"path": "behaviour.ack_s", "low": constant(5), "high": constant(60)},
        ]
    }
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _run(
    scenario: Path, params: Path, out: Path, replications: int = 3, workers: int = 1
) -> dict[str, Any]:
    args = ["sensitivity", str(scenario), "--params", str(params)]
    args += ["--replications", str(replications), "--workers", str(workers)]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads((out / "sensitivity.json").read_text())
    return document


def test_a_parameter_that_matters_ranks_above_one_that_cannot(tmp_path: Path) -> None:
    scenario = _small(tmp_path)
    document = _run(scenario, _params(tmp_path), tmp_path / "out")
    assert document["replications"] == 3
    assert document["seed"] == 7
    assert document["ranking"][NOTIFY] == [
        "tiers.municipal.processing_s",
        "behaviour.ack_s",
        "channels.door_knock.failure",
    ]
    rows = {row["name"]: row for row in document["parameters"]}
    assert [row["name"] for row in document["parameters"]] == document["ranking"][NOTIFY]
    municipal = rows["tiers.municipal.processing_s"]["effects"][NOTIFY]
    assert municipal["high"]["mean"] == 0.0  # nobody is notified before 200 s
    assert municipal["beyond_noise"] is True
    baseline = document["baseline"][NOTIFY]
    assert baseline["n"] == 3
    assert baseline["ci95_low"] < baseline["mean"] < baseline["ci95_high"]
    assert municipal["swing"] == pytest.approx(max(municipal["low"]["mean"], baseline["mean"]))
    door = rows["channels.door_knock.failure"]["effects"]
    for figure in (NOTIFY, RESPOND):
        assert door[figure]["swing"] == 0.0
        assert door[figure]["beyond_noise"] is False
        assert door[figure]["high_delta"] == {
            "mean": 0.0,
            "ci95_low": 0.0,
            "ci95_high": 0.0,
            "n": 3,
        }
    ack = rows["behaviour.ack_s"]["effects"][NOTIFY]
    assert ack["low_delta"] == {"mean": 0.0, "ci95_low": 0.0, "ci95_high": 0.0, "n": 3}
    assert ack["low"] == baseline
    assert ack["high_delta"]["mean"] < 0


def test_outputs_are_deterministic_and_the_page_draws_two_tornados(tmp_path: Path) -> None:
    scenario, params = _small(tmp_path), _params(tmp_path)
    first = tmp_path / "one"
    _run(scenario, params, first, replications=2)
    _run(scenario, params, tmp_path / "two", replications=2, workers=2)  # any executor
    assert (first / "sensitivity.json").read_bytes() == (
        tmp_path / "two" / "sensitivity.json"
    ).read_bytes()
    page = (first / "sensitivity.html").read_text()
    assert "<script" not in page
    assert page.count('data-chart="tornado-notification"') == 1
    assert page.count('data-chart="tornado-response"') == 1
    assert page.count("<g data-row=") == 6  # three parameters, two charts
    assert page.count('data-ci="high"') == 6
    assert "tiers.municipal.processing_s (10 / 200)" in page
    assert page.index("tiers.municipal.processing_s (") < page.index(
        "channels.door_knock.failure ("
    )


def test_a_bad_parameter_exits_2_naming_it(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    spec = {"parameters": [{"path": "channels.sms.failure", "low": 0.0, "high": 1.5}]}
    params.write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(app, ["sensitivity", str(SMOKE), "--params", str(params)])
    assert result.exit_code == 2
    assert (
        "channels.sms.failure high = 1.5: scenario.channels.sms.failure: "
        "expected less than or equal to 1, got 1.5"
    ) in result.output
    bad = CliRunner().invoke(app, ["sensitivity", str(SMOKE), "--factor", "1"])
    assert bad.exit_code == 2
    assert "--factor: expected a number greater than 1, got 1" in bad.output


def test_morris_walks_between_low_and_high_and_refuses_mixed_kinds() -> None:
    from simulation.experiment.morris import check_interpolable, interpolate
    from simulation.experiment.sensitivity_params import Parameter

    lognormal = Parameter(
        "behaviour.read_s",
        {"kind": "lognormal", "median": 45, "p90": 300},
        {"kind": "lognormal", "median": 22.5, "p90": 150},
        {"kind": "lognormal", "median": 90, "p90": 600},
        "/2",
        "x2",
    )
    assert interpolate(lognormal, 0.5) == {"kind": "lognormal", "median": 56.25, "p90": 375.0}
    staff = Parameter("tiers.town.staff", 3, 2, 6, "/2", "x2")
    assert [interpolate(staff, x) for x in (0.0, 1 / 3, 1.0)] == [2, 3, 6]
    mixed = Parameter("tiers.town.processing_s", None, constant(10), lognormal.high, "10", "x")
    with pytest.raises(ScenarioError, match=r"--morris: tiers.town.processing_s: expected numbers"):
        check_interpolable([staff, mixed])


def test_morris_screening_ranks_what_matters_and_is_drawn(tmp_path: Path) -> None:
    pytest.importorskip("SALib")
    scenario, params = _small(tmp_path), _params(tmp_path)
    out = tmp_path / "out"
    args = ["sensitivity", str(scenario), "--params", str(params), "--morris", "4"]
    args += ["--workers", "1"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "sensitivity.json").read_text())
    morris = document["morris"]
    assert (morris["trajectories"], morris["levels"], morris["points"]) == (4, 4, 16)
    effects = {e["name"]: e for e in morris[NOTIFY]}
    assert morris[NOTIFY][0]["name"] == "tiers.municipal.processing_s"
    assert effects["tiers.municipal.processing_s"]["mu_star"] > 0.5
    assert effects["tiers.municipal.processing_s"]["mu"] < 0  # slower is worse
    assert effects["channels.door_knock.failure"]["mu_star"] == 0.0
    page = (out / "sensitivity.html").read_text()
    assert page.count('data-chart="morris-notification"') == 1
    assert page.count('data-chart="morris-response"') == 1


def test_morris_without_salib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import simulation.extras

    monkeypatch.setattr(simulation.extras, "find_spec", lambda name: None)
    result = CliRunner().invoke(app, ["sensitivity", str(SMOKE), "--morris", "2"])
    assert result.exit_code == 1
    assert "alertsim sensitivity --morris: expected the 'sensitivity' extra installed" in (
        result.output
    )
