"""report.html says what report.json says: tagged figures, visible text, embedded data."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from simulation.report.headline import lookup
from simulation.report.html import render_html
from simulation.report.html_episodes import timeline


class ReportParser(HTMLParser):
    """Collects tagged figures (key, value, visible text), chart names, section ids, verdicts."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[tuple[str, Any, str]] = []
        self.charts: list[str] = []
        self.sections: list[str] = []
        self.verdicts: list[str] = []
        self.embedded = ""
        self._open: list[tuple[str, str, Any, list[str]]] = []  # tag, key, value, text parts
        self._in_data = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg" and a.get("data-chart"):
            self.charts.append(a["data-chart"] or "")
        if tag == "section" and a.get("id"):
            self.sections.append(a["id"] or "")
        if tag == "script" and a.get("id") == "report-data":
            self._in_data = True
        # a map's districts are tagged too, their text a hover title: test_report_maps reads them
        if a.get("data-key") and tag != "use":
            value = json.loads(a["data-value"] or "null") if "data-value" in a else None
            self._open.append((tag, a["data-key"] or "", value, []))

    def handle_endtag(self, tag: str) -> None:
        self._in_data = False
        if self._open and self._open[-1][0] == tag:
            _, key, value, text = self._open.pop()
            if key.startswith("verdict."):
                self.verdicts.append("".join(text))
            else:
                self.figures.append((key, value, "".join(text)))

    def handle_data(self, data: str) -> None:
        if self._in_data:
            self.embedded += data
        for _, _, _, text in self._open:
            text.append(data)


Parsed = tuple[ReportParser, dict[str, Any]]


def visible_number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


@pytest.fixture(scope="module")
def parsed(run_dir: Path) -> Parsed:
    parser = ReportParser()
    parser.feed((run_dir / "report.html").read_text(encoding="utf-8"))
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    return parser, report


def test_every_tagged_figure_equals_report_json_and_reads_the_same(parsed: Parsed) -> None:
    parser, report = parsed
    assert len(parser.figures) > 100
    for key, value, text in parser.figures:
        assert value == lookup(report, key), key
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if text.endswith("%"):  # floored, never rounded up to a target
            floored = math.floor(round(value * 1000, 6)) / 10
            assert visible_number(text) == pytest.approx(floored), (key, text)
        elif text.endswith(" s"):
            assert visible_number(text) == pytest.approx(round(value, 1)), (key, text)
        else:
            assert visible_number(text) == value, (key, text)


def test_the_headline_and_chart_figures_are_all_shown(parsed: Parsed) -> None:
    parser, report = parsed
    keys = {key for key, _, _ in parser.figures}
    for q in ("p50", "p95"):
        for hop in report["budget"]["hops"]:
            assert f"budget.{q}.hops_s.{hop}" in keys
    assert "notification.within_target_share" in keys
    assert "response.within_target_share" in keys
    assert {
        f"by_district.{i}.within_target_share" for i in range(len(report["by_district"]))
    } <= keys
    assert {f"notification.flagged.{cause}" for cause in report["notification"]["flagged"]} <= keys
    assert {f"transport.{name}" for name in report["transport"]} <= keys
    for i, tier in enumerate(report["queues"]["by_tier"]):
        assert {f"queues.by_tier.{i}.utilisation", f"queues.by_tier.{i}.alert.p_wait"} <= keys
        assert {f"queues.by_tier.{i}.busiest.{j}.code" for j in range(len(tier["busiest"]))} <= keys
    for i in range(len(report["alerts"])):  # each alert's length on the channels
        assert {f"alerts.{i}.sms.segments", f"alerts.{i}.script.read_s"} <= keys
    assert "channels.sms.segments" in keys


def test_verdict_comes_first_then_the_charts_in_order(parsed: Parsed) -> None:
    parser, report = parsed
    assert parser.verdicts == report["verdict"]
    assert parser.sections[0] == "verdict"
    assert parser.sections[1:] == [
        "notification",
        "over-time",
        "response",
        "budget",
        "episodes",
        "maps",
        "districts",
        "ranking",  # the default run has replications
        "towns",
        "channels",
        "queues",
        "flagged",
        "transport",
        "assumptions",
        "metadata",
    ]
    assert parser.charts[:6] == [
        "notification-cdf",
        "ack-share-over-time",
        "response-cdf",
        "latency-budget",
        "episode-timeline",
        "district-compliance",
    ]


def test_the_embedded_report_data_is_report_json(parsed: Parsed) -> None:
    parser, report = parsed
    assert json.loads(parser.embedded) == report


