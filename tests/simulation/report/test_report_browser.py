"""report.html in a real browser: Chromium draws the charts and verdict, logs no console errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.browser import Page, open_page


@pytest.fixture(scope="module")
def page(run_dir: Path) -> Page:
    return open_page((run_dir / "report.html").as_uri())


def test_the_browser_draws_every_chart(page: Page, run_dir: Path) -> None:
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
    # the warning's timeline: its Alert and its Cancel, each marked where it was issued
    timeline = page.dom[page.dom.index('data-chart="episode-timeline"') :]
    timeline = timeline[: timeline.index("</svg>")]
    assert re.findall(r'data-message="(\w+)"', timeline) == ["Alert", "Cancel"]
    assert "<circle" in timeline
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    share = report["episodes"][0]["messages"][0]["acknowledged_share"]
    assert f"Alert {share:.0%}</text>" in timeline


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
