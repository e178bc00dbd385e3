"""The topology file agrees with the reference data it was built from (config/data), and the
figures docs/sources.md states are the ones the project runs with."""

from __future__ import annotations

import csv
from pathlib import Path

from simulation.topology.source import load_topology

ROOT = Path(__file__).resolve().parents[3]
CSV = ROOT / "config" / "data" / "chongqing-divisions-2023.csv"
TOPOLOGY = ROOT / "config" / "topology" / "chongqing.yaml"


def rows() -> dict[str, dict[str, str]]:
    with CSV.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


def test_the_topology_file_is_the_division_data() -> None:
    data, topology = rows(), load_topology(TOPOLOGY)
    assert [d.code for d in topology.districts] == sorted(data)
    for district in topology.districts:
        row = data[district.code]
        assert (district.name, district.name_zh, district.kind) == (
            row["name_en"],
            row["name_zh"],
            row["type"],
        )
        units = int(row["subdistricts"]) + int(row["towns"]) + int(row["townships"])
        assert district.towns == units == int(row["township_level_units"])
        assert district.area_km2 == (float(row["area_km2"]) if row["area_km2"] else None)
        assert district.population_estimated == (row["population_2020"] == "")
        if row["population_2020"]:
            assert district.population == int(row["population_2020"])


def test_the_city_totals_are_the_sourced_ones() -> None:
    data, topology = rows(), load_topology(TOPOLOGY)
    assert sum(d.towns for d in topology.districts) == 1031
    assert sum(int(r["subdistricts"]) for r in data.values()) == 245
    assert sum(int(r["towns"]) for r in data.values()) == 625
    assert sum(int(r["townships"]) for r in data.values()) == 161
    assert topology.population == sum(d.population for d in topology.districts) == 32_054_159
    estimated = sum(d.population for d in topology.districts if d.population_estimated)
    assert estimated == 3_531_228
    totals = topology.totals
    assert (totals.grids, totals.micro_grids, totals.members, totals.risk_points) == (
        62_000,
        210_000,
        121_000,
        158_000,
    )
    text = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    for figure in ("1,031", "62,000", "210,000", "121,000", "158,000", "32,054,159"):
        assert figure in text
