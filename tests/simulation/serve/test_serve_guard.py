"""alertsim serve under attack: paths outside the roots, no token, cross-site and foreign-Host
requests, a burst of runs, a big upload, and workers that end without a word (issue 12)."""

from __future__ import annotations

import asyncio
import queue
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient

from simulation.scenario import LoadedScenario, load_scenario
from simulation.serve import app as serve_app
from simulation.serve import jobs
from simulation.serve.app import create_app
from simulation.serve.guard import load_or_create_token
from simulation.serve.jobs import Job, drain

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "config"
SMOKE = ROOT / "scenarios" / "smoke-one-town.yaml"
TOKEN = "guard-test-token"
AUTH = {"X-Alertsim-Token": TOKEN}

Client = TestClient[web.Request, web.Application]


def smoke_with(**topology: Any) -> bytes:
    data = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    data["topology"] = {**data["topology"], "path": str(CONFIG / "topology" / "chongqing.yaml")}
    data["topology"].update(topology)
    data["provenance"] = {**data["provenance"], "sources": str(CONFIG / "sources.yaml")}
    return yaml.safe_dump(data).encode()


def overflowing() -> bytes:
    """The smoke scenario with a lognormal of median 1e300 (its draws overflow a float)."""
    data = yaml.safe_load(smoke_with())
    data["tiers"]["municipal"]["processing_s"] = {
        "kind": "lognormal",
        "median": 1e300,
        "p90": 2e300,
    }
    return yaml.safe_dump(data).encode()


@pytest.fixture
def scenarios(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    return folder


async def make_client(aiohttp_client: Any, tmp_path: Path, scenarios: Path, **kw: Any) -> Client:
    (tmp_path / "runs").mkdir(exist_ok=True)
    app = create_app(tmp_path / "runs", scenarios, token=TOKEN, topology_root=CONFIG, **kw)
    made: Client = await aiohttp_client(app)
    return made


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path, scenarios: Path) -> Client:
    return await make_client(aiohttp_client, tmp_path, scenarios)


async def test_paths_outside_the_roots_are_refused_without_echo(
    client: Client, tmp_path: Path, scenarios: Path
) -> None:
    key = tmp_path / "server.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n", encoding="utf-8")
    (scenarios / "innocent.yaml").symlink_to(key)
    for written in ("/etc/passwd", str(key), "../server.pem", "innocent.yaml", "/dev/zero"):
        response = await client.post("/api/runs", data=smoke_with(path=written), headers=AUTH)
        assert response.status == 400, written
        [error] = (await response.json())["errors"]
        assert error.startswith("scenario.yaml: scenario.topology.path: expected a path inside ")
        assert error.endswith(f"got {written!r}")
        for secret in ("root:", "BEGIN", "MIIE"):
            assert secret not in error
    assert not list((tmp_path / "runs").iterdir())


async def test_hostile_uploads_get_400_and_one_line(client: Client, scenarios: Path) -> None:
    (scenarios / "binary.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    cases = {
        b"seed: " + b"[" * 600 + b"]" * 600: "nesting deeper than 64 levels",
        b"name: !!python/object/apply:os.system [ls]": "unknown tag",
        b"name: a\nname: b\n": "duplicate key 'name'",
        smoke_with(path="binary.yaml"): "expected UTF-8 text",
        overflowing(): "largest draw and mean",
    }
    for body, expected in cases.items():
        response = await client.post("/api/runs", data=body, headers=AUTH)
        assert response.status == 400, expected
        errors = (await response.json())["errors"]
        assert any(expected in e for e in errors), errors
        assert all("\n" not in e and "Traceback" not in e for e in errors)


async def test_state_changes_need_the_token(client: Client, tmp_path: Path) -> None:
    for headers in ({}, {"X-Alertsim-Token": "wrong"}, {"Authorization": "Bearer wrong"}):
        response = await client.post("/api/runs", data=SMOKE.read_bytes(), headers=headers)
        assert response.status == 401
        assert "X-Alertsim-Token: expected the token" in (await response.json())["error"]
    assert not list((tmp_path / "runs").iterdir())
    # the token read from the page it was shown on, then sent as the script sends it
    shown = await client.get(f"/?token={TOKEN}")
    assert f'const token = "{TOKEN}"' in await shown.text()
    cookie = shown.cookies["alertsim_token"]
    assert (cookie.value, cookie["samesite"], cookie["httponly"]) == (TOKEN, "Strict", True)
    assert f'const token = "{TOKEN}"' in await (await client.get("/")).text()  # by cookie
    client.session.cookie_jar.clear()
    assert TOKEN not in await (await client.get("/")).text()  # a viewer never shown it
    assert TOKEN not in await (await client.get("/?token=guess")).text()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert (await client.post("/api/runs", data=b"[", headers=bearer)).status == 400


async def test_cross_site_and_foreign_host_requests_are_refused(
    client: Client, tmp_path: Path
) -> None:
    # what a page on evil.example can make a browser send: a "simple" text/plain POST
    simple = {"Content-Type": "text/plain", "Origin": "http://evil.example"}
    refused = [
        ({**simple, "Host": "evil.example"}, 421, "Host: expected one of"),
        ({**simple, **AUTH}, 403, "Origin: expected this server"),
        ({**AUTH, "Sec-Fetch-Site": "cross-site"}, 403, "Sec-Fetch-Site"),
        ({**AUTH, "Host": "rebound.example:8080"}, 421, "Host: expected one of"),
    ]
    for headers, status, error in refused:
        response = await client.post("/api/runs", data=SMOKE.read_bytes(), headers=headers)
        assert response.status == status, headers
        assert error in (await response.json())["error"]
    # reading is refused too under a foreign Host (a DNS-rebinding page reads nothing)
    assert (await client.get("/api/runs", headers={"Host": "evil.example"})).status == 421
    assert not list((tmp_path / "runs").iterdir())
    same_origin = {**AUTH, "Origin": str(client.make_url("/")).rstrip("/")}
    assert (await client.post("/api/runs", data=b"[", headers=same_origin)).status == 400


