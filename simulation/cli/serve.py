"""`alertsim serve`: the runs over HTTP (list, reports, start virtual runs and watch them)."""

from pathlib import Path
from typing import Annotated

import typer

from simulation.cli.common import console

__all__ = ["serve"]


def serve(
    runs: Annotated[Path, typer.Option(help="folder of runs to list and serve")] = Path("runs"),
    scenarios: Annotated[
        Path,
        typer.Option(help="scenario root: uploads resolve relative paths from here"),
    ] = Path("scenarios"),
    topologies: Annotated[
        Path,
        typer.Option(help="topology root: the other folder files an upload names may be in"),
    ] = Path("config"),
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port to listen on")] = 8080,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="ALERTSIM_TOKEN",
            help="token state-changing requests must carry (default: made on first start, "
            "kept in the state folder)",
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(help="state folder of the server (its token); default: <runs>/.serve"),
    ] = None,
    max_concurrent: Annotated[int, typer.Option(min=1, help="runs at most this many at once")] = 2,
    max_waiting: Annotated[
        int, typer.Option(min=0, help="queues at most this many more; beyond, answers 429")
    ] = 10,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(help="a host name accepted in Host and Origin besides loopback (repeatable)"),
    ] = None,
) -> None:
    """Serve the runs: list them, show their reports, start virtual runs and watch them live."""
    from aiohttp import web

    from simulation.serve.app import create_app
    from simulation.serve.guard import load_or_create_token

    runs.mkdir(parents=True, exist_ok=True)
    state_dir = state if state is not None else runs / ".serve"
    created, given = False, bool(token)
    if not token:
        token, created = load_or_create_token(state_dir)
    hosts = [*(allow_host or []), *([host] if host not in ("0.0.0.0", "::") else [])]
    app = create_app(
        runs,
        scenarios,
        token=token,
        topology_root=topologies,
        max_concurrent=max_concurrent,
        max_waiting=max_waiting,
        hosts=hosts,
    )
    shown = host if ":" not in host else f"[{host}]"
    console.print(f"serving {runs} on http://{shown}:{port}/", soft_wrap=True)
    if created:
        console.print(
            f"token (printed once; kept in {state_dir / 'token'}, mode 0600): open "
            f"http://{shown}:{port}/?token={token}",
            soft_wrap=True,
        )
    elif not given:
        console.print(
            f"token: in {state_dir / 'token'} (printed on first start only)", soft_wrap=True
        )
    web.run_app(app, host=host, port=port, print=None)
