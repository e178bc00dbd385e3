"""`alertsim serve`: an aiohttp app that lists runs, shows reports, and starts and watches runs.

It lives in simulation/ rather than dispatcher/api because it runs the SimPy model
(`run_virtual`), and dispatcher never imports simulation. Each started run gets its own spawned
process, so a city-scale model never blocks the event loop; the process reports progress over a
multiprocessing queue, which one task per run drains into the run's history and its Server-Sent
Events subscribers. A late subscriber first gets the history, so every viewer sees the whole curve.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import queue as queue_module
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from aiohttp import web

from simulation.scenario import MAX_SCENARIO_BYTES, LoadedScenario, ScenarioError, load_scenario

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$")
QUEUE_POLL_S = 0.2


@dataclass
class Job:
    """One run started from the server, and everything a viewer needs to follow it."""

    name: str
    scenario: str
    status: str = "running"  # running | done | failed
    points: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    subscribers: set[asyncio.Queue[tuple[str, dict[str, Any]]]] = field(default_factory=set)
    process: Any = None
    task: asyncio.Task[None] | None = None

    def publish(self, event: str, data: dict[str, Any]) -> None:
        for subscriber in self.subscribers:
            subscriber.put_nowait((event, data))


RUNS_ROOT = web.AppKey("runs_root", Path)
SCENARIO_DIR = web.AppKey("scenario_dir", Path)
JOBS = web.AppKey("jobs", dict[str, Job])


# --- the worker process ------------------------------------------------------------------------


def _job_main(loaded: LoadedScenario, out_dir: str, events: Any) -> None:
    """Run one replication in a spawned process, sending progress and the outcome on `events`."""
    try:
        from simulation.experiment.folder import finish_run
        from simulation.experiment.virtual import Progress, run_virtual

        def progress(p: Progress) -> None:
            events.put(
                (
                    "progress",
                    {
                        "now_s": p.now_s,
                        "acknowledged_share": p.acknowledged_share,
                        "alerts_issued": p.alerts_issued,
                    },
                )
            )

        # the same folder as `alertsim run` writes: report.json, report.html, records.csv.gz
        report, _ = finish_run(run_virtual(loaded, progress=progress), Path(out_dir))
        events.put(("done", {"verdict": report["verdict"]}))
    except Exception as exc:  # the viewer must hear about any failure, whatever it is
        events.put(("failed", {"error": f"{type(exc).__name__}: {exc}"}))


async def _drain(job: Job, events: Any) -> None:
    """Move the worker's messages into the job until it reports an outcome or dies."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            event, data = await loop.run_in_executor(None, events.get, True, QUEUE_POLL_S)
        except queue_module.Empty:
            if job.process is not None and not job.process.is_alive():
                event, data = "failed", {"error": f"worker exited with {job.process.exitcode}"}
            else:
                continue
        if event == "progress":
            job.points.append(data)
        else:
            job.status = event
            job.result = data
        job.publish(event, data)
        if event != "progress":
            return


# --- helpers -----------------------------------------------------------------------------------


def _run_dir(request: web.Request) -> Path:
    """The run folder named in the URL; 400 for a name that could leave runs/, 404 if unknown."""
    name = request.match_info["name"]
    root = request.app[RUNS_ROOT].resolve()
    if not RUN_NAME.match(name) or ".." in name:
        raise web.HTTPBadRequest(
            text=json.dumps(
                {"error": f"run name: expected letters, digits, '.', '_', '-', got {name!r}"}
            ),
            content_type="application/json",
        )
    path = (root / name).resolve()
    if path.parent != root or not path.is_dir():
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"run {name!r}: expected a folder under {root}, found none"}),
            content_type="application/json",
        )
    return path


