"""Fixtures of the report tests: one smoke-scenario run written by `alertsim run` per module."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulation.cli import app

SMOKE = Path(__file__).resolve().parents[3] / "scenarios" / "smoke-one-town.yaml"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output folder (report.json, report.html, ...) of the smoke scenario run through the CLI."""
    out = tmp_path_factory.mktemp("smoke-run")
    result = CliRunner().invoke(app, ["run", str(SMOKE), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out
