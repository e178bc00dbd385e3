"""`alertsim serve`: the runs over HTTP (list, reports, start virtual runs and watch them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulation.cli.common import console

__all__ = ["serve"]


def serve(
    runs: Annotated[Path, typer.Option(help="folder of runs to list and serve")] = Path("runs"),
    scenarios: Annotated[
        Path, typer.Option(help="uploaded scenarios resolve relative paths from here")
    ] = Path("scenarios"),
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port to listen on")] = 8080,
) -> None:
    """Serve the runs: list them, show their reports, start virtual runs and watch them live."""
    from aiohttp import web

    from simulation.serve.app import create_app

    runs.mkdir(parents=True, exist_ok=True)
    console.print(f"serving {runs} on http://{host}:{port}/")
    web.run_app(create_app(runs, scenarios), host=host, port=port, print=None)