def _runs(app: web.Application) -> list[dict[str, Any]]:
    root = app[RUNS_ROOT]
    jobs = app[JOBS]
    out = []
    if root.is_dir():
        for path in sorted(p for p in root.iterdir() if p.is_dir() and RUN_NAME.match(p.name)):
            entry: dict[str, Any] = {
                "name": path.name,
                "report": (path / "report.json").is_file(),
                "html": (path / "report.html").is_file(),
            }
            job = jobs.get(path.name)
            entry["status"] = job.status if job else ("done" if entry["report"] else "empty")
            if entry["report"]:
                with contextlib.suppress(OSError, ValueError):
                    report = json.loads((path / "report.json").read_text(encoding="utf-8"))
                    entry["scenario"] = report.get("scenario")
                    entry["verdict"] = report.get("verdict", [])
            out.append(entry)
    return out


def _page(title: str, body: str, script: str = "") -> str:
    from simulation.report.style import CSS

    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<title>{escape(title)}</title><link rel=icon href="data:,"><style>{CSS}</style></head>'
        f"<body><main><h1>{escape(title)}</h1>{body}</main>"
        + (f"<script>{script}</script>" if script else "")
        + "</body></html>\n"
    )


# --- handlers ----------------------------------------------------------------------------------


async def index(request: web.Request) -> web.Response:
    rows = "".join(
        f'<tr><td><a href="/runs/{escape(r["name"])}">{escape(r["name"])}</a></td>'
        f"<td>{escape(r['status'])}</td>"
        f"<td>{escape(' '.join(r.get('verdict', [])) or '-')}</td></tr>"
        for r in _runs(request.app)
    )
    body = (
        '<section id="runs"><h2>Runs</h2><table><thead><tr><th>run</th><th>status</th>'
        f"<th>verdict</th></tr></thead><tbody>{rows}</tbody></table></section>"
        '<section id="start"><h2>Start a virtual run</h2>'
        '<form id="upload"><input type="file" name="scenario" accept=".yaml,.yml" required> '
        '<button type="submit">run</button></form><pre id="problems"></pre></section>'
    )
    script = """
document.getElementById('upload').addEventListener('submit', async (event) => {
  event.preventDefault();
  const reply = await fetch('/api/runs', {method: 'POST', body: new FormData(event.target)});
  const data = await reply.json();
  if (reply.ok) { window.location = data.page; }
  else {
    document.getElementById('problems').textContent = (data.errors || [data.error]).join('\\n');
  }
});"""
    return web.Response(text=_page("alertsim runs", body, script), content_type="text/html")


async def list_runs(request: web.Request) -> web.Response:
    return web.json_response({"runs": _runs(request.app)})


async def show_run(request: web.Request) -> web.Response:
    path = _run_dir(request)
    name = path.name
    job = request.app[JOBS].get(name)
    if job is not None and job.status == "running":
        raise web.HTTPFound(f"/jobs/{name}")
    if (path / "report.html").is_file():
        return web.Response(
            text=(path / "report.html").read_text(encoding="utf-8"), content_type="text/html"
        )
    if (path / "report.json").is_file():
        from simulation.geo.shapes import map_shapes
        from simulation.report.html import render_html

        report = json.loads((path / "report.json").read_text(encoding="utf-8"))
        html = render_html(report, map_shapes())
        return web.Response(text=html, content_type="text/html")
    raise web.HTTPNotFound(
        text=json.dumps({"error": f"run {name!r}: expected report.json, found none"}),
        content_type="application/json",
    )


async def run_json(request: web.Request) -> web.Response:
    path = _run_dir(request) / "report.json"
    if not path.is_file():
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"run {path.parent.name!r}: no report.json yet"}),
            content_type="application/json",
        )
    return web.Response(body=path.read_bytes(), content_type="application/json")


async def _read_upload(request: web.Request) -> tuple[str, bytes]:
    """(file name, bytes) from a multipart `scenario` field or a raw YAML body."""
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        field_ = form.get("scenario")
        if not isinstance(field_, web.FileField):
            raise ScenarioError(["upload: expected a multipart file field named 'scenario'"])
        return Path(field_.filename or "scenario.yaml").name, field_.file.read()
    return "scenario.yaml", await request.read()


