"""`alertsim loadtest`: the broker load tester's own command group, loaded only when it runs.

The load tester (:mod:`loadtest`) is a product of its own, with dependencies of its own (the
``loadtest`` extra: hdrhistogram for its latency histograms, uvloop for a faster event loop).
Its commands are imported when `alertsim loadtest` runs, so every other command starts without
them; without hdrhistogram it says which extra to install instead of failing on an import.
"""

import importlib.util

import typer

from simulation.cli.common import EXIT_FAILED, errors, fail

__all__ = ["EXTRA_HINT", "loadtest"]

EXTRA_HINT = "pip install 'alertsim[loadtest]'"


def loadtest(ctx: typer.Context) -> None:
    """Fan alerts out through a real MQTT broker to a swarm of clients and measure it."""
    if importlib.util.find_spec("hdrh") is None:
        fail(f"loadtest: expected hdrhistogram (the loadtest extra): {EXTRA_HINT}", EXIT_FAILED)
    if importlib.util.find_spec("uvloop") is None:
        errors.print(
            f"loadtest: uvloop is missing, so the swarm runs on asyncio's event loop: {EXTRA_HINT}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    from loadtest.cli import loadtest_app

    command = typer.main.get_command(loadtest_app)
    # Its options, --help and errors are its own: the arguments go to it as they came.
    code = command.main(args=ctx.args, prog_name=ctx.command_path, standalone_mode=False)
    raise typer.Exit(code if isinstance(code, int) else 0)
