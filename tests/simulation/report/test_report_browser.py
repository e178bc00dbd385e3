"""report.html in a real browser: Chromium draws the charts and verdict, logs no console errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulation.cli import app
from tests.support.browser import Page, open_page
from tests.support.scenarios import load


@pytest.fixture(scope="module")
def page(run_dir: Path) -> Page:
    return open_page((run_dir / "report.html").as_uri())


def test_the_browser_draws_every_chart(page: Page) -> None:
    charts = re.findall(r'<svg [^>]*data-chart="([^"]+)"', page.dom)
    assert charts[:6] == [
        "notification-cdf",
        "ack-share-over-time",
        "response-cdf",
        "latency-budget",
        "episode-timeline",
        "district-compliance",
    ]
    # the staircases and bars made it into the rendered document
    assert page.dom.count("<polyline") >= 5
    assert page.dom.count('data-segment="') >= 8
    # the warning's timeline: its one Alert, marked where it was issued
    assert re.findall(r'data-message="(\w+)"', timeline_of(page)) == ["Alert"]


def timeline_of(page: Page) -> str:
    timeline = page.dom[page.dom.index('data-chart="episode-timeline"') :]
    return timeline[: timeline.index("</svg>")]


def test_the_browser_draws_an_episode_issued_updated_and_cancelled(tmp_path: Path) -> None:
    """Orange after 10 min, red after 20 (an Update), below orange after 3 h 20 min (a Cancel)."""
    load(
        tmp_path,
        hazard={
            "step_s": 600,
            "rainfall_mm": {"default": [60, 50] + [0] * 20},
            "alert_level": "orange",
            "scope": "district",
        },
        channels={"app_push": {"missed": 0.5}},
        alert={"expires_s": 20000},
    )
    out = tmp_path / "run"
    args = ["run", str(tmp_path / "scenario.yaml"), "-q", "--replications", "1", "--out", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0
    page = open_page((out / "report.html").as_uri())
    assert page.console == []
    timeline = timeline_of(page)
    assert re.findall(r'data-message="(\w+)"', timeline) == ["Alert", "Update", "Cancel"]
    assert "<circle" in timeline
    assert "<polygon" in timeline  # the Update's triangle
    assert "<path" in timeline  # the Cancel's cross
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    alert, update, _ = report["episodes"][0]["messages"]
    assert f"Alert {alert['acknowledged_share']:.0%}</text>" in timeline
    assert f"Update {update['acknowledged_share']:.0%}</text>" in timeline
    assert alert["acknowledged_share"] < 1.0  # some carried on into the Update


def test_the_browser_shows_the_verdict_first(page: Page, run_dir: Path) -> None:
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    verdict_at = page.dom.index('id="verdict"')
    assert verdict_at < page.dom.index('data-chart="notification-cdf"')
    for sentence in report["verdict"]:
        word, _, rest = sentence.partition(":")
        assert f"<b>{word}</b>:{rest}" in page.dom


def test_the_page_logs_no_console_messages(page: Page) -> None:
    assert page.console == []


def test_console_errors_are_caught(tmp_path: Path) -> None:
    # the check above could pass vacuously if console messages were never read
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>console.error('boom'); nope();</script></body></html>")
    messages = open_page(broken.as_uri()).console
    assert any("boom" in m for m in messages)
    assert any("nope is not defined" in m for m in messages)