async def start_run(request: web.Request) -> web.Response:
    scenario_dir = request.app[SCENARIO_DIR]
    try:
        filename, data = await _read_upload(request)
        # Written beside the bundled scenarios so relative topology paths resolve as they would
        # for a file kept there; hidden and not *.yaml, so nothing globbing scenarios/ sees it.
        temp = scenario_dir / f".upload-{secrets.token_hex(8)}.tmp"
        temp.write_bytes(data)
        try:
            loaded = load_scenario(temp)
        except ScenarioError as exc:
            raise ScenarioError([e.replace(str(temp), filename) for e in exc.errors]) from None
        finally:
            temp.unlink(missing_ok=True)
    except ScenarioError as exc:
        return web.json_response({"errors": exc.errors}, status=400)
    loaded = loaded.model_copy(update={"path": Path(filename)})
    name = _new_run_name(request.app, loaded.scenario.name)
    out_dir = request.app[RUNS_ROOT] / name
    out_dir.mkdir(parents=True)
    job = Job(name=name, scenario=loaded.scenario.name)
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    job.process = context.Process(
        target=_job_main, args=(loaded, str(out_dir), events), name=f"alertsim-{name}", daemon=True
    )
    job.process.start()
    job.task = asyncio.create_task(_drain(job, events))
    request.app[JOBS][name] = job
    return web.json_response(
        {"name": name, "page": f"/jobs/{name}", "events": f"/api/runs/{name}/events"}, status=202
    )


def _new_run_name(app: web.Application, base: str) -> str:
    root = app[RUNS_ROOT]
    for n in range(1, 10_000):
        name = f"{base}-{n}"
        if name not in app[JOBS] and not (root / name).exists():
            return name
    raise web.HTTPConflict(text=f"runs: expected a free name for {base!r}, found none")


async def progress_stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: every progress point so far, then live ones, then `done`/`failed`."""
    name = request.match_info["name"]
    job = request.app[JOBS].get(name)
    if job is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"run {name!r}: expected a run started here, found none"}),
            content_type="application/json",
        )
    # History and subscription are taken with no await between them, so no event is missed or
    # sent twice.
    try:
        skip = max(0, int(request.query.get("from", "0")))
    except ValueError:
        raise web.HTTPBadRequest(
            text=json.dumps(
                {"error": f"from: expected a whole number, got {request.query['from']!r}"}
            ),
            content_type="application/json",
        ) from None
    backlog: list[tuple[str, dict[str, Any]]] = [("progress", p) for p in job.points[skip:]]
    subscriber: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    if job.status == "running":
        job.subscribers.add(subscriber)
    else:
        backlog.append((job.status, job.result))
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    try:
        await response.prepare(request)
        for event, data in backlog:
            await response.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
        while subscriber in job.subscribers:
            event, data = await subscriber.get()
            await response.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
            if event != "progress":
                break
    finally:
        job.subscribers.discard(subscriber)
    await response.write_eof()
    return response


async def job_page(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    job = request.app[JOBS].get(name)
    if job is None:
        raise web.HTTPNotFound(text=f"run {name!r}: expected a run started here, found none")
    # What is known now goes into the page, so it draws at once (and the same whether the run is
    # still going or long done); the stream then carries on from there.
    known = {"points": job.points, "status": job.status, "result": job.result}
    # "</" would end the script element early if a verdict or error ever contained it
    known_json = json.dumps(known).replace("</", "<\\/")
    body = (
        f'<p class="sub" id="status">running {escape(name)}</p>'
        '<svg id="progress" class="chart" data-chart="progress" role="img" viewBox="0 0 760 300" '
        'width="760" height="300"><title>Share acknowledged over model time</title>'
        '<line x1="50" y1="260" x2="740" y2="260" stroke="#6b7280"/>'
        '<line x1="50" y1="20" x2="50" y2="260" stroke="#6b7280"/>'
        '<text x="55" y="35" font-size="12">100% acknowledged</text>'
        '<polyline id="curve" fill="none" stroke="#2563eb" stroke-width="2" points=""/>'
        '<g id="targets"></g></svg>'
        '<p id="report"></p>'
    )
    script = f"""
