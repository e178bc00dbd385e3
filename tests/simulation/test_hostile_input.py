"""Hostile scenario input gets one line naming file and field, never a traceback or a hang.

Each case is one of issue 12's reproductions: deep nesting, an unknown YAML tag, a binary
topology file, a lognormal whose draws overflow, duplicate keys, devices and paths outside the
allowed roots, and Rich markup in a file name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from simulation.cli import app
from simulation.inputs import (
    FastStrictLoader,
    InputError,
    StrictLoader,
    confine,
    read_bounded,
    yaml_problem,
)
from simulation.scenario import ScenarioError, load_scenario
from tests.support.scenarios import ROOT, TOPOLOGY, base_scenario, merged, write_scenario


def one_error(path: Path, **kwargs: Any) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, **kwargs)
    [error] = caught.value.errors
    assert error.startswith(f"{path}: ")
    assert "\n" not in error
    return error


def validate_cli(path: Path) -> str:
    """`alertsim validate` on `path`: exits 2 with the problem and no traceback."""
    result = CliRunner().invoke(app, ["validate", str(path)], env={"COLUMNS": "80"})
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return result.output


def test_six_hundred_levels_of_nesting(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("name: deep\nseed: " + "[" * 600 + "]" * 600 + "\n", encoding="utf-8")
    error = one_error(path)
    assert "expected valid YAML, got nesting deeper than 64 levels at line 2" in error
    assert "nesting deeper" in validate_cli(path)


def test_an_unknown_yaml_tag(tmp_path: Path) -> None:
    path = tmp_path / "tag.yaml"
    path.write_text("name: !!python/object:os.system ls\n", encoding="utf-8")
    error = one_error(path)
    assert "unknown tag 'tag:yaml.org,2002:python/object:os.system'" in error
    assert "line 1, column 7" in error
    assert "unknown tag" in validate_cli(path)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text("name: a\nseed: 1\nseed: 2\n", encoding="utf-8")
    assert one_error(path) == (
        f"{path}: expected valid YAML, got duplicate key 'seed' at line 3, column 1"
    )
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.read_text(encoding="utf-8") + "totals: {}\n", encoding="utf-8")
    scenario = write_scenario(
        tmp_path, merged(base_scenario(), {"topology": {"path": "topology.yaml"}})
    )
    assert "duplicate key 'totals'" in one_error(scenario)


def test_a_binary_topology_file(tmp_path: Path) -> None:
    (tmp_path / "city.yaml").write_bytes(b"city:\n  name: \xff\xfe\x00secret\n")
    path = write_scenario(tmp_path, merged(base_scenario(), {"topology": {"path": "city.yaml"}}))
    error = one_error(path)
    assert error.endswith(
        "expected UTF-8 text, got '" + str(tmp_path / "city.yaml") + "' "
        "with a byte that is not (at offset 14)"
    )
    assert "secret" not in error
    assert "xff" not in error
    assert "expected UTF-8 text" in validate_cli(path)


@pytest.mark.parametrize(("median", "p90"), [(1e300, 2e300), (1e-300, 1e9), (1e14, 1e15)], ids=str)
def test_a_lognormal_that_would_overflow_is_refused_at_validation(
    tmp_path: Path, median: float, p90: float
) -> None:
    bad = {"kind": "lognormal", "median": median, "p90": p90}
    path = write_scenario(tmp_path, merged(base_scenario(), {"behaviour": {"ack_s": bad}}))
    error = one_error(path)
    assert "scenario.behaviour.ack_s: expected median and p90 whose largest draw and mean" in error
    assert "scenario.behaviour.ack_s" in validate_cli(path)


def test_every_distribution_is_bounded(tmp_path: Path) -> None:
    for bad, what in [
        ({"kind": "constant", "value": 1e300}, "expected a value of at most 1e+15"),
        ({"kind": "uniform", "low": 0, "high": 1e16}, "expected high of at most 1e+15"),
        ({"kind": "exponential", "mean": 1e15}, "expected 40 times the mean"),
        ({"kind": "empirical", "values": [1, 1e200]}, "expected values of at most 1e+15"),
    ]:
        path = write_scenario(tmp_path, merged(base_scenario(), {"behaviour": {"ack_s": bad}}))
        assert what in one_error(path)


def test_rich_markup_in_a_file_name_prints_as_written(tmp_path: Path) -> None:
    for name in ("a:x:b.yaml", "[bold]c.yaml"):
        path = write_scenario(tmp_path, base_scenario(), name=name)
        # a narrow terminal: the line must still come out whole, not wrapped inside the path
        result = CliRunner().invoke(app, ["validate", str(path)], env={"COLUMNS": "40"})
        assert result.exit_code == 0, result.output
        assert f"{path}: valid" in result.output
        bad = write_scenario(tmp_path, merged(base_scenario(), {"seed": -1}), name=name)
        assert f"problem(s) in {bad}:" in validate_cli(bad)


def test_a_device_is_refused_before_reading(tmp_path: Path) -> None:
    # /dev/zero never ends: reading it at all would hang or fill memory
    with pytest.raises(InputError, match="expected a regular file, got '/dev/zero'"):
        read_bounded(Path("/dev/zero"), 1024)
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="a device, FIFO or folder"):
        read_bounded(fifo, 1024)  # opened without waiting for a writer
    path = write_scenario(tmp_path, merged(base_scenario(), {"topology": {"path": "/dev/zero"}}))
    assert "scenario.topology.path: " in one_error(path)
    assert "expected a regular file" in validate_cli(fifo)


def test_paths_outside_the_roots_are_refused_without_quoting_them(tmp_path: Path) -> None:
    roots = [tmp_path / "scenarios", ROOT / "config"]
    roots[0].mkdir()
    secret = tmp_path / "key.pem"
    secret.write_text("-----BEGIN PRIVATE KEY-----\nMIIEsecret\n", encoding="utf-8")
    (roots[0] / "link.yaml").symlink_to(secret)
    for written in (str(secret), "../key.pem", "link.yaml", "/etc/passwd", "/dev/zero"):
        data = merged(base_scenario(), {"topology": {"path": written}})
        path = write_scenario(roots[0], data)
        error = one_error(path, roots=roots)
        assert error == (
            f"{path}: scenario.topology.path: expected a path inside "
            f"{roots[0]}, {ROOT / 'config'}, got {written!r}"
        )
    inside = write_scenario(roots[0], base_scenario())  # an absolute path inside config/
    assert load_scenario(inside, roots=roots).topology.name
    with pytest.raises(InputError):
        confine(roots[0] / ".." / "key.pem", roots, shown="x")


def test_a_topology_that_is_not_one_is_not_quoted(tmp_path: Path) -> None:
    (tmp_path / "key.yaml").write_text("MIIEsecretsecret\n", encoding="utf-8")
    path = write_scenario(tmp_path, merged(base_scenario(), {"topology": {"path": "key.yaml"}}))
    error = one_error(path)
    assert error.endswith("expected a mapping of topology fields, got a str")
    assert "secret" not in error
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["topology"]["path"] == "key.yaml"


@pytest.mark.parametrize(
    "name", ["scenarios/chongqing-record-rainfall.yaml", "config/topology/chongqing.yaml"]
)
def test_the_libyaml_loader_loads_what_the_python_one_does(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    loaders = [StrictLoader(text), FastStrictLoader(text)]
    assert loaders[0].get_single_data() == loaders[1].get_single_data()


def test_a_syntax_error_is_told_in_the_python_loaders_words(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: a\nseed: [1, 2\n", encoding="utf-8")
    with pytest.raises(yaml.YAMLError) as caught:
        StrictLoader(path.read_text(encoding="utf-8")).get_single_data()
    assert one_error(path) == f"{path}: expected valid YAML, got {yaml_problem(caught.value)}"
