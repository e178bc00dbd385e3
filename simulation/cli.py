"""The `alertsim` command: run scenarios, validate them, and (later) serve and compare reports."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from simulation.report.build import RunResult
    from simulation.scenario import LoadedScenario

app = typer.Typer(
    help="alertsim: emergency notification and dispatch simulator (Chongqing flood response).",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

EXIT_INVALID = 2


def _load_or_exit(path: Path):  # type: ignore[no-untyped-def]
    from simulation.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as exc:
        errors.print(f"[bold red]{len(exc.errors)} problem(s) in {path}:[/]")
        for line in exc.errors:
            errors.print(f"  {line}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID) from None


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
) -> None:
    """Check a scenario file; exit 2 listing every problem (file, field, value, expectation)."""
    loaded = _load_or_exit(scenario)
    console.print(
        f"{scenario}: valid ({loaded.scenario.name}, strategy {loaded.scenario.strategy})"
    )


def _check_replications(mode: str, replications: int) -> None:
    # a live run is one pass against a real broker; its replications would not be independent
    if replications > 1 and mode != "virtual":
        errors.print(f"--replications: expected 1 with --mode {mode}, got {replications}")
        raise typer.Exit(EXIT_INVALID)


def _check_live_options(mode: str, replications: int, fault: list[str] | None) -> None:
    _check_replications(mode, replications)
    if fault and mode != "live":
        errors.print(f"--fault: expected --mode live, got --mode {mode}")
        raise typer.Exit(EXIT_INVALID)


@contextmanager
def _fault_proxy(broker: str, fault: list[str] | None) -> Iterator[str]:
    """The broker URL a live run should use: a fault proxy's with --fault, stopped afterwards."""
    if not fault:
        yield broker
        return
    from simulation.live.proxy import start_fault_proxy

    try:
        proxied, stop = start_fault_proxy(broker, fault)
    except ValueError as exc:
        errors.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID) from None
    try:
        yield proxied
    finally:
        stop()


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    out: Annotated[
        Path | None, typer.Option(help="output folder (default runs/<scenario name>)")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="override the scenario's seed")] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress bar or summary")
    ] = False,
    replications: Annotated[
        int,
        typer.Option(min=1, help="independent replications; >1 adds mean and 95% CI per figure"),
    ] = 1,
    workers: Annotated[
        int, typer.Option(min=1, help="processes for replications (figures do not depend on it)")
    ] = 1,
    mode: Annotated[
        str, typer.Option(help="virtual (SimPy time) or live (over a real MQTT broker)")
    ] = "virtual",
    broker: Annotated[
        str, typer.Option(help="live: broker as mqtt://host:port")
    ] = "mqtt://127.0.0.1:1883",
    speed: Annotated[
        float, typer.Option(min=0.001, help="live: model seconds per wall second")
    ] = 20.0,
    strict: Annotated[
        bool, typer.Option("--strict", help="live: fail when the model lags the wall clock")
    ] = False,
    max_lag_ms: Annotated[
        float, typer.Option(min=0.0, help="live --strict: allowed lag, wall milliseconds")
    ] = 500.0,
    local_swarm: Annotated[
        bool,
        typer.Option(
            "--local-swarm/--external-swarm",
            help="live: play the responders in this process, or leave them to `alertsim swarm`",
        ),
    ] = True,
    responders_per_connection: Annotated[
        int, typer.Option(min=1, help="live --local-swarm: responders sharing one connection")
    ] = 50,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="live: rehearse an outage through a fault proxy, e.g. "
            "district:500101:blackhole:300s, all:delay:60s:250ms@10s, all:cut%0.5@30s"
        ),
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option(help="live: key set to sign with (alertsim keys init; default: temporary)"),
    ] = None,
    sign: Annotated[
        bool, typer.Option("--sign/--unsigned", help="live: sign every alert (the default)")
    ] = True,
    credentials: Annotated[
        Path | None,
        typer.Option(help="live: credentials.json of alertsim broker-config (locked-down broker)"),
    ] = None,
) -> None:
    """Run a scenario in virtual time (or live over MQTT) and write report.json and a summary."""
    from simulation.report.terminal import print_summary

    loaded = _load_or_exit(scenario)
    if seed is not None:
        loaded = loaded.model_copy(
            update={"scenario": loaded.scenario.model_copy(update={"seed": seed})}
        )
    out_dir = out if out is not None else Path("runs") / loaded.scenario.name
    out_dir.mkdir(parents=True, exist_ok=True)

    live_section = None
    if mode not in ("virtual", "live"):
        errors.print(f"--mode: expected virtual or live, got {mode!r}")
        raise typer.Exit(EXIT_INVALID)
    _check_live_options(mode, replications, fault)
    if mode == "live":
        from simulation.live.command import EXIT_LIVE_FAILED, LiveCommandError, run_live_for_cli

        try:
            with _fault_proxy(broker, fault) as proxied:
                result, live_section = run_live_for_cli(
                    loaded,
                    broker=proxied,
                    speed=speed,
                    strict=strict,
                    max_lag_ms=max_lag_ms,
                    local_swarm=local_swarm,
                    responders_per_connection=responders_per_connection,
                    console=None if quiet else console,
                    keys=keys,
                    sign=sign,
                    faults=fault,
                    credentials=credentials,
                )
        except LiveCommandError as exc:
            errors.print(f"live run failed: {exc}", markup=False, highlight=False)
            raise typer.Exit(EXIT_LIVE_FAILED) from None
    else:
        result = _run_virtual_with_progress(loaded, quiet=quiet)
    from simulation.experiment.folder import finish_run

    report, folder = finish_run(
        result,
        out_dir,
        live=live_section,
        replications=replications,
        workers=workers,
        console=None if quiet else console,
    )
    if not quiet:
        print_summary(report, console)
        if "replications" in report:
            from simulation.report.intervals import print_intervals

            print_intervals(report["replications"], console)
        console.print(f"report: {folder.report_json} and {folder.report_html}")


