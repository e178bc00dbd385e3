"""alertsim serve: runs listing, report view, starting a run, its progress stream, bad uploads."""

from __future__ import annotations

import asyncio
import csv
import gzip
import json
import re
import shutil
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, FormData, web
from aiohttp.test_utils import TestClient
from yarl import URL

from simulation.experiment.virtual import run_virtual
from simulation.report.build import build_report
from simulation.scenario import load_scenario
from simulation.serve.app import create_app

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = ROOT / "scenarios"
SMOKE = SCENARIOS / "smoke-one-town.yaml"

TOKEN = "test-token"
AUTH = {"X-Alertsim-Token": TOKEN}
Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]


@pytest.fixture(scope="module")
def smoke_report() -> dict[str, Any]:
    return build_report(run_virtual(load_scenario(SMOKE)))


@pytest.fixture
def runs(tmp_path: Path, smoke_report: dict[str, Any]) -> Path:
    root = tmp_path / "runs"
    (root / "flood-a").mkdir(parents=True)
    (root / "flood-a" / "report.json").write_text(json.dumps(smoke_report), encoding="utf-8")
    (root / "empty").mkdir()
    return root


@pytest.fixture
async def client(aiohttp_client: Any, runs: Path) -> Client:
    made: Client = await aiohttp_client(create_app(runs, SCENARIOS, token=TOKEN))
    return made


async def _sse(client: Client, url: str) -> list[tuple[str, dict[str, Any]]]:
    """Read a Server-Sent Events stream to its end."""
    out = []
    async with client.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        text = await asyncio.wait_for(response.text(), timeout=120)
    for block in text.strip().split("\n\n"):
        event_line, data_line = block.split("\n")
        out.append(
            (event_line.removeprefix("event: "), json.loads(data_line.removeprefix("data: ")))
        )
    return out


async def test_lists_runs(client: Client) -> None:
    response = await client.get("/api/runs")
    assert response.status == 200
    listed = {r["name"]: r for r in (await response.json())["runs"]}
    assert set(listed) == {"flood-a", "empty"}
    assert listed["flood-a"]["status"] == "done"
    assert listed["flood-a"]["scenario"] == "smoke-one-town"
    assert listed["flood-a"]["verdict"][0].startswith("MISSED: universal notification")
    assert listed["empty"]["status"] == "empty"
    page = await (await client.get("/")).text()
    assert '<a href="/runs/flood-a">flood-a</a>' in page


async def test_shows_a_report_rendered_from_report_json(
    client: Client, smoke_report: dict[str, Any]
) -> None:
    response = await client.get("/runs/flood-a")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert 'id="verdict"' in page
    assert 'data-chart="notification-cdf"' in page
    raw = await client.get("/runs/flood-a/report.json")
    assert await raw.json() == smoke_report


async def test_prefers_the_runs_own_report_html(client: Client, runs: Path) -> None:
    (runs / "flood-a" / "report.html").write_text("<p>kept as written</p>", encoding="utf-8")
    assert await (await client.get("/runs/flood-a")).text() == "<p>kept as written</p>"


async def test_unknown_runs_are_404_and_traversal_is_refused(
    client: Client, runs: Path, tmp_path: Path
) -> None:
    for url in ("/runs/nope", "/runs/empty", "/runs/nope/report.json", "/api/runs/nope/events"):
        response = await client.get(url)
        assert response.status == 404, url
    assert (await (await client.get("/runs/nope")).json())["error"].startswith("run 'nope'")
    assert (await client.get("/jobs/nope")).status == 404
    for url in ("/runs/%2E%2E", "/runs/..%2Fetc", "/runs/%2E%2E/report.json"):
        # encoded=True: sent as written, not normalised by the client first
        response = await client.get(URL(url, encoded=True))
        assert response.status == 400, url
        assert "run name: expected" in (await response.json())["error"]
    # a link leading out of runs/ is not served either
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "report.json").write_text("{}", encoding="utf-8")
    (runs / "escape").symlink_to(outside)
    assert (await client.get("/runs/escape/report.json")).status == 404