async def test_the_thirteenth_of_thirteen_parallel_runs_gets_429(
    aiohttp_client: Any, tmp_path: Path, scenarios: Path
) -> None:
    client = await make_client(aiohttp_client, tmp_path, scenarios, max_concurrent=2)
    body = smoke_with()
    replies = await asyncio.gather(
        *(client.post("/api/runs", data=body, headers=AUTH) for _ in range(13))
    )
    statuses = sorted(r.status for r in replies)
    assert statuses == [202] * 12 + [429]
    [full] = [r for r in replies if r.status == 429]
    assert full.headers["Retry-After"] == "30"
    assert "at most 2 running and 10 waiting" in (await full.json())["error"]
    jobs = client.app[serve_app.JOBS]
    assert len(jobs) == 12
    # never more than two worker processes at once: the others wait their turn (or are done)
    states = [job.status for job in jobs.values()]
    assert states.count("running") <= 2
    assert sum(job.process is not None for job in jobs.values()) <= 2 + states.count("done")


async def test_an_upload_is_parsed_off_the_event_loop(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()

    def slow_load(path: Path, **kw: Any) -> LoadedScenario:
        started.set()
        release.wait(60)
        return load_scenario(path, **kw)

    monkeypatch.setattr(serve_app, "load_scenario", slow_load)
    big = smoke_with() + b"# " + b"x" * (1024 * 1024) + b"\n"  # a 1 MB upload
    upload = asyncio.create_task(client.post("/api/runs", data=big, headers=AUTH))
    assert await asyncio.to_thread(started.wait, 60)
    # the loader is parked on its thread: the loop still answers
    listing = await asyncio.wait_for(client.get("/api/runs"), 60)
    assert listing.status == 200
    assert not upload.done()
    release.set()
    assert (await upload).status == 202


async def test_stale_uploads_are_cleared_on_start(
    aiohttp_client: Any, tmp_path: Path, scenarios: Path
) -> None:
    (scenarios / ".upload-0123456789abcdef.tmp").write_bytes(b"half an upload")
    (scenarios / "kept.yaml").write_bytes(b"name: kept\n")
    await make_client(aiohttp_client, tmp_path, scenarios)
    assert sorted(p.name for p in scenarios.iterdir()) == ["kept.yaml"]


def test_the_token_is_made_once_and_kept_private(tmp_path: Path) -> None:
    token, created = load_or_create_token(tmp_path / "state")
    assert created
    assert len(token) >= 40
    mode = (tmp_path / "state" / "token").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert load_or_create_token(tmp_path / "state") == (token, False)


class DeadWorker:
    """A worker that has just exited: its last message lands as it is seen dead."""

    def __init__(self, events: queue.Queue[Any], exitcode: int, last: Any = None) -> None:
        self.events, self.exitcode, self.last = events, exitcode, last

    def is_alive(self) -> bool:
        if self.last is not None:
            self.events.put(self.last)
        return False


async def test_a_finished_run_is_never_reported_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "FINAL_DRAIN_S", 0.05)  # nothing more is coming in these cases
    events: queue.Queue[Any] = queue.Queue()
    done = Job(name="a-1", scenario="a", out_dir=tmp_path)
    done.process = DeadWorker(events, 0, ("done", {"verdict": ["MET"]}))
    await drain(done, events)
    assert (done.status, done.result) == ("done", {"verdict": ["MET"]})
    # said nothing but wrote its report: done, with the report's verdict
    (tmp_path / "report.json").write_text('{"verdict": ["MISSED"]}', encoding="utf-8")
    quiet = Job(name="a-2", scenario="a", out_dir=tmp_path)
    quiet.process = DeadWorker(events, 0)
    await drain(quiet, events)
    assert (quiet.status, quiet.result) == ("done", {"verdict": ["MISSED"]})
    killed = Job(name="a-3", scenario="a", out_dir=tmp_path / "none")
    killed.process = DeadWorker(events, -9)
    await drain(killed, events)
    assert killed.status == "failed"
    assert killed.result == {"error": "worker was killed by SIGKILL before reporting an outcome"}


async def test_metrics_count_runs_and_refusals(client: Client) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    await client.post("/api/runs", data=b"x")  # no token
    await client.post("/api/runs", data=b"[", headers=AUTH)  # bad scenario
    await client.post("/api/runs", data=b"x", headers={**AUTH, "Origin": "http://evil.example"})
    await client.get("/", headers={"Host": "evil.example"})
    reply = await client.get("/metrics")  # read-only: no token needed
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(await reply.text())
        for s in family.samples
    }
    for reason in ("token", "bad_scenario", "origin", "host"):
        assert samples[("alertsim_serve_refused_total", (("reason", reason),))] == 1, reason
    assert samples[("alertsim_serve_runs_started_total", ())] == 0
    assert samples[("alertsim_serve_runs", (("status", "running"),))] == 0
    assert samples[("alertsim_serve_max_running", ())] == 2


async def test_metrics_without_the_extra_say_what_to_install(
    aiohttp_client: Any, tmp_path: Path, scenarios: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simulation import extras

    monkeypatch.setattr(extras, "find_spec", lambda name: None)
    client = await make_client(aiohttp_client, tmp_path, scenarios)
    reply = await client.get("/metrics")
    assert reply.status == 501
    assert "pip install 'alertsim[metrics]'" in (await reply.json())["error"]
