"""`alertsim serve`: an aiohttp app that lists runs, shows reports, and starts and watches runs.

It lives in simulation/ rather than dispatcher/api because it runs the SimPy model
(`run_virtual`), and dispatcher never imports simulation. Who may use it is `guard` (token, Host,
Origin); how many runs at once and how each runs is `jobs`. An upload is read, parsed and
validated on a worker thread, never on the event loop, and the paths it names resolve only
inside the scenario and topology roots. A late subscriber to a run's progress first gets the
history, so every viewer sees the whole curve.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from html import escape
from pathlib import Path
from typing import Any

from aiohttp import web

from dispatcher.errors import AlertsimError
from simulation.scenario import MAX_SCENARIO_BYTES, LoadedScenario, ScenarioError, load_scenario
from simulation.serve.guard import HEADER, guard_middleware, page_token
from simulation.serve.jobs import Job, RunQueue
from simulation.serve.metrics import ServeCollector, metrics_response, serve_registry

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$")
UPLOAD_GLOB = ".upload-*.tmp"

RUNS_ROOT = web.AppKey("runs_root", Path)
SCENARIO_DIR = web.AppKey("scenario_dir", Path)
ROOTS = web.AppKey("roots", tuple[Path, ...])
TOKEN = web.AppKey("token", str)
RUN_QUEUE = web.AppKey("run_queue", RunQueue)
RETRY_AFTER_S = web.AppKey("retry_after_s", int)
JOBS = web.AppKey("jobs", dict[str, Job])
REFUSED = web.AppKey("refused", Counter[str])
METRICS = web.AppKey("metrics", object)


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
    # The page carries the token only for a viewer who showed it (the printed address, then a
    # cookie); its script sends it as a header, which no other site's page can make it send.
    token = page_token(request, request.app[TOKEN])
    body = (
        '<section id="runs"><h2>Runs</h2><table><thead><tr><th>run</th><th>status</th>'
        f"<th>verdict</th></tr></thead><tbody>{rows}</tbody></table></section>"
        '<section id="start"><h2>Start a virtual run</h2>'
        + (
            ""
            if token
            else '<p class="sub">Starting runs needs the token: open the address the server '
            "printed when it started (it ends in <code>?token=</code>).</p>"
        )
        + '<form id="upload"><input type="file" name="scenario" accept=".yaml,.yml" required> '
        '<button type="submit">run</button></form><pre id="problems"></pre></section>'
    )
    script = f"""
