"""The `alertsim` command: one module per command group, registered on one typer app here.

Start-up stays fast: the command modules import only typer and rich, and each command imports
what it runs on (the model, reports, transports, the load tester) when it is invoked.

=============  ====================================================================
module         commands
=============  ====================================================================
validate       ``validate``
run            ``run`` (virtual, or live with :mod:`simulation.cli.live`)
compare        ``compare``
live           ``swarm``
loadtest       ``loadtest`` (the load tester's own group, mounted lazily)
sweep          ``sweep``
sensitivity    ``sensitivity``
optimize       ``optimize``
serve          ``serve``
trust          ``keys init``, ``broker-config``
calibrate      ``calibrate``
cap            ``cap validate``, ``cap show``
(dispatcher)   ``dispatch``: :mod:`dispatcher.service.cli`'s own command
=============  ====================================================================
"""

import sys

import typer

from dispatcher.service.cli import dispatch
from simulation.cli import (
    calibrate,
    cap,
    compare,
    live,
    loadtest,
    optimize,
    run,
    sensitivity,
    serve,
    sweep,
    trust,
    validate,
)
from simulation.cli.common import ends_with_command, errors

__all__ = ["app", "main"]

app = typer.Typer(
    help="alertsim: emergency notification and dispatch simulator (Chongqing flood response).",
    no_args_is_help=True,
    add_completion=False,
)

# Forwarded as typed: `alertsim loadtest --help` is the load tester's own help.
_FORWARD_ALL = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}

app.command()(validate.validate)
app.command()(run.run)
app.command()(compare.compare)
app.command()(live.swarm)
app.command("loadtest", context_settings=_FORWARD_ALL, add_help_option=False)(loadtest.loadtest)
app.command()(sweep.sweep)
app.command()(sensitivity.sensitivity)
app.command()(optimize.optimize)
app.command()(serve.serve)
app.command()(calibrate.calibrate)
app.add_typer(trust.keys_app, name="keys")
app.add_typer(cap.cap_app, name="cap")
app.command("broker-config")(trust.broker_config)
app.command("dispatch")(dispatch)


def main() -> None:
    """Console-script entry point."""
    ends_with_command()  # what a command leaves to the exit is the operating system's
    try:
        app()
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(130)
