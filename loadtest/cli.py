"""The `alertsim loadtest` command group: run a load test (default) and `merge` shard results.

Kept light at import time (typer only) so that `alertsim --help` stays fast; the load generator
is imported when a command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

__all__ = ["loadtest_app"]

loadtest_app = typer.Typer(
    help="Fan alerts out through a real MQTT broker to a swarm of clients and measure it.",
    invoke_without_command=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)
EXIT_INVALID = 2
EXIT_FAILED = 1


# The options of a run, one alias each so that the command reads as its list of settings.
BrokerOption = Annotated[
    str, typer.Option(help="broker URL, mqtt://host[:port] (any MQTT 5 broker)")
]
ProfileOption = Annotated[
    str,
    typer.Option(
        help="broadcast: one topic, every connection subscribed (the broker's fan-out); "
        "unicast: one topic per responder; tiered: municipal publish -> district relays "
        "-> town relays -> responders, as the cascade strategy relays; storm: alerts at "
        "--rate for --duration"
    ),
]
RespondersOption = Annotated[
    int, typer.Option(help="logical responders (broadcast: equal to --connections)")
]
ConnectionsOption = Annotated[
    int, typer.Option(help="MQTT connections the responders share (one per town, say)")
]
QosOption = Annotated[int, typer.Option(help="QoS of publishes and subscriptions: 0, 1 or 2")]
PayloadBytesOption = Annotated[
    int | None, typer.Option(help="pad each CAP alert to this many bytes (default: as encoded)")
]
RateOption = Annotated[
    float | None,
    typer.Option(help="offered messages/s, open loop (default: all at once; storm needs it)"),
]
DurationOption = Annotated[float, typer.Option(help="storm duration, s")]
MessagesOption = Annotated[
    int, typer.Option(help="alerts per responder (broadcast and tiered: alerts in all)")
]
RampOption = Annotated[
    float | None, typer.Option(help="connections opened per second (default: 64 at a time)")
]
CleanOption = Annotated[
    bool, typer.Option("--clean/--persistent", help="clean sessions, or kept 600 s")
]
WorkersOption = Annotated[
    int, typer.Option(help="swarm processes (use every core; each holds connections/N)")
]
ShardOption = Annotated[
    str, typer.Option(help="this host's share i/n of the swarm; combine with 'merge'")
]
PublishersOption = Annotated[int, typer.Option(help="publisher connections")]
MaxInflightOption = Annotated[
    int,
    typer.Option(help="QoS 1/2: unacknowledged publishes a connection keeps at most (1-65535)"),
]
ConnectTimeoutOption = Annotated[
    float, typer.Option(help="s allowed for the swarm to connect and subscribe")
]
DrainTimeoutOption = Annotated[
    float, typer.Option(help="s to wait for deliveries after the last publish")
]
NameOption = Annotated[str | None, typer.Option(help="run name: writes runs/<name>/")]
OutOption = Annotated[Path | None, typer.Option(help="output folder (overrides --name)")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="no progress or table")]
MetricsPortOption = Annotated[
    int | None,
    typer.Option(min=1, max=65535, help="serve Prometheus metrics at /metrics on this port"),
]


@loadtest_app.callback()
def loadtest(
    ctx: typer.Context,
    broker: BrokerOption = "mqtt://127.0.0.1:1883",
    profile: ProfileOption = "unicast",
    responders: RespondersOption = 1000,
    connections: ConnectionsOption = 100,
    qos: QosOption = 0,
    payload_bytes: PayloadBytesOption = None,
    rate: RateOption = None,
    duration: DurationOption = 10.0,
    messages: MessagesOption = 1,
    ramp: RampOption = None,
    clean: CleanOption = True,
    workers: WorkersOption = 2,
    shard: ShardOption = "0/1",
    publishers: PublishersOption = 2,
    max_inflight: MaxInflightOption = 65535,
    connect_timeout: ConnectTimeoutOption = 60.0,
    drain_timeout: DrainTimeoutOption = 10.0,
    name: NameOption = None,
    out: OutOption = None,
    quiet: QuietOption = False,
    metrics_port: MetricsPortOption = None,
) -> None:
    """Connect the swarm, fan alerts out, print the table and write loadtest.json."""
    if ctx.invoked_subcommand is not None:
        return
    from pydantic import ValidationError

    from loadtest import LoadtestConfig, LoadtestError, print_table, run_loadtest
    from loadtest.schedule import parse_broker_url, parse_shard

    try:
        parse_broker_url(broker)
        shard_index, shard_count = parse_shard(shard)
        config = LoadtestConfig(
            broker_url=broker,
            profile=profile,
            responders=responders,
            connections=connections,
            qos=qos,
            payload_bytes=payload_bytes,
            rate_per_s=rate,
            duration_s=duration,
            messages=messages,
            ramp_per_s=ramp,
            clean_session=clean,
            workers=workers,
            shard_index=shard_index,
            shard_count=shard_count,
            publishers=publishers,
            max_inflight=max_inflight,
            connect_timeout_s=connect_timeout,
            drain_timeout_s=drain_timeout,
        )
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            line = f"loadtest: {where}: {message}" if where else f"loadtest: {message}"
            errors.print(line, markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    except ValueError as exc:
        errors.print(f"loadtest: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    out_dir = out or Path("runs") / (name or f"loadtest-{config.profile}-{config.run_tag}")
    try:
        report = _run_with_progress(config, quiet, _observed(run_loadtest, metrics_port))
    except (LoadtestError, ValueError) as exc:
        errors.print(f"loadtest: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILED) from None
    _write(out_dir, report, quiet, print_table)


def _observed(run: Any, metrics_port: int | None) -> Any:
    """`run`, or with --metrics-port `run` observed by a collector served on that port."""
    if metrics_port is None:
        return run
    from loadtest.metrics import observed, serve_metrics

    return observed(run, serve_metrics(metrics_port))


def _run_with_progress(config: Any, quiet: bool, run: Any) -> dict[str, Any]:
    if quiet:
        result: dict[str, Any] = run(config)
        return result
    if not console.is_terminal:
        return dict(run(config, _progress_lines()))
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        connecting = bar.add_task("connections", total=len(config.shard_connections()), status="")
        delivering = bar.add_task("deliveries", total=1, status="")

        def show(p: Any) -> None:
            bar.update(connecting, completed=p.connected, status=f"{p.connected:,} up")
            bar.update(
                delivering,
                total=max(1, p.owed),
                completed=p.received,
                status=f"{p.received:,} / {p.owed:,} ({p.phase})",
            )

        result = run(config, show)
        return dict(result)


def _progress_lines() -> Any:
    """Progress as plain lines on stderr (no live display when output is not a terminal):
    each phase once, and deliveries at most once a second."""
    import time

    last: dict[str, Any] = {"phase": "", "at": 0.0}

    def show(p: Any) -> None:
        now = time.monotonic()
        if p.phase == last["phase"] and now - last["at"] < 1.0:
            return
        last["phase"], last["at"] = p.phase, now
        errors.print(
            f"loadtest: {p.phase}: {p.connected:,}/{p.connections:,} connections up, "
            f"{p.received:,}/{p.owed:,} delivered",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

    return show


def _write(out_dir: Path, report: dict[str, Any], quiet: bool, print_table: Any) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "loadtest.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if not quiet:
        print_table(report, console)
        console.print(f"report: {path}")


@loadtest_app.command()
def merge(
    inputs: Annotated[list[Path], typer.Argument(help="loadtest.json files of one run's shards")],
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/loadtest-merged"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Combine shard results exactly: counters add, latency histograms merge."""
    from loadtest import merge_reports, print_table

    try:
        reports = [json.loads(path.read_text(encoding="utf-8")) for path in inputs]
        merged = merge_reports(reports)
    except (OSError, ValueError, KeyError) as exc:
        errors.print(f"loadtest merge: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID) from None
    _write(out, merged, quiet, print_table)
