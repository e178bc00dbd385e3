"""Invalid scenarios are rejected before any run, each error naming field, value, expectation."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from simulation.cli import app
from simulation.scenario import MAX_SCENARIO_BYTES, ScenarioError, load_scenario
from tests.support.scenarios import ROOT, base_scenario, merged, write_scenario

SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


def errors_for(tmp_path: Path, data: Any) -> list[str]:
    path = tmp_path / "bad.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert all(line.startswith(f"{path}: ") for line in caught.value.errors)
    return caught.value.errors


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_scenarios_are_valid(path: Path) -> None:
    loaded = load_scenario(path)
    assert loaded.scenario.name == path.stem


def test_unknown_district_code(tmp_path: Path) -> None:
    data = merged(base_scenario(), {"topology": {"districts": ["500101", "599999"]}})
    [error] = errors_for(tmp_path, data)
    assert "scenario.topology.districts" in error
    assert "599999" in error


def test_negative_delay(tmp_path: Path) -> None:
    data = merged(
        base_scenario(), {"tiers": {"town": {"processing_s": {"kind": "constant", "value": -3}}}}
    )
    [error] = errors_for(tmp_path, data)
    assert "scenario.tiers.town.processing_s.value" in error
    assert "greater than or equal to 0" in error
    assert "got -3" in error


def test_probability_above_one(tmp_path: Path) -> None:
    data = merged(base_scenario(), {"channels": {"sms": {"failure": 1.5}}})
    [error] = errors_for(tmp_path, data)
    assert "scenario.channels.sms.failure" in error
    assert "less than or equal to 1" in error
    assert "1.5" in error


def test_nan_is_not_a_number_here(tmp_path: Path) -> None:
    data = merged(base_scenario(), {"network": {"loss": math.nan}})
    [error] = errors_for(tmp_path, data)
    assert "scenario.network.loss" in error
    assert "finite" in error


def test_missing_field(tmp_path: Path) -> None:
    data = base_scenario()
    del data["behaviour"]["ack_s"]
    [error] = errors_for(tmp_path, data)
    assert "scenario.behaviour.ack_s: expected this field, got nothing" in error


def test_unknown_field(tmp_path: Path) -> None:
    data = merged(base_scenario(), {"network": {"bandwidth": 3}})
    [error] = errors_for(tmp_path, data)
    assert "scenario.network.bandwidth: expected no such field, got 3" in error


def test_every_error_at_once(tmp_path: Path) -> None:
    data = merged(
        base_scenario(),
        {"seed": -1, "strategy": "carrier-pigeon", "channels": {"sms": {"failure": 2}}},
    )
    errors = errors_for(tmp_path, data)
    joined = "\n".join(errors)
    assert len(errors) == 3
    for field in ("scenario.seed", "scenario.strategy", "scenario.channels.sms.failure"):
        assert field in joined


def test_yaml_that_is_not_a_mapping(tmp_path: Path) -> None:
    [error] = errors_for(tmp_path, "- just\n- a list\n")
    assert "expected a mapping of scenario fields, got list" in error


def test_file_over_ten_megabytes(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * MAX_SCENARIO_BYTES + "\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert "expected a file of at most 10,485,760 bytes" in caught.value.errors[0]


def test_yaml_alias_bomb(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    [error] = errors_for(tmp_path, "\n".join(lines) + "\n")
    assert "alias bomb" in error


def test_ladder_channel_must_be_defined(tmp_path: Path) -> None:
    data = base_scenario()
    del data["channels"]["sms"]
    [error] = errors_for(tmp_path, data)
    assert "escalation.ladder" in error
    assert "sms" in error


def test_run_exits_2_and_prints_every_error(tmp_path: Path) -> None:
    path = write_scenario(
        tmp_path, merged(base_scenario(), {"seed": -1, "channels": {"sms": {"failure": 1.5}}})
    )
    for command in (["run", str(path), "--out", str(tmp_path / "out")], ["validate", str(path)]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "scenario.seed" in result.output
        assert "scenario.channels.sms.failure" in result.output
    assert not (tmp_path / "out" / "report.json").exists()


def test_background_stream_needs_exactly_one_way_of_arriving(tmp_path: Path) -> None:
    service = {"kind": "constant", "value": 60}
    streams = [
        {"name": "calls", "rate_per_hour": 4, "interarrival_s": [60], "service_s": service},
        {"name": "reports", "service_s": service},
    ]
    data = merged(base_scenario(), {"tiers": {"town": {"background": streams}}})
    errors = errors_for(tmp_path, data)
    assert len(errors) == 2
    assert "scenario.tiers.town.background[0]: expected exactly one of" in errors[0]
    assert "'rate_per_hour', 'interarrival_s'" in errors[0]
    assert "scenario.tiers.town.background[1]" in errors[1]
    assert "got none" in errors[1]
    assert all("\n" not in e for e in errors)


def test_background_stream_names_are_unique(tmp_path: Path) -> None:
    stream = {"name": "calls", "rate_per_hour": 4, "service_s": {"kind": "constant", "value": 6}}
    data = merged(base_scenario(), {"tiers": {"district": {"background": [stream, stream]}}})
    [error] = errors_for(tmp_path, data)
    assert "scenario.tiers.district.background" in error
    assert "'calls'" in error


def test_background_interarrivals_from_csv(tmp_path: Path) -> None:
    (tmp_path / "gaps.csv").write_text("interarrival_s\n30\n90.5\n")
    stream = {
        "name": "calls",
        "interarrival_csv": "gaps.csv",
        "service_s": {"kind": "constant", "value": 60},
    }
    data = merged(base_scenario(), {"tiers": {"town": {"background": [stream]}}})
    loaded = load_scenario(write_scenario(tmp_path, data))
    [read] = loaded.scenario.tiers.town.background
    assert read.interarrival_s == [30.0, 90.5]
    (tmp_path / "gaps.csv").write_text("interarrival_s\n30\n-2\n")
    [error] = errors_for(tmp_path, data)
    assert "scenario.tiers.town.background[0].interarrival_csv: gaps.csv: line 3:" in error
    assert "expected a positive number of seconds, got '-2'" in error


def test_an_unknown_alert_lifecycle_is_one_line(tmp_path: Path) -> None:
    data = merged(base_scenario(), {"alert": {"lifecycle": "sometimes"}})
    assert errors_for(tmp_path, data) == [
        f"{tmp_path / 'bad.yaml'}: scenario.alert.lifecycle: expected 'separate' or 'updates', "
        "got 'sometimes'"
    ]
