"""The maps of report.html and comparison.html: every district drawn, figures equal report.json.

One run of the whole city (all 38 districts, two towns each, a little rain per district) through
`alertsim run`, then its page read as written and as Chromium renders it.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from simulation.cli import app
from simulation.geo.shapes import MapShapes, load_shapes
from simulation.report.compare import render_html as render_comparison
from simulation.report.html import render_html
from simulation.report.maps import CIVIDIS, NO_DATA, PUOR, VIRIDIS, floor_share, share_scale
from tests.support.browser import Page, open_page
from tests.support.scenarios import base_scenario, merged, write_scenario

MAPS = [
    "compliance",
    "acknowledged-60",
    "acknowledged-120",
    "acknowledged-180",
    "acknowledged-300",
    "acknowledged-900",
    "risk-points",
    "outage",
    "rainfall",
]


class _Uses(HTMLParser):
    """Each map's districts: data attributes, fill and hover title, by map name."""

    def __init__(self) -> None:
        super().__init__()
        self.maps: dict[str, dict[str, dict[str, Any]]] = {}
        self.outlines: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self._map: str | None = None
        self._use: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg" and a.get("data-map"):
            self._map = a["data-map"]
            self.maps[self._map or ""] = {}
        elif tag == "path" and (a.get("id") or "").startswith("district-"):
            self.outlines.append((a["id"] or "").removeprefix("district-"))
        elif tag == "use" and self._map is not None:
            self._use = {**a, "title": ""}
            self.maps[self._map][a["data-district"] or ""] = self._use
        elif tag == "script":
            self.scripts.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "use":
            self._use = None
        elif tag == "svg":
            self._map = None

    def handle_data(self, data: str) -> None:
        if self._use is not None:
            self._use["title"] += data


