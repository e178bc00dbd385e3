"""Virtual runs are deterministic: same scenario and seed, same report; new seed, new figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from simulation.cli import app
from simulation.report.build import VOLATILE_KEYS
from tests.support.scenarios import ROOT

SMOKE = ROOT / "scenarios" / "smoke-one-town.yaml"


def run_report(out: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["run", str(SMOKE), "--out", str(out), "--quiet", *extra])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    return report


def stable(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in VOLATILE_KEYS}


def test_same_seed_same_report(tmp_path: Path) -> None:
    first = run_report(tmp_path / "a")
    second = run_report(tmp_path / "b")
    assert json.dumps(stable(first), sort_keys=True) == json.dumps(stable(second), sort_keys=True)


def test_different_seed_different_figures(tmp_path: Path) -> None:
    first = run_report(tmp_path / "a")
    other = run_report(tmp_path / "b", "--seed", "12345")
    assert other["seed"] == 12345
    assert first["notification"]["latency_s"] != other["notification"]["latency_s"]
