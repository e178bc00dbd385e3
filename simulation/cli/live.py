"""`alertsim swarm`, and the live half of `alertsim run --mode live`: checks, proxy, failures.

Both run over a real broker, so both end in the same way when it fails: one line naming the
cause and exit 3. Bad input (a fault spec, a missing key set, unreadable credentials) is found
before anything connects and exits 2.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from simulation.cli.common import EXIT_FAILED, EXIT_LIVE_FAILED, fail, load_or_exit, status_bar

if TYPE_CHECKING:
    from rich.console import Console

    from simulation.faults import Fault
    from simulation.live.progress import LiveProgress
    from simulation.report.build import RunResult
    from simulation.scenario import LoadedScenario

__all__ = ["run_live", "swarm"]

Broker = Annotated[str, typer.Option(help="broker as mqtt://host:port")]
Speed = Annotated[
    float, typer.Option(min=0.001, help="model seconds per wall second, if alerts do not say")
]
PerConnection = Annotated[
    int, typer.Option(min=1, help="responders sharing one MQTT connection (a town terminal)")
]
Workers = Annotated[int, typer.Option(min=1, help="processes sharing the swarm")]
ReadyFile = Annotated[
    Path | None,
    typer.Option(help="written once every responder is subscribed (for healthchecks)"),
]
Keys = Annotated[
    Path | None, typer.Option(help="key set whose trust.json alerts are verified against")
]
AcceptUnsigned = Annotated[
    bool, typer.Option("--accept-unsigned", help="verify nothing (without --keys)")
]
Credentials = Annotated[
    Path | None,
    typer.Option(help="credentials.json of alertsim broker-config (locked-down broker)"),
]


SwarmMetricsPort = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=65535,
        help="serve Prometheus metrics at /metrics on PORT (worker i on PORT + i; metrics extra)",
    ),
]
MetricsHost = Annotated[
    str, typer.Option(help="with --metrics-port: address to serve on (0.0.0.0 in a container)")
]


def swarm(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file (whose responders to play)")],
    broker: Broker = "mqtt://127.0.0.1:1883",
    speed: Speed = 20.0,
    responders_per_connection: PerConnection = 50,
    workers: Workers = 1,
    ready_file: ReadyFile = None,
    keys: Keys = None,
    accept_unsigned: AcceptUnsigned = False,
    credentials: Credentials = None,
    metrics_port: SwarmMetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
) -> None:
    """Play a scenario's responders over MQTT for live runs, until interrupted."""
    from dispatcher.transport import TransportError
    from dispatcher.trust.signing import SigningError
    from simulation.live.swarm_processes import SwarmSettings, run_swarm

    load_or_exit(scenario)
    _check_broker(broker)
    if keys is None and not accept_unsigned:
        fail("--keys: expected the key set to verify alerts with, or --accept-unsigned")
    settings = SwarmSettings(
        scenario,
        broker,
        speed,
        responders_per_connection,
        workers=workers,
        ready_file=ready_file,
        keys=keys,
        credentials=_passwords(credentials),
        metrics_port=metrics_port,
        metrics_host=metrics_host,
    )
    if metrics_port is not None:
        _require_metrics()
    try:
        run_swarm(settings)
    except (TransportError, SigningError, ValueError) as exc:
        fail(f"swarm failed: {exc}", EXIT_LIVE_FAILED)


