"""`alertsim dispatch`: the durable live dispatcher as a typer command, like every other.

`simulation.cli` mounts :func:`dispatch` as ``alertsim dispatch``; ``python -m
dispatcher.service.cli`` runs it alone (a command center installs the dispatcher without the
simulator). Every input is checked before anything connects: a bad value is one line on stderr
naming the option, what it got and what was expected, and exit 2; a broker that cannot be
reached is one line and exit 3. On success the run's summary is one JSON line on stdout.
"""

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple, NoReturn

import typer

from dispatcher.service.crashpoints import CRASH_ENV
from dispatcher.service.ladder import DEFAULT_TIMEOUT_S, DIRECT_LADDER

if TYPE_CHECKING:
    from dispatcher.service.dispatch import DispatchService
    from dispatcher.transport.base import Transport

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "app", "dispatch", "main"]

EXIT_INVALID = 2  # bad input: nothing was sent
EXIT_FAILED = 3  # the broker could not be reached or was lost

LADDER = ",".join(DIRECT_LADDER)
TIMEOUT_S = ",".join(f"{t:g}" for t in DEFAULT_TIMEOUT_S)

MetricsPort = Annotated[
    int | None,
    typer.Option(min=1, max=65535, help="serve Prometheus metrics at /metrics on this port"),
]
CrashAt = Annotated[
    str | None,
    typer.Option(envvar=CRASH_ENV, help="tests: end the process at a step, e.g. after_ack:4"),
]


def dispatch(
    plan: Annotated[
        Path,
        typer.Option(help="plan.json: {alertId, level, expiresInS, recipients: [{id, tier, ...}]}"),
    ],
    journal: Annotated[
        Path, typer.Option(help="SQLite journal (created if new); a restart replays from it")
    ],
    keys: Annotated[Path, typer.Option(help="key set of `alertsim keys init` to sign with")],
    key_id: Annotated[str, typer.Option(help="whose private key signs (private/<id>.pem)")] = (
        "municipal"
    ),
    broker: Annotated[str, typer.Option(help="broker as mqtt://host:port")] = (
        "mqtt://127.0.0.1:1883"
    ),
    username: Annotated[
        str | None, typer.Option(help="log in as this user (locked-down broker), also client id")
    ] = None,
    password_env: Annotated[
        str, typer.Option(help="environment variable holding --username's password")
    ] = "ALERTSIM_MQTT_PASSWORD",
    ca_file: Annotated[
        Path | None, typer.Option(help="with --username: TLS, trusting this CA certificate")
    ] = None,
    deadline_s: Annotated[
        float,
        typer.Option(min=0.0, help="wall seconds until whoever has not answered is flagged"),
    ] = 30.0,
    ladder: Annotated[str, typer.Option(help="channels tried in turn, comma-separated")] = LADDER,
    timeout_s: Annotated[
        str,
        typer.Option(help="seconds to wait on each rung before the next, comma-separated"),
    ] = TIMEOUT_S,
    restamp_after_s: Annotated[
        float,
        typer.Option(min=0.0, help="re-sign a journaled alert older than this before a resend"),
    ] = 10.0,
    connect_timeout_s: Annotated[
        float,
        typer.Option(min=0.1, help="wall seconds to reach the broker before giving up (exit 3)"),
    ] = 10.0,
    run_id: Annotated[
        str | None,
        typer.Option(help="the run's id in the alert id (1-10 of a-z 0-9; default: resume or new)"),
    ] = None,
    metrics_port: MetricsPort = None,
    crash_at: CrashAt = None,
) -> None:
    """Run the durable live dispatcher for one alert plan; print its summary as JSON."""
    import asyncio
    import json

    from dispatcher.service.plan_file import DispatchPlan, PlanFileError
    from dispatcher.transport.base import TransportError
    from dispatcher.wire.runs import RunIdError, check_run_id

    rungs = _ladder(ladder)
    timeouts = _timeouts(timeout_s, len(rungs))
    try:
        dispatch_plan = DispatchPlan.load(plan)
        if run_id is not None:
            check_run_id(run_id)
    except (PlanFileError, RunIdError) as exc:
        _fail(str(exc) if isinstance(exc, RunIdError) else f"--plan {exc}")
    password = os.environ.get(password_env, "")
    # A persistent session under a client id stable for the plan: acknowledgements sent while
    # the process is down are queued by the broker until it is back (or the alert expires).
    session = _Session(f"dispatcher-{dispatch_plan.alert_id}"[:64], dispatch_plan.expires_in_s)
    transport = _transport(broker, username, password, ca_file, connect_timeout_s, session)
    service = _service(transport, journal, keys, key_id, crash_at, rungs, timeouts, restamp_after_s)
    _metrics(metrics_port, service, len(dispatch_plan.recipients))
    try:
        summary = asyncio.run(service.run(dispatch_plan, deadline_s=deadline_s, run_id=run_id))
    except TransportError as exc:
        _fail(f"dispatch failed: {exc}", EXIT_FAILED)
    finally:
        service.journal.close()
    print(json.dumps(summary.as_dict()))