def _run_virtual_with_progress(loaded: LoadedScenario, *, quiet: bool) -> RunResult:
    """One virtual replication, with a progress bar of the share acknowledged unless quiet."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from simulation.experiment.virtual import Progress as ModelProgress
    from simulation.experiment.virtual import run_virtual

    if quiet:
        return run_virtual(loaded)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"running {loaded.scenario.name}", total=1.0, status="")

        def show(p: ModelProgress) -> None:
            bar.update(
                task,
                completed=p.acknowledged_share,
                status=f"model {p.now_s:,.0f} s, {p.alerts_issued} alert(s), "
                f"{p.acknowledged_share:.1%} acknowledged",
            )

        return run_virtual(loaded, progress=show)


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="first run folder (or its report.json)")],
    run_b: Annotated[Path, typer.Argument(help="second run folder (or its report.json)")],
    out: Annotated[
        Path | None, typer.Option(help="folder for comparison.html (default: the second run's)")
    ] = None,
) -> None:
    """Compare two runs: headline figures side by side, differences, CI overlap."""
    from simulation.report import compare as comparison

    try:
        a, b = comparison.load_report(run_a), comparison.load_report(run_b)
    except comparison.CompareError as exc:
        errors.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    names = (str(run_a), str(run_b))
    comparison.print_comparison(a, b, names, console)
    out_dir = out if out is not None else (run_b if run_b.is_dir() else run_b.parent)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "comparison.html"
    html_path.write_text(comparison.render_html(a, b, names), encoding="utf-8")
    console.print(f"comparison: {html_path}")


@app.command()
def swarm(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file (whose responders to play)")],
    broker: Annotated[str, typer.Option(help="broker as mqtt://host:port")] = (
        "mqtt://127.0.0.1:1883"
    ),
    speed: Annotated[
        float,
        typer.Option(min=0.001, help="model seconds per wall second, if alerts do not say"),
    ] = 20.0,
    responders_per_connection: Annotated[
        int, typer.Option(min=1, help="responders sharing one MQTT connection (a town terminal)")
    ] = 50,
    workers: Annotated[int, typer.Option(min=1, help="processes sharing the swarm")] = 1,
    ready_file: Annotated[
        Path | None,
        typer.Option(help="written once every responder is subscribed (for healthchecks)"),
    ] = None,
    keys: Annotated[
        Path | None, typer.Option(help="key set whose trust.json alerts are verified against")
    ] = None,
    accept_unsigned: Annotated[
        bool, typer.Option("--accept-unsigned", help="verify nothing (without --keys)")
    ] = False,
    credentials: Annotated[
        Path | None,
        typer.Option(help="credentials.json of alertsim broker-config (locked-down broker)"),
    ] = None,
) -> None:
    """Play a scenario's responders over MQTT for live runs, until interrupted."""
    from simulation.live.command import EXIT_LIVE_FAILED, LiveCommandError, run_swarm

    _load_or_exit(scenario)
    if keys is None and not accept_unsigned:
        errors.print("--keys: expected the key set to verify alerts with, or --accept-unsigned")
        raise typer.Exit(EXIT_INVALID)
    try:
        run_swarm(
            scenario,
            broker=broker,
            speed=speed,
            responders_per_connection=responders_per_connection,
            workers=workers,
            ready_file=ready_file,
            keys=keys,
            credentials=credentials,
        )
    except LiveCommandError as exc:
        errors.print(f"swarm failed: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_LIVE_FAILED) from None


def _add_loadtest() -> None:
    # command.py imports only typer at module level; the load generator loads when it runs.
    from loadtest.cli import loadtest_app

    app.add_typer(loadtest_app, name="loadtest")


_add_loadtest()


@app.command()
def sweep(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    set_: Annotated[
        list[str],
        typer.Option(
            "--set", help="PATH=V1,V2,... e.g. channels.app_push.failure=0,0.15,0.45 (repeatable)"
        ),
    ],
    replications: Annotated[int, typer.Option(min=1, help="replications per grid point")] = 1,
    workers: Annotated[
        int, typer.Option(min=1, help="processes (figures do not depend on it)")
    ] = 1,
    out: Annotated[
        Path | None, typer.Option(help="output folder (default runs/<scenario name>-sweep)")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress or table")] = False,
) -> None:
    """Run a grid of overrides with one seed (common random numbers); write sweep.csv/json/html."""
    from simulation.experiment.sweep import (
        build_grid,
        print_sweep,
        run_sweep_with_progress,
        write_outputs,
    )
    from simulation.scenario import ScenarioError

    loaded = _load_or_exit(scenario)
    try:
        overrides, grid = build_grid(loaded, set_)
    except ScenarioError as exc:
        errors.print(f"[bold red]{len(exc.errors)} problem(s) in the --set options:[/]")
        for line in exc.errors:
            # one line per problem, unwrapped, so it can be grepped and pasted
            errors.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    out_dir = out if out is not None else Path("runs") / f"{loaded.scenario.name}-sweep"
    rows = run_sweep_with_progress(
        grid, replications, workers=workers, console=None if quiet else console
    )
    meta = {
        "scenario": loaded.scenario.name,
        "scenario_file": str(loaded.path),
        "scenario_sha256": loaded.sha256,
        "seed": loaded.scenario.seed,
        "replications": replications,
    }
    write_outputs(out_dir, overrides, rows, meta)
    if not quiet:
        print_sweep(overrides, rows, console)
        console.print(
            f"sweep: {out_dir / 'sweep.csv'}, {out_dir / 'sweep.json'}, {out_dir / 'sweep.html'}"
        )


@app.command()
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


keys_app = typer.Typer(help="Signing keys of the centers (see README: Trust and faults).")
app.add_typer(keys_app, name="keys")


@keys_app.command("init")
def keys_init(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file (its city's centers)")],
    out: Annotated[Path, typer.Option(help="folder for private/*.pem and trust.json")] = Path(
        "keys"
    ),
    valid_days: Annotated[int, typer.Option(min=1, help="days the keys are trusted")] = 365,
) -> None:
    """Create an Ed25519 key per center (municipal, districts, towns) and the public trust.json."""
    from simulation.live.keys import init_keys

    counts = init_keys(_load_or_exit(scenario), out, valid_days=valid_days)
    console.print(f"{out}: {counts} keys; give each center its private/<key id>.pem only")


@app.command("broker-config")
def broker_config(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file (its responders)")],
    out: Annotated[Path, typer.Option(help="folder for mosquitto.conf, passwd, acl")] = Path(
        "broker"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="plain listener port")] = 1883,
    tls_port: Annotated[
        int | None, typer.Option(help="also a TLS listener on this port, with a test CA")
    ] = None,
    host: Annotated[
        str, typer.Option(help="address the listeners bind (0.0.0.0 inside a container)")
    ] = "127.0.0.1",
) -> None:
    """Write a locked-down mosquitto config: passwords, per-user ACLs, optional TLS."""
    from simulation.live.brokerconfig import write_city_broker_config

    files, users = write_city_broker_config(
        _load_or_exit(scenario), out, port=port, tls_port=tls_port, host=host
    )
    console.print(f"{files.conf}: {users} responders + dispatcher; secrets in {files.credentials}")


from dispatcher.service.cli import dispatch  # noqa: E402  (only typer at import)

app.command("dispatch")(dispatch)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