def run_live(
    loaded: "LoadedScenario",
    *,
    broker: str,
    speed: float,
    strict: bool,
    max_lag_ms: float,
    local_swarm: bool,
    responders_per_connection: int,
    faults: Sequence[str],
    keys: Path | None,
    sign: bool,
    credentials: Path | None,
    console: "Console | None",
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
    run_id: str | None = None,
    payload: str = "json",
) -> "tuple[RunResult, dict[str, Any]]":
    """One live replication and its report's `live` section; exits 2 or 3 when it cannot run."""
    from dispatcher.transport import TransportError
    from dispatcher.trust.brokerauth import DISPATCHER_USER
    from dispatcher.trust.signing import SigningError
    from dispatcher.wire.runs import RunIdError, check_run_id
    from simulation.live.driver import LiveLagError
    from simulation.live.run import DRIVER_SESSION_EXPIRY_S, mqtt_factory
    from simulation.live.run import run_live as run_live_replication

    if run_id is not None:
        try:
            check_run_id(run_id)
        except RunIdError as exc:
            fail(str(exc))
    if not local_swarm and sign and keys is None:
        fail(
            "--keys: expected the key folder the external swarm verifies with "
            "(alertsim keys init; alertsim swarm --keys), or --unsigned, got neither"
        )
    _check_broker(broker)
    parsed = _parse_faults(faults)
    passwords = _passwords(credentials)
    on_world = _metrics(metrics_port, metrics_host, loaded, console)
    with _fault_proxy(broker, faults) as proxied, _progress_bar(loaded, console) as progress:
        if console is not None:
            console.print(
                f"live run of {loaded.scenario.name} over {proxied} at {speed:g}x "
                f"({'in-process' if local_swarm else 'external'} swarm)"
            )
        try:
            outcome = run_live_replication(
                loaded,
                broker_url=proxied,
                speed=speed,
                strict=strict,
                max_lag_s=max_lag_ms / 1000.0,
                local_swarm=local_swarm,
                responders_per_connection=responders_per_connection,
                keys=keys,
                sign=sign,
                faults=parsed,
                transport_factory=mqtt_factory(proxied, passwords),
                driver_transport_factory=mqtt_factory(
                    proxied, passwords, session_expiry_s=DRIVER_SESSION_EXPIRY_S
                ),
                driver_client_id=DISPATCHER_USER if passwords is not None else None,
                on_world=on_world,
                run_id=run_id,
                payload=payload,
                progress=progress,
            )
        except (TransportError, LiveLagError, SigningError, ValueError) as exc:
            fail(f"live run failed: {exc}", EXIT_LIVE_FAILED)
    if console is not None:
        live = outcome.live
        console.print(
            f"run id {live['run_id']}; {len(live['outages'])} broker outage(s); "
            f"driver lag p99 {live['driver_lag_p99_ms']:.1f} ms, max "
            f"{live['driver_lag_max_ms']:.1f} ms; transport {outcome.result.transport}"
        )
    return outcome.result, outcome.live


@contextmanager
def _progress_bar(
    loaded: "LoadedScenario", console: "Console | None"
) -> "Iterator[Callable[[LiveProgress], None] | None]":
    """A progress bar like a virtual run's (None when quiet): the share acknowledged, model
    time and lag, or how long until the first alert."""
    if console is None:
        yield None
        return
    from simulation.live.progress import describe

    with status_bar(console) as bar:
        task = bar.add_task(f"live {loaded.scenario.name}", total=1.0, status="connecting")

        def show(p: "LiveProgress") -> None:
            bar.update(task, completed=p.acknowledged_share, status=describe(p))

        yield show


def _metrics(
    port: int | None, host: str, loaded: "LoadedScenario", console: "Console | None"
) -> Callable[[Any, Any], None] | None:
    """With --metrics-port: an exporter started now, and the hook that hands it the run."""
    if port is None:
        return None
    from simulation.prometheus import LiveCollector, start_exporter

    _require_metrics()
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    try:
        start_exporter(port, registry, host)
    except OSError as exc:
        fail(f"--metrics-port: expected a free port on {host}, got {port} ({exc.strerror})")
    if console is not None:
        console.print(f"metrics on http://{host}:{port}/metrics", soft_wrap=True)
    target_s = loaded.scenario.targets.notify_target_s

    def on_world(world: Any, driver: Any) -> None:
        registry.register(LiveCollector(world, driver, target_s=target_s))

    return on_world


def _require_metrics() -> None:
    """Exit 1 with the line naming the `metrics` extra unless prometheus-client is installed."""
    from simulation.extras import MissingExtra
    from simulation.prometheus import require_metrics

    try:
        require_metrics("--metrics-port")
    except MissingExtra as exc:
        fail(str(exc), EXIT_FAILED)


def _check_broker(broker: str) -> None:
    from dispatcher.transport import TransportError
    from dispatcher.transport.mqtt import BrokerAddress

    try:
        BrokerAddress.parse(broker)
    except TransportError:
        fail(f"--broker: expected mqtt://host[:port] with a port in 1-65535, got {broker!r}")


def _parse_faults(specs: Sequence[str]) -> "list[Fault]":
    from simulation.faults import parse_fault

    try:
        return [parse_fault(spec) for spec in specs]
    except ValueError as exc:
        fail(str(exc))


def _passwords(credentials: Path | None) -> dict[str, str] | None:
    """user -> password from ``credentials`` (None without); exits 2 if it cannot be read."""
    if credentials is None:
        return None
    from simulation.live.brokerconfig import CredentialsError, read_credentials

    try:
        return read_credentials(credentials)
    except CredentialsError as exc:
        fail(str(exc))


@contextmanager
def _fault_proxy(broker: str, faults: Sequence[str]) -> Iterator[str]:
    """The broker URL a live run should use: a fault proxy's with --fault, stopped afterwards."""
    if not faults:
        yield broker
        return
    from simulation.live.proxy import start_fault_proxy

    proxied, stop = start_fault_proxy(broker, list(faults))
    try:
        yield proxied
    finally:
        stop()
