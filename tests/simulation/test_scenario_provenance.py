"""Every number of a shipped scenario has a source or is marked an assumption; bad provenance is
refused naming the path or source id at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from simulation.cli import app
from simulation.scenario import ScenarioError, load_scenario
from tests.support.scenarios import ROOT, base_scenario, write_scenario

SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
SOURCES = ROOT / "config" / "sources.yaml"


def numeric_leaves(data: Any, path: str = "") -> list[str]:
    """Every number in the dumped scenario, each list item apart (booleans are not numbers)."""
    if isinstance(data, dict):
        return [leaf for k, v in data.items() for leaf in numeric_leaves(v, f"{path}.{k}")]
    if isinstance(data, list):
        return [leaf for i, v in enumerate(data) for leaf in numeric_leaves(v, f"{path}[{i}]")]
    if isinstance(data, int | float) and not isinstance(data, bool):
        return [path.lstrip(".")]
    return []


def covered(leaf: str, keys: set[str]) -> bool:
    return any(leaf == k or leaf.startswith((k + ".", k + "[")) for k in keys)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_number_of_a_shipped_scenario_has_provenance(path: Path) -> None:
    loaded = load_scenario(path)
    leaves = numeric_leaves(loaded.scenario.model_dump(mode="json"))
    assert len(leaves) > 60, "the walk reached the defaults (relay, network.resend_s) too"
    keys = set(loaded.provenance.entries)
    without = [leaf for leaf in leaves if not covered(leaf, keys)]
    assert without == [], f"{path.name}: no source or assumption for {without}"
    assert loaded.provenance.missing == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_sources_resolve_and_assumptions_give_reasons(path: Path) -> None:
    loaded = load_scenario(path)
    kinds = {e.kind for e in loaded.provenance.entries.values()}
    assert kinds == {"source", "assumption"}
    for key, entry in loaded.provenance.entries.items():
        if entry.source is not None:
            assert entry.source in loaded.provenance.sources, key
        if entry.assumption is not None:
            assert len(entry.assumption) >= 10, key


def test_read_time_matches_the_assumed_one_to_three_minutes() -> None:
    # the studied storms; chongqing-2025-as-reported sets reading within a minute as a condition
    studied = [p for p in SHIPPED if p.name != "chongqing-2025-as-reported.yaml"]
    assert len(studied) == 3
    for path in studied:
        read = load_scenario(path).scenario.behaviour.read_s
        assert read.kind == "lognormal"
        assert 60 <= read.median <= 180, path.name


def with_provenance(tmp_path: Path, parameters: dict[str, Any], sources: str | None = None) -> Path:
    data = base_scenario()
    data["provenance"] = {"sources": sources or str(SOURCES), "parameters": parameters}
    return write_scenario(tmp_path, data)


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert all(line.startswith(f"{path}: ") for line in caught.value.errors)
    return caught.value.errors


def test_an_unknown_path_is_refused_by_name(tmp_path: Path) -> None:
    path = with_provenance(
        tmp_path,
        {
            "tiers.twn.staff": {"assumption": "a typo in the path"},
            "tiers.town.staff": {"assumption": "a right one"},
            "escalation.timeout_s[9]": {"assumption": "past the end of the list"},
        },
    )
    found = problems(path)
    assert len(found) == 2
    assert "scenario.provenance.parameters" in found[0]
    assert "'tiers.twn.staff'" in found[0]
    assert "'escalation.timeout_s[9]'" in found[1]


def test_an_unknown_source_id_is_refused_by_name(tmp_path: Path) -> None:
    path = with_provenance(tmp_path, {"tiers.town.staff": {"source": "cq-2025-pres"}})
    [problem] = problems(path)
    assert "scenario.provenance.parameters.tiers.town.staff.source" in problem
    assert "'cq-2025-pres'" in problem


def test_an_entry_must_give_a_source_or_an_assumption(tmp_path: Path) -> None:
    path = with_provenance(tmp_path, {"tiers.town.staff": {"note": "nothing else"}})
    [problem] = problems(path)
    assert "scenario.provenance.parameters.tiers.town.staff" in problem
    assert "got neither" in problem


def test_a_bad_source_list_is_refused_naming_the_entry(tmp_path: Path) -> None:
    listing = tmp_path / "sources.yaml"
    source = {"id": "x", "title": "t", "publisher": "p", "url": "ftp://x", "measured": "m"}
    listing.write_text(yaml.safe_dump({"sources": [source]}))
    [problem] = problems(with_provenance(tmp_path, {}, sources=str(listing)))
    assert "scenario.provenance.sources" in problem
    assert "sources[0].url" in problem
    [problem] = problems(with_provenance(tmp_path, {}, sources=str(tmp_path / "none.yaml")))
    assert "scenario.provenance.sources: expected a readable file" in problem
    assert "none.yaml" in problem


def test_a_source_list_outside_the_serve_roots_is_refused(tmp_path: Path) -> None:
    path = with_provenance(tmp_path, {})  # names the repository's config/sources.yaml
    config = ROOT / "config"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, roots=[tmp_path, config / "topology", config / "geo"])
    [problem] = caught.value.errors
    assert "scenario.provenance.sources: expected a path inside" in problem
    load_scenario(path, roots=[tmp_path, ROOT / "config"])


def test_a_group_entry_covers_its_numbers_and_the_nearest_entry_wins(tmp_path: Path) -> None:
    path = with_provenance(
        tmp_path,
        {
            "tiers": {"assumption": "every tier at once"},
            "tiers.town.staff": {"source": "digital-chongqing-2026"},
        },
    )
    provenance = load_scenario(path).provenance
    assert provenance.covering("tiers.town.processing_s.value") == "tiers"
    assert provenance.covering("tiers.town.staff") == "tiers.town.staff"
    assert provenance.covering("escalation.timeout_s") is None
    assert "tiers.district.staff" not in provenance.missing
    assert "escalation.timeout_s" in provenance.missing


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_covering_entry_is_the_longest_key_that_covers_the_path(path: Path) -> None:
    provenance = load_scenario(path).provenance
    keys = set(provenance.entries)
    leaves = numeric_leaves(load_scenario(path).scenario.model_dump(mode="json"))
    # every number, every key, and paths that only start like a key (no step boundary)
    probes = [*leaves, *keys, *(k + "x" for k in keys), *(k + "[0].y" for k in keys), "", "x"]
    assert len(keys) > 10
    for probe in probes:
        by_definition = [k for k in keys if covered(probe, {k})]
        expected = max(by_definition, key=len) if by_definition else None
        assert provenance.covering(probe) == expected, probe


def test_a_scenario_without_provenance_loads_and_says_what_has_none(tmp_path: Path) -> None:
    loaded = load_scenario(write_scenario(tmp_path, base_scenario()))
    assert loaded.provenance.entries == {}
    assert loaded.provenance.missing == list(loaded.provenance.parameters)
    assert "seed" in loaded.provenance.missing
    assert "relay.call_failure" in loaded.provenance.missing  # defaults are parameters too


def test_validate_says_what_has_no_provenance(tmp_path: Path) -> None:
    runner = CliRunner()
    shipped = runner.invoke(app, ["validate", str(ROOT / "scenarios" / "smoke-one-town.yaml")])
    assert shipped.exit_code == 0, shipped.output
    assert "every parameter has one" in shipped.output
    bare = runner.invoke(app, ["validate", str(write_scenario(tmp_path, base_scenario()))])
    assert bare.exit_code == 0, bare.output
    assert "without a source or an assumption: seed, topology.scale" in bare.output