def _metrics(port: int | None, service: "DispatchService", recipients: int) -> None:
    """With --metrics-port: the summary served at 127.0.0.1:port/metrics; exit 1 or 2 if not."""
    if port is None:
        return
    from dispatcher.service.metrics import MetricsMissing, serve_metrics

    try:
        serve_metrics(port, service, recipients)
    except MetricsMissing as exc:
        service.journal.close()
        _fail(str(exc), 1)
    except OSError as exc:
        service.journal.close()
        _fail(f"--metrics-port: expected a free port, got {port} ({exc.strerror})")


def _fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _ladder(text: str) -> tuple[str, ...]:
    rungs = tuple(c.strip() for c in text.split(","))
    if not all(rungs):
        _fail(f"--ladder: expected channels, comma-separated (e.g. {LADDER}), got {text!r}")
    return rungs


def _timeouts(text: str, rungs: int) -> tuple[float, ...]:
    try:
        timeouts = tuple(float(t) for t in text.split(","))
    except ValueError:
        _fail(f"--timeout-s: expected seconds like {TIMEOUT_S}, got {text!r}")
    if not all(math.isfinite(t) and t > 0 for t in timeouts):
        _fail(f"--timeout-s: expected positive seconds like {TIMEOUT_S}, got {text!r}")
    if len(timeouts) != rungs:
        _fail(f"--timeout-s: expected one timeout per --ladder rung ({rungs}), got {text!r}")
    return timeouts


class _Session(NamedTuple):
    client_id: str
    expiry_s: float


def _transport(
    broker: str,
    username: str | None,
    password: str,
    ca_file: Path | None,
    connect_timeout_s: float,
    session: _Session,
) -> "Transport":
    """The broker connection, not yet started; exits 2 on a bad URL or CA file."""
    import ssl

    from dispatcher.transport.base import TransportError

    expiry_s = max(60, math.ceil(session.expiry_s))
    try:
        if username:
            from dispatcher.transport.secure import SecureMqttTransport

            return SecureMqttTransport(
                broker,
                client_id=username,
                username=username,
                password=password,
                ca_file=ca_file,
                connect_timeout_s=connect_timeout_s,
                session_expiry_s=expiry_s,
            )
        from dispatcher.transport.mqtt import MqttTransport

        return MqttTransport(
            broker,
            client_id=session.client_id,
            connect_timeout_s=connect_timeout_s,
            session_expiry_s=expiry_s,
        )
    except TransportError:
        _fail(f"--broker: expected mqtt://host[:port] with a port in 1-65535, got {broker!r}")
    except (OSError, ssl.SSLError) as exc:
        _fail(f"--ca-file {ca_file}: expected a CA certificate in PEM, got {exc}")


def _service(
    transport: "Transport",
    journal_path: Path,
    keys: Path,
    key_id: str,
    crash_at: str | None,
    ladder: tuple[str, ...],
    timeout_s: tuple[float, ...],
    restamp_after_s: float,
) -> "DispatchService":
    """Journal, signer and policy around ``transport``; exits 2 on any that cannot be had."""
    import sqlite3

    from dispatcher.service.dispatch import DispatchService
    from dispatcher.service.journal import Journal
    from dispatcher.trust.signing import SigningError, load_signer

    try:
        signer = load_signer(keys, key_id)
    except SigningError as exc:
        _fail(f"--keys/--key-id: {exc}")
    try:
        journal = Journal(journal_path)
    except sqlite3.Error as exc:
        _fail(f"--journal {journal_path}: expected a journal to open or create, got {exc}")
    try:
        return DispatchService(
            transport,
            journal,
            signer,
            crash_at=crash_at,
            ladder=ladder,
            timeout_s=timeout_s,
            restamp_after_s=restamp_after_s,
        )
    except ValueError as exc:  # the crash point
        journal.close()
        _fail(f"--crash-at: {exc}")


app = typer.Typer(add_completion=False)
app.command()(dispatch)


def main() -> None:
    """``python -m dispatcher.service.cli``: the command on its own."""
    app(prog_name="alertsim dispatch")


if __name__ == "__main__":
    main()