def parse(html: str) -> _Uses:
    parser = _Uses()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def city_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("city-maps")
    data = merged(
        base_scenario(),
        {
            "topology": {"scale": 0.01, "districts": None, "towns_per_district": 2},
            "hazard": {
                "rainfall_mm": {"default": [120], "500103": [180], "500101": [40]},
                "alert_level": "blue",
                "outage": {"share_per_mm_3h": 0.001, "max_share": 0.5},
            },
            "channels": {"app_push": {"delay_s": {"kind": "exponential", "mean": 60}}},
        },
    )
    scenario = write_scenario(folder, data)
    # one replication: the maps of replication 0 are what is checked, and it keeps the test lean
    argv = ["run", str(scenario), "--out", str(folder), "--quiet", "--replications", "1"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def report(city_run: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((city_run / "report.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def html(city_run: Path) -> str:
    return (city_run / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def shapes() -> MapShapes:
    return load_shapes()


def test_every_map_draws_all_38_districts_on_outlines_defined_once(
    html: str, shapes: MapShapes
) -> None:
    page = parse(html)
    assert len(shapes.paths) == 38
    assert sorted(page.outlines) == sorted(shapes.paths)  # one outline per district, once
    assert list(page.maps) == MAPS
    for name, districts in page.maps.items():
        assert sorted(districts) == sorted(shapes.paths), name
        for code, use in districts.items():
            assert use["href"] == f"#district-{code}"


def test_the_maps_figures_equal_report_json(html: str, report: dict[str, Any]) -> None:
    page = parse(html)
    assert len(report["by_district"]) == 38
    for i, d in enumerate(report["by_district"]):
        compliance = page.maps["compliance"][d["code"]]
        assert compliance["data-key"] == f"by_district.{i}.within_target_share"
        assert json.loads(compliance["data-value"]) == d["within_target_share"]
        assert (
            f"{floor_share(d['within_target_share'])} of {d['targeted']:,}" in (compliance["title"])
        )
        assert compliance["fill"] == share_scale().colour(d["within_target_share"])
        for mark, share in d["acknowledged_within_s"].items():
            use = page.maps[f"acknowledged-{mark}"][d["code"]]
            assert json.loads(use["data-value"]) == share
            assert f"{floor_share(share)} acknowledged {int(mark) / 60:g} min" in use["title"]
        risk = page.maps["risk-points"][d["code"]]
        assert json.loads(risk["data-value"]) == d["response_within_target_share"]
        assert f"of {d['risk_points']:,} risk points" in risk["title"]
    for j, h in enumerate(report["hazard_by_district"]):
        rain = page.maps["rainfall"][h["code"]]
        assert rain["data-key"] == f"hazard_by_district.{j}.rainfall_mm"
        assert json.loads(rain["data-value"]) == h["rainfall_mm"]
        assert f"{h['rainfall_mm']:,.1f} mm of rain" in rain["title"]
        outage = page.maps["outage"][h["code"]]
        assert json.loads(outage["data-value"]) == h["outage_peak_share"]


def test_the_shares_vary_and_the_colours_with_them(html: str, report: dict[str, Any]) -> None:
    # a test of figures that were all equal could not tell one district's colour from another's
    page = parse(html)
    shares = {d["acknowledged_within_s"]["300"] for d in report["by_district"]}
    assert len(shares) > 3
    fills = {u["fill"] for u in page.maps["acknowledged-300"].values()}
    assert len(fills) >= 3
    assert fills <= set(VIRIDIS)
    # nobody by 1 minute, everyone by 15: the darkest class, then the brightest
    assert {u["fill"] for u in page.maps["acknowledged-60"].values()} == {VIRIDIS[0]}
    assert {u["fill"] for u in page.maps["acknowledged-900"].values()} == {VIRIDIS[-1]}
    # Yuzhong had the most rain (180 mm), Wanzhou the least (40 mm): in classes of 40 mm,
    # the brightest cividis and the second
    rain = page.maps["rainfall"]
    assert rain["500103"]["fill"] == CIVIDIS[-1]
    assert rain["500101"]["fill"] == CIVIDIS[1]


def test_the_page_runs_no_script_and_fetches_nothing(html: str) -> None:
    page = parse(html)
    # the one script element is report.json as data, which a browser never runs
    assert page.scripts == [{"type": "application/json", "id": "report-data"}]
    body = html[: html.index('<script type="application/json"')]
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+[^\s\"'<>]*", body))
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace names, it is not fetched
    assert not re.search(r"\b(?:src|srcset)=|<link\b|@import|url\(", body)
    hrefs = set(re.findall(r'href="([^"]*)"', body))
    assert hrefs
    assert all(h.startswith("#") for h in hrefs)


def test_the_city_page_stays_under_1_mb(html: str) -> None:
    assert len(html.encode("utf-8")) < 1_000_000


def test_a_replicated_district_shows_its_interval(
    report: dict[str, Any], shapes: MapShapes
) -> None:
    d = report["by_district"][3]
    ci = {"mean": 0.91234, "ci95_low": 0.8876, "ci95_high": 0.9371, "n": 30}
    one = {"code": report["by_district"][5]["code"], "mean": 0.5, "ci95_low": None, "n": 1}
    ranking = {"districts": [{"code": d["code"], "name": d["name"], **ci}, one]}
    replicated = {**report, "ranking": ranking}
    compliance = parse(render_html(replicated, shapes)).maps["compliance"]
    assert compliance[d["code"]]["title"].endswith(
        "; mean 91.2%, 95% CI 88.7% to 93.7% over 30 replications"
    )
    for other in (report["by_district"][4]["code"], one["code"]):  # no interval, or one draw
        assert "95% CI" not in compliance[other]["title"]


def test_no_outlines_or_unknown_districts_give_a_note(report: dict[str, Any]) -> None:
    assert "No maps: no district outlines could be read" in render_html(report, None)
    only = load_shapes()
    partial = MapShapes(
        only.width,
        only.height,
        {c: p for c, p in only.paths.items() if c != "500103"},
        only.names,
    )
    page = render_html(report, partial)
    assert "No maps: the district outlines have no shape for 500103." in page
    assert 'data-map="' not in page.split('id="maps"')[1].split("</section>")[0]


def test_the_comparison_maps_the_difference(report: dict[str, Any], shapes: MapShapes) -> None:
    better = json.loads(json.dumps(report))
    first = better["by_district"][0]
    first["within_target_share"] = round(min(1.0, first["within_target_share"] + 0.2), 6)
    worse = better["by_district"][1]
    worse["within_target_share"] = round(max(0.0, worse["within_target_share"] - 0.2), 6)
    dropped = better["by_district"].pop(2)
    page = parse(render_comparison(report, better, ("a", "b"), shapes))
    cells = page.maps["difference"]
    assert sorted(cells) == sorted(shapes.paths)
    for d, sign in ((first, 1), (worse, -1)):
        use = cells[d["code"]]
        was = next(x for x in report["by_district"] if x["code"] == d["code"])
        difference = round(d["within_target_share"] - was["within_target_share"], 6)
        assert sign * difference > 0.1
        assert json.loads(use["data-difference"]) == difference
        assert json.loads(use["data-a"]) == was["within_target_share"]
        assert f"B - A {difference * 100:+.1f} points" in use["title"]
    assert cells[first["code"]]["fill"] in PUOR[4:]  # purple: B did better
    assert cells[worse["code"]]["fill"] in PUOR[:3]  # orange: B did worse
    unchanged = report["by_district"][5]["code"]
    assert cells[unchanged]["fill"] == PUOR[3]
    assert cells[dropped["code"]]["fill"] == NO_DATA
    assert "not in run B" in cells[dropped["code"]]["title"]


@pytest.fixture(scope="module")
def rendered(city_run: Path) -> Page:
    return open_page((city_run / "report.html").as_uri())


def test_chromium_renders_every_map_without_console_messages(
    rendered: Page, report: dict[str, Any]
) -> None:
    assert rendered.console == []
    page = parse(rendered.dom)
    assert list(page.maps) == MAPS
    assert all(len(districts) == 38 for districts in page.maps.values())
    assert len(page.outlines) == 38
    yuzhong = next(d for d in report["by_district"] if d["code"] == "500103")
    title = page.maps["compliance"]["500103"]["title"]
    assert title.startswith(f"{yuzhong['name']} (500103): ")
    assert floor_share(yuzhong["within_target_share"]) in title


def test_chromium_renders_the_comparison_map(
    city_run: Path, tmp_path: Path, report: dict[str, Any]
) -> None:
    out = tmp_path / "compare"
    result = CliRunner().invoke(app, ["compare", str(city_run), str(city_run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rendered = open_page((out / "comparison.html").as_uri())
    assert rendered.console == []
    cells = parse(rendered.dom).maps["difference"]
    assert len(cells) == 38
    assert {json.loads(c["data-difference"]) for c in cells.values()} == {0.0}


def test_an_older_report_json_draws_the_maps_it_has_figures_for(
    report: dict[str, Any], shapes: MapShapes
) -> None:
    older = json.loads(json.dumps(report))
    older.pop("hazard_by_district")
    for d in older["by_district"]:
        del d["acknowledged_within_s"], d["risk_points"]
    assert list(parse(render_html(older, shapes)).maps) == ["compliance"]


def test_a_storm_alike_everywhere_is_one_sentence_not_two_maps_of_one_colour(
    city_run: Path, shapes: MapShapes
) -> None:
    report = json.loads((city_run / "report.json").read_text(encoding="utf-8"))
    alike = [
        {**h, "rainfall_mm": 303.0, "outage_peak_share": 0.1944}
        for h in report["hazard_by_district"]
    ]
    html = render_html({**report, "hazard_by_district": alike}, shapes)
    page = parse(html)
    assert "rainfall" not in page.maps
    assert "outage" not in page.maps
    assert "Alike in every district: 303.0 mm of rain over the storm, 19.4% of cell sites" in html
    assert "rainfall" in parse(render_html(report, shapes)).maps  # it varied: maps