const name = {json.dumps(name)};
const known = {known_json};
const points = known.points;
const svgNS = 'http://www.w3.org/2000/svg';
function draw() {{
  // the alert went out after the last point that had none: the targets count from there
  const before = points.filter(p => p.alerts_issued === 0);
  const t0 = before.length ? before[before.length - 1].now_s : 0;
  const xMax = Math.max(t0 + 1200, ...points.map(p => p.now_s));
  const sx = x => 50 + x / xMax * 690, sy = y => 260 - y * 240;
  document.getElementById('curve').setAttribute('points',
    points.map(p => sx(p.now_s).toFixed(1) + ',' + sy(p.acknowledged_share).toFixed(1)).join(' '));
  const g = document.getElementById('targets');
  g.replaceChildren();
  for (const [t, label] of [[180, '3 min'], [900, '15 min']]) {{
    const line = document.createElementNS(svgNS, 'line');
    line.setAttribute('x1', sx(t0 + t)); line.setAttribute('x2', sx(t0 + t));
    line.setAttribute('y1', 20); line.setAttribute('y2', 260);
    line.setAttribute('stroke', '#b91c1c'); line.setAttribute('stroke-dasharray', '4 3');
    const text = document.createElementNS(svgNS, 'text');
    text.setAttribute('x', sx(t0 + t) + 3); text.setAttribute('y', 280);
    text.setAttribute('font-size', 12);
    text.textContent = label;
    g.append(line, text);
  }}
}}
function progress(p) {{
  document.getElementById('status').textContent = 'running ' + name + ': model ' +
    Math.round(p.now_s) + ' s, ' + (p.acknowledged_share * 100).toFixed(1) + '% acknowledged';
}}
function finish(outcome, data) {{
  document.getElementById('status').textContent = outcome === 'done'
    ? data.verdict.join(' ') : 'failed: ' + data.error;
  if (outcome === 'done') {{
    const a = document.createElement('a');
    a.href = '/runs/' + name; a.textContent = 'full report';
    document.getElementById('report').append(a);
  }}
}}
draw();
if (points.length) progress(points[points.length - 1]);
if (known.status !== 'running') {{
  finish(known.status, known.result);
}} else {{
  const source = new EventSource('/api/runs/' + name + '/events?from=' + points.length);
  source.addEventListener('progress', e => {{
    const p = JSON.parse(e.data); points.push(p); draw(); progress(p);
  }});
  for (const outcome of ['done', 'failed']) {{
    source.addEventListener(outcome, e => {{
      source.close();
      finish(outcome, JSON.parse(e.data));
    }});
  }}
}}
"""
    return web.Response(text=_page(f"run {name}", body, script), content_type="text/html")


async def _stop_jobs(app: web.Application) -> AsyncIterator[None]:
    yield
    for job in app[JOBS].values():
        if job.process is not None and job.process.is_alive():
            job.process.terminate()
            job.process.join(5)
        if job.task is not None:
            job.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job.task


def create_app(runs_root: Path, scenario_dir: Path) -> web.Application:
    """The app: runs under `runs_root`; uploads resolve relative paths from `scenario_dir`."""
    app = web.Application(client_max_size=MAX_SCENARIO_BYTES + 64 * 1024)
    app[RUNS_ROOT] = runs_root
    app[SCENARIO_DIR] = scenario_dir
    app[JOBS] = {}
    app.cleanup_ctx.append(_stop_jobs)
    app.add_routes(
        [
            web.get("/", index),
            web.get("/api/runs", list_runs),
            web.post("/api/runs", start_run),
            web.get("/api/runs/{name}/events", progress_stream),
            web.get("/runs/{name}", show_run),
            web.get("/runs/{name}/report.json", run_json),
            web.get("/jobs/{name}", job_page),
        ]
    )
    return app
