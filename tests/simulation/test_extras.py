"""A feature whose optional extra is missing says which one to install, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulation import extras
from simulation.cli import app
from simulation.extras import MissingExtra, require
from tests.support.scenarios import base_scenario, merged, write_scenario


def test_require_names_the_feature_the_extra_and_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require("geo", "scenario.topology.geometry")  # installed here: nothing happens
    monkeypatch.setitem(extras.EXTRAS, "geo", ("shapely", "no_such_module_for_alertsim"))
    with pytest.raises(MissingExtra) as info:
        require("geo", "scenario.topology.geometry")
    assert str(info.value) == (
        "scenario.topology.geometry: expected the 'geo' extra installed "
        "(pip install 'alertsim[geo]'), got no no_such_module_for_alertsim"
    )


def test_a_scenario_that_needs_a_missing_extra_exits_1_with_that_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(extras.EXTRAS, "geo", ("no_such_module_for_alertsim",))
    path = write_scenario(tmp_path, merged(base_scenario(), {"topology": {"geometry": True}}))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "pip install 'alertsim[geo]'" in result.output
    assert "Traceback" not in result.output