def test_chart_series_are_drawn_from_report_json(run_dir: Path, parsed: Parsed) -> None:
    _, report = parsed
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    cdf_chart = re.search(r'<svg [^>]*data-chart="notification-cdf".*?</svg>', page)
    assert cdf_chart is not None
    drawn = set(re.findall(r'data-series="([^"]+)"', cdf_chart.group(0)))
    assert drawn == {t["tier"] for t in report["by_tier"]} | {"all tiers"}
    # a staircase has two vertices per CDF point plus its start and end
    for tier in report["cdf"]["notification"]:
        name = "all tiers" if tier == "all" else tier
        line = re.search(rf'data-series="{name}"[^>]*points="([^"]+)"', cdf_chart.group(0))
        assert line is not None
        assert len(line.group(1).split()) == 2 * len(report["cdf"]["notification"][tier]) + 2


def test_replication_intervals_are_shown_when_present(parsed: Parsed) -> None:
    _, report = parsed
    with_ci = dict(report)
    with_ci["replications"] = {
        "notification.within_target_share": {
            "mean": 0.42,
            "ci95_low": 0.375,
            "ci95_high": 0.465,
            "n": 30,
        },
        "notification.latency_s.p95": {
            "mean": 400.5,
            "ci95_low": 380.0,
            "ci95_high": 421.0,
            "n": 30,
        },
    }
    parser = ReportParser()
    parser.feed(render_html(with_ci))
    shown = {key: text for key, _, text in parser.figures}
    assert shown["replications.notification.within_target_share.ci95_low"] == "37.5%"
    assert shown["replications.notification.latency_s.p95.ci95_high"] == "421.0 s"
    assert "replications.notification.latency_s.p95.mean" in shown


def test_run_writes_the_three_files(run_dir: Path) -> None:
    assert {p.name for p in run_dir.iterdir()} >= {"report.json", "report.html", "records.csv.gz"}
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    # self-contained: nothing to fetch, nothing to execute
    assert not re.search(r"<script(?![^>]*application/json)", page)
    assert not re.search(r'src="(https?:)?//', page)
    assert not re.search(r'<link[^>]*href="(https?:)?//', page)
    # the only external addresses are links to the sources a reader may follow
    for tag in re.findall(r'<[a-z]+[^>]*href="(?:https?:)?//[^>]*>', page):
        assert tag.startswith("<a "), tag


def test_an_older_report_without_chart_figures_still_renders(parsed: Parsed) -> None:
    _, report = parsed
    dropped = ("cdf", "ack_share_over_time", "budget", "episodes", "messages")
    older = {k: v for k, v in report.items() if k not in dropped}
    parser = ReportParser()
    parser.feed(render_html(older))
    assert parser.verdicts == report["verdict"]
    assert parser.charts == ["district-compliance", "escalations"]
    assert parser.sections[1:5] == ["notification", "over-time", "response", "budget"]


def test_the_episode_timeline_shows_each_message_and_its_figures(parsed: Parsed) -> None:
    parser, report = parsed
    keys = {key for key, _, _ in parser.figures}
    # the smoke storm: red after 2 h; below red after 6 h, but its alert expired after 3 h: the
    # warning lapsed, no Cancel
    assert [(m["msg_type"], m["issued_at_s"]) for m in report["messages"]] == [("Alert", 7200.0)]
    for i in range(len(report["messages"])):
        assert {f"messages.{i}.targeted", f"messages.{i}.acknowledged"} <= keys
        assert {f"messages.{i}.superseded", f"messages.{i}.latency_s.p50"} <= keys
    assert {"episode_latency_s.p50", "episode_latency_s.max", "notification.superseded"} <= keys
    [episode] = report["episodes"]
    assert episode["latency_s"] == report["episode_latency_s"]["max"]
    assert episode["latency_s"] == pytest.approx(
        report["notification"]["latency_s"]["max"], abs=1e-3
    )  # one alert: its last acknowledgement is the episode's


def test_the_subtitle_counts_the_messages_in_words(run_dir: Path, parsed: Parsed) -> None:
    _, report = parsed
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert len(report["messages"]) == 1
    assert "; 1 message to " in html
    two = {**report, "alerts": report["alerts"] * 2}
    assert "; 2 messages to " in render_html(two)


def test_the_episode_timeline_starts_at_the_first_alert_and_names_districts(
    parsed: Parsed,
) -> None:
    _, report = parsed
    drawn = timeline(report)
    [episode] = report["episodes"]
    name = {d["code"]: d["name"] for d in report["by_district"]}[episode["district"]]
    assert f">{name} from 2 h</text>" in drawn
    assert "time since the first alert, issued at 2 h of model time" in drawn
    # the "0 s" tick stands where the Alert is marked, not at model time 0 (2 h to the left)
    zero_tick = re.search(r'<line x1="([\d.]+)"[^>]*/><text x="\1"[^>]*>0 s</text>', drawn)
    alert_mark = re.search(r'<circle cx="([\d.]+)"', drawn)
    assert zero_tick is not None
    assert alert_mark is not None
    assert float(zero_tick.group(1)) == pytest.approx(float(alert_mark.group(1)), abs=0.1)