async def test_a_bad_scenario_upload_is_answered_with_400_and_every_error(client: Client) -> None:
    form = FormData()
    form.add_field("scenario", b"name: bad one\nseed: -1\n", filename="mine.yaml")
    response = await client.post("/api/runs", data=form, headers=AUTH)
    assert response.status == 400
    errors = (await response.json())["errors"]
    assert "mine.yaml: scenario.seed: expected greater than or equal to 0, got -1" in errors
    assert any(e.startswith("mine.yaml: scenario.name: expected") for e in errors)
    assert "mine.yaml: scenario.strategy: expected this field, got nothing (field required)" in (
        errors
    )
    garbage = await client.post("/api/runs", data=b"[unclosed", headers=AUTH)
    assert garbage.status == 400
    assert (await garbage.json())["errors"][0].startswith("scenario.yaml: expected valid YAML")
    # nothing was left behind in the scenarios folder
    assert not list(SCENARIOS.glob(".upload-*"))


async def test_starts_a_run_and_streams_its_progress(
    client: Client, runs: Path, smoke_report: dict[str, Any]
) -> None:
    form = FormData()
    form.add_field("scenario", SMOKE.read_bytes(), filename="smoke-one-town.yaml")
    response = await client.post("/api/runs", data=form, headers=AUTH)
    assert response.status == 202
    started = await response.json()
    assert started["name"] == "smoke-one-town-1"

    events = await _sse(client, started["events"])
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done"
    assert set(kinds[:-1]) == {"progress"}
    progress = [data for kind, data in events if kind == "progress"]
    assert len(progress) >= 2
    times = [p["now_s"] for p in progress]
    assert times == sorted(times)
    assert all(0.0 <= p["acknowledged_share"] <= 1.0 for p in progress)
    # the run reached everyone it ever reaches: its last point is the report's final share
    final_share = (
        smoke_report["notification"]["acknowledged"] / smoke_report["notification"]["targeted"]
    )
    assert progress[-1]["acknowledged_share"] == pytest.approx(final_share)
    assert events[-1][1]["verdict"] == smoke_report["verdict"]

    # a viewer arriving after the end gets the whole curve and the outcome
    assert await _sse(client, started["events"]) == events
    written = json.loads((runs / "smoke-one-town-1" / "report.json").read_text(encoding="utf-8"))
    assert written["notification"] == smoke_report["notification"]
    # the folder `alertsim run` writes, audit records included: one row per recipient targeted
    with gzip.open(runs / "smoke-one-town-1" / "records.csv.gz", "rt", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == smoke_report["notification"]["targeted"]
    assert (runs / "smoke-one-town-1" / "report.html").is_file()
    listed = {r["name"]: r for r in (await (await client.get("/api/runs")).json())["runs"]}
    assert listed["smoke-one-town-1"]["status"] == "done"
    live = await (await client.get(started["page"])).text()
    assert "EventSource" in live
    second = await client.post("/api/runs", data=SMOKE.read_bytes(), headers=AUTH)
    assert (await second.json())["name"] == "smoke-one-town-2"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_the_serve_pages_render_in_a_browser_without_console_errors(runs: Path) -> None:
    browser = pytest.importorskip("tests.support.browser")
    if shutil.which("chromium") is None and shutil.which("chromium-browser") is None:
        pytest.skip("chromium is not installed (make test installs it)")
    app = create_app(runs, SCENARIOS, token=TOKEN)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        index = await asyncio.to_thread(browser.open_page, f"http://127.0.0.1:{port}/")
        assert index.console == []
        assert 'href="/runs/flood-a"' in index.dom
        assert 'id="upload"' in index.dom
        report = await asyncio.to_thread(browser.open_page, f"http://127.0.0.1:{port}/runs/flood-a")
        assert report.console == []
        assert 'data-chart="notification-cdf"' in report.dom
        # the live page of a run: its script draws the curve from the stream and links the report
        async with ClientSession() as session:
            posted = await session.post(
                f"http://127.0.0.1:{port}/api/runs", data=SMOKE.read_bytes(), headers=AUTH
            )
            started = await posted.json()
            async with session.get(f"http://127.0.0.1:{port}{started['events']}") as stream:
                await stream.read()  # until the run is done, so the page sees the whole story
        live = await asyncio.to_thread(
            browser.open_page, f"http://127.0.0.1:{port}{started['page']}"
        )
        assert live.console == []
        assert '<a href="/runs/smoke-one-town-1">full report</a>' in live.dom
        curve = re.search(r'<polyline id="curve"[^>]*>', live.dom)
        assert curve is not None
        assert re.search(r'points="[0-9]', curve.group(0)), curve.group(0)[:200]
        assert live.dom.count('stroke-dasharray="4 3"') == 2  # the 3- and 15-minute lines
    finally:
        await runner.cleanup()