const token = {json.dumps(token or "")};
document.getElementById('upload').addEventListener('submit', async (event) => {{
  event.preventDefault();
  const reply = await fetch('/api/runs', {{method: 'POST', body: new FormData(event.target),
                                          headers: {{{json.dumps(HEADER)}: token}}}});
  const data = await reply.json();
  if (reply.ok) {{ window.location = data.page; }}
  else {{
    document.getElementById('problems').textContent = (data.errors || [data.error]).join('\\n');
  }}
}});"""
    return web.Response(text=_page("alertsim runs", body, script), content_type="text/html")


async def list_runs(request: web.Request) -> web.Response:
    return web.json_response({"runs": _runs(request.app)})


async def show_run(request: web.Request) -> web.Response:
    path = _run_dir(request)
    name = path.name
    job = request.app[JOBS].get(name)
    if job is not None and job.active:
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


def _load_upload(
    scenario_dir: Path, roots: tuple[Path, ...], filename: str, data: bytes
) -> LoadedScenario:
    """Write, load and delete an upload (on a worker thread); ScenarioError names `filename`."""
    # Written beside the bundled scenarios so relative topology paths resolve as they would
    # for a file kept there; hidden and not *.yaml, so nothing globbing scenarios/ sees it.
    temp = scenario_dir / f".upload-{secrets.token_hex(8)}.tmp"
    try:
        temp.write_bytes(data)
        return load_scenario(temp, roots=roots)
    except ScenarioError as exc:
        raise ScenarioError([e.replace(str(temp), filename) for e in exc.errors]) from None
    except AlertsimError as exc:  # a missing extra, say: still the uploader's to fix
        raise ScenarioError([f"{filename}: {exc}"]) from None
    finally:
        temp.unlink(missing_ok=True)


def _too_many(app: web.Application) -> web.Response:
    queue = app[RUN_QUEUE]
    return web.json_response(
        {
            "error": f"runs: expected at most {queue.max_running} running and "
            f"{queue.max_waiting} waiting, got one more; retry later"
        },
        status=429,
        headers={"Retry-After": str(app[RETRY_AFTER_S])},
    )


async def start_run(request: web.Request) -> web.Response:
    app = request.app
    queue = app[RUN_QUEUE]
    if not queue.admit():  # before reading the body: a full server spends nothing on it
        app[REFUSED]["queue_full"] += 1
        return _too_many(app)
    try:
        filename, data = await _read_upload(request)
        loaded = await asyncio.to_thread(
            _load_upload, app[SCENARIO_DIR], app[ROOTS], filename, data
        )
    except ScenarioError as exc:
        queue.release()
        app[REFUSED]["bad_scenario"] += 1
        return web.json_response({"errors": exc.errors}, status=400)
    except BaseException:
        queue.release()
        raise
    loaded = loaded.model_copy(update={"path": Path(filename)})
    name = _new_run_name(app, loaded.scenario.name)
    out_dir = app[RUNS_ROOT] / name
    out_dir.mkdir(parents=True)
    job = Job(name=name, scenario=loaded.scenario.name, out_dir=out_dir)
    app[JOBS][name] = job
    job.task = asyncio.create_task(queue.run(job, loaded))
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
    if job.active:
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
if (known.status !== 'running' && known.status !== 'queued') {{
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


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text: runs by status, the queue's bounds, refused requests by reason."""
    return metrics_response(request.app[METRICS])


async def _stop_jobs(app: web.Application) -> AsyncIterator[None]:
    # An upload the server was killed while parsing left its temporary file: clear them.
    for stale in app[SCENARIO_DIR].glob(UPLOAD_GLOB):
        stale.unlink(missing_ok=True)
    yield
    for job in app[JOBS].values():
        if job.task is not None:
            job.task.cancel()
        if job.process is not None and job.process.is_alive():
            job.process.terminate()
            await asyncio.to_thread(job.process.join, 5)
        if job.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await job.task


def create_app(
    runs_root: Path,
    scenario_dir: Path,
    *,
    token: str,
    topology_root: Path | None = None,
    max_concurrent: int = 2,
    max_waiting: int = 10,
    hosts: Sequence[str] = (),
    retry_after_s: int = 30,
) -> web.Application:
    """The app: runs under `runs_root`; uploads resolve relative paths from `scenario_dir`.

    Files an upload names must lie in `scenario_dir` or `topology_root` (default: `config`
    beside `scenario_dir`); state-changing requests need `token`; `hosts` are allowed in `Host`
    and `Origin` besides the loopback names.
    """
    topology_root = topology_root if topology_root is not None else scenario_dir.parent / "config"
    refused: Counter[str] = Counter()
    app = web.Application(
        client_max_size=MAX_SCENARIO_BYTES + 64 * 1024,
        middlewares=[guard_middleware(token, hosts, refused)],
    )
    app[REFUSED] = refused
    app[RUNS_ROOT] = runs_root
    app[SCENARIO_DIR] = scenario_dir
    app[ROOTS] = (scenario_dir.resolve(), topology_root.resolve())
    app[TOKEN] = token
    app[RUN_QUEUE] = RunQueue(max_concurrent, max_waiting)
    app[RETRY_AFTER_S] = retry_after_s
    app[JOBS] = {}
    app[METRICS] = serve_registry(ServeCollector(app[JOBS], app[RUN_QUEUE], refused))
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
            web.get("/metrics", metrics),
        ]
    )
    return app
