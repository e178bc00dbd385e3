"""report.json carries where every parameter of the run comes from; report.html shows it under
"What this answer assumes", sources linked, assumptions marked apart, nothing fetched."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from simulation.report.html import render_html
from simulation.report.html_provenance import show
from simulation.report.provenance import provenance
from simulation.scenario import load_scenario
from simulation.scenario.provenance import lookup
from tests.support.scenarios import base_scenario, write_scenario

SMOKE = Path(__file__).resolve().parents[3] / "scenarios" / "smoke-one-town.yaml"


class Rows(HTMLParser):
    """The assumptions section's rows: (data-param, data-kind, visible text), and its links."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, str]] = []
        self.links: list[str] = []
        self.inside = False
        self._row: list[str] | None = None
        self._attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.inside = a.get("id") == "assumptions"
        if self.inside and tag == "tr" and a.get("data-param"):
            self._row, self._attrs = [], a
        if self.inside and tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._row is not None:
            attrs = self._attrs
            self.rows.append(
                (attrs["data-param"] or "", attrs["data-kind"] or "", "".join(self._row))
            )
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._row is not None:
            self._row.append(data)


def rows_of(html: str) -> Rows:
    parser = Rows()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def report(run_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    return loaded


def test_report_json_gives_every_parameter_its_value_and_provenance(report: dict[str, Any]) -> None:
    section = report["provenance"]
    loaded = load_scenario(SMOKE)
    data = loaded.scenario.model_dump(mode="json")
    rows = section["parameters"]
    assert section["counts"] == {
        "parameters": len(loaded.provenance.parameters),
        "source": sum(r["kind"] == "source" for r in rows),
        "assumption": sum(r["kind"] == "assumption" for r in rows),
        "none": 0,
    }
    assert section["counts"]["source"] >= 8
    assert section["counts"]["assumption"] >= 30
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)) == len(loaded.provenance.entries)
    for row in rows:
        assert row["value"] == lookup(data, row["path"])[1], row["path"]
        assert "file_value" not in row
        if row["kind"] == "source":
            assert row["source"] in section["sources"], row["path"]
        else:
            assert row["assumption"], row["path"]
    read = next(r for r in rows if r["path"] == "behaviour.read_s")
    assert read["value"]["kind"] == "lognormal"
    assert read["kind"] == "assumption"
    assert read["source"] == "notification-viewing"
    cited = {r["source"] for r in rows if r["source"]}
    assert set(section["sources"]) == cited
    assert section["sources"]["emu-ens-2011" if "emu-ens-2011" in cited else "3gpp-ts-22168"][
        "url"
    ].startswith("https://")


def test_report_html_lists_every_row_grouped_with_assumptions_marked(
    run_dir: Path, report: dict[str, Any]
) -> None:
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    parsed = rows_of(html)
    rows = report["provenance"]["parameters"]
    assert [(p, k) for p, k, _ in parsed.rows] == [(r["path"], r["kind"]) for r in rows]
    for (path, kind, text), row in zip(parsed.rows, rows, strict=True):
        assert text.startswith(path), path
        if kind == "assumption":
            assert "assumption" in text
            assert row["assumption"] in text
        else:
            assert "source" in text
            assert report["provenance"]["sources"][row["source"]]["title"] in text
    town = next(t for p, _, t in parsed.rows if p == "tiers.town.processing_s")
    assert "lognormal, median 50 s, p90 150 s" in town
    urls = {s["url"] for s in report["provenance"]["sources"].values() if s["url"]}
    assert urls
    assert urls <= set(parsed.links)
    assert html.index('id="assumptions"') < html.index('id="metadata"')
    assert re.search(r"<script[^>]*\bsrc=|<link[^>]*stylesheet", html) is None


def test_a_value_the_run_changed_shows_the_file_value() -> None:
    loaded = load_scenario(SMOKE)
    scenario = loaded.scenario
    changed = scenario.model_copy(
        update={
            "seed": 5,
            "tiers": scenario.tiers.model_copy(
                update={"town": scenario.tiers.town.model_copy(update={"staff": 9})}
            ),
        }
    )
    section = provenance(loaded.model_copy(update={"scenario": changed}))
    by_path = {r["path"]: r for r in section["parameters"]}
    assert (by_path["seed"]["value"], by_path["seed"]["file_value"]) == (5, 20250720)
    assert (by_path["tiers.town.staff"]["value"], by_path["tiers.town.staff"]["file_value"]) == (
        9,
        3,
    )
    assert "file_value" not in by_path["tiers.district.staff"]


def test_a_scenario_without_provenance_shows_every_parameter_as_unsourced(
    tmp_path: Path, report: dict[str, Any]
) -> None:
    loaded = load_scenario(write_scenario(tmp_path, base_scenario()))
    section = provenance(loaded)
    assert (
        section["counts"]["none"] == section["counts"]["parameters"] == len(section["parameters"])
    )
    assert section["sources"] == {}
    html = render_html({**report, "provenance": section})
    parsed = rows_of(html)
    assert {k for _, k, _ in parsed.rows} == {"none"}
    assert all("no source given" in t for _, _, t in parsed.rows)
    assert f"{section['counts']['none']} parameter(s) have neither" in html


def test_an_older_report_without_provenance_still_renders(report: dict[str, Any]) -> None:
    older = {k: v for k, v in report.items() if k != "provenance"}
    html = render_html(older)
    assert 'id="assumptions"' in html
    assert "has no <code>provenance</code>" in html


def test_values_read_as_a_planner_writes_them() -> None:
    assert show({"kind": "uniform", "low": 0.8, "high": 1.7}, "m/s") == "uniform, 0.8 to 1.7 m/s"
    assert show({"kind": "constant", "value": 15.0}, "s") == "15 s"
    assert show([120.0, 90.0, 1200.0], "s") == "120, 90, 1,200 s"
    assert show(0.06) == "0.06"
    stream = {"name": "calls", "rate_per_hour": None, "rate_profile_per_hour": [3, 8]}
    assert show(stream) == "name: calls; rate_profile_per_hour: 3, 8 an hour"
