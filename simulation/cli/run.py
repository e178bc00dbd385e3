"""`alertsim run`: one scenario in virtual time or live over MQTT, to a run folder and a summary.

Mode dispatch only: the virtual run is :func:`simulation.experiment.virtual.run_virtual` (with a
progress bar here), the live run :func:`simulation.cli.live.run_live`, and what follows (report,
replications, the run folder) :func:`simulation.experiment.folder.finish_run`.
"""

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from simulation.cli.common import (
    EXIT_FAILED,
    ExecutorOption,
    ScenarioFile,
    WorkersOption,
    console,
    executor_failures,
    executor_or_exit,
    fail,
    leave_to_exit,
    leaves_to_exit,
    load_or_exit,
    status_bar,
)

if TYPE_CHECKING:
    from simulation.experiment.beside import Job
    from simulation.experiment.executors import ExecutorSpec
    from simulation.experiment.folder import RunFolder
    from simulation.model.world import World
    from simulation.report.build import RunResult
    from simulation.scenario import LoadedScenario

__all__ = ["run"]

Out = Annotated[Path | None, typer.Option(help="output folder (default runs/<scenario name>)")]
Seed = Annotated[int | None, typer.Option(help="override the scenario's seed")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar or summary")]
Replications = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="independent replications (default 3 in virtual mode, 1 live); >1 gives each "
        "figure's mean and 95% CI; with --precision, the least run",
    ),
]
Precision = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        help="run replications in batches until the 95% CI half-width of the share acknowledged "
        "within the target is at most this (e.g. 0.01), up to --max-replications",
    ),
]
MaxReplications = Annotated[
    int, typer.Option(min=2, help="--precision: the most replications it may run")
]
Mode = Annotated[str, typer.Option(help="virtual (SimPy time) or live (over a real MQTT broker)")]
Broker = Annotated[str, typer.Option(help="live: broker as mqtt://host:port")]
Speed = Annotated[float, typer.Option(min=0.001, help="live: model seconds per wall second")]
Strict = Annotated[
    bool, typer.Option("--strict", help="live: fail when the model lags the wall clock")
]
MaxLagMs = Annotated[
    float, typer.Option(min=0.0, help="live --strict: allowed lag, wall milliseconds")
]
LocalSwarm = Annotated[
    bool,
    typer.Option(
        "--local-swarm/--external-swarm",
        help="live: play the responders in this process, or leave them to `alertsim swarm`",
    ),
]
PerConnection = Annotated[
    int, typer.Option(min=1, help="live --local-swarm: responders sharing one connection")
]
Faults = Annotated[
    list[str] | None,
    typer.Option(
        help="live: rehearse an outage through a fault proxy, e.g. "
        "district:500101:blackhole:300s, all:delay:60s:250ms@10s, all:cut%0.5@30s"
    ),
]
Keys = Annotated[
    Path | None,
    typer.Option(help="live: key set to sign with (alertsim keys init; default: temporary)"),
]
Sign = Annotated[
    bool, typer.Option("--sign/--unsigned", help="live: sign every alert (the default)")
]
Area = Annotated[
    list[Path] | None,
    typer.Option(
        help="alert only the towns inside this GeoJSON polygon file (repeatable; needs "
        "topology.geometry: true)"
    ),
]
Credentials = Annotated[
    Path | None,
    typer.Option(help="live: credentials.json of alertsim broker-config (locked-down broker)"),
]
Payload = Annotated[
    str, typer.Option(help="live: alerts on MQTT as CAP json (the default) or CAP xml")
]
CapFiles = Annotated[
    list[Path] | None,
    typer.Option(
        "--cap",
        help="replay this CAP 1.2 XML alert (repeat for its updates and cancel, references "
        "resolved to the messages replayed before) at its sent time, instead of the hazard's "
        "warnings",
    ),
]
RunId = Annotated[
    str | None,
    typer.Option(help="live: the run's id in every alert id (1-10 of a-z 0-9; default: fresh)"),
]


MetricsPort = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=65535,
        help="live: serve Prometheus metrics on PORT at /metrics (the metrics extra)",
    ),
]

MetricsHost = Annotated[
    str, typer.Option(help="live --metrics-port: address to serve on (0.0.0.0 in a container)")
]


def run(
    scenario: ScenarioFile,
    out: Out = None,
    seed: Seed = None,
    quiet: Quiet = False,
    replications: Replications = None,
    precision: Precision = None,
    max_replications: MaxReplications = 100,
    workers: WorkersOption = None,
    executor: ExecutorOption = "local",
    mode: Mode = "virtual",
    broker: Broker = "mqtt://127.0.0.1:1883",
    speed: Speed = 20.0,
    strict: Strict = False,
    max_lag_ms: MaxLagMs = 500.0,
    local_swarm: LocalSwarm = True,
    responders_per_connection: PerConnection = 50,
    fault: Faults = None,
    keys: Keys = None,
    sign: Sign = True,
    credentials: Credentials = None,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
    area: Area = None,
    run_id: RunId = None,
    cap: CapFiles = None,
    payload: Payload = "json",
) -> None:
    """Run a scenario in virtual time (or live over MQTT) and write report.json and a summary."""
    from simulation.experiment.folder import finish_run

    spec = executor_or_exit(executor, workers)
    loaded = load_or_exit(scenario, seed=seed)
    if area:
        loaded = _with_area(loaded, area)
    if payload not in ("json", "xml"):
        fail(f"--payload: expected json or xml, got {payload!r}")
    if cap:
        from simulation.cli.cap import with_replay

        loaded = with_replay(loaded, cap)
    out_dir = out if out is not None else Path("runs") / loaded.scenario.name
    _check_options(mode, replications, precision, fault, run_id, metrics_port)
    out_dir.mkdir(parents=True, exist_ok=True)
    shown = None if quiet else console
    if shown is not None and loaded.rainfall is not None:
        shown.print(loaded.rainfall.summary(), markup=False, highlight=False)
    if mode == "live":
        from simulation.cli.live import run_live

        result, live = run_live(
            loaded,
            broker=broker,
            speed=speed,
            strict=strict,
            max_lag_ms=max_lag_ms,
            local_swarm=local_swarm,
            responders_per_connection=responders_per_connection,
            faults=fault or [],
            keys=keys,
            sign=sign,
            credentials=credentials,
            console=shown,
            metrics_port=metrics_port,
            metrics_host=metrics_host,
            payload=payload,
            run_id=run_id,
        )
        report, folder = finish_run(result, out_dir, live=live, console=shown)
    else:
        counts = (replications, precision, max_replications)
        report, folder = _run_virtual_folder(loaded, counts, spec, out_dir, quiet=quiet)
    if not quiet:
        _print_outcome(report, folder)


def _run_virtual_folder(
    loaded: "LoadedScenario",
    counts: tuple[int | None, float | None, int],
    spec: "ExecutorSpec",
    out_dir: Path,
    *,
    quiet: bool,
) -> "tuple[dict[str, Any], RunFolder]":
    """The virtual run over replications and its folder, records.csv.gz started as soon as
    replication 0's model ends: written beside the records taken for the report, the report
    and the other replications where that is safe (`simulation.experiment.beside`), else in
    place once they are taken.

    The only replication a process runs before it ends leaves its world to the exit
    (`leave_to_exit`) instead of freeing it: 0.2 s, three times that beside the forked writer,
    each page it frees copied. Another replication run here would thaw the collector's frozen
    generation and walk the world, so with more than one it is freed as always.
    """
    from simulation.experiment.folder import finish_run, fork_records, start_records

    replications, precision, _ = counts
    keep = replications == 1 and precision is None and leaves_to_exit()
    with ExitStack() as reaped:  # a writer left behind by a failure is waited for
        started: list[Job[int]] = []
        kept: list[World] = []

        def ran(world: "World") -> bool:
            forked = fork_records(world, out_dir)
            if forked is not None:
                started.append(reaped.enter_context(forked))
            if keep:
                kept.append(world)
            return keep

        def first() -> "RunResult":
            result = _run_virtual(loaded, quiet=quiet, ran=ran)
            if kept:
                leave_to_exit(*kept)  # frozen now: no collection while the report is built
            if not started:  # not forked: written here, from the records taken
                started.append(reaped.enter_context(start_records(result, out_dir)))
            return result

        result, built = _replicated(loaded, counts, spec, first, quiet=quiet)
        shown = None if quiet else console
        done = finish_run(result, out_dir, report=built, records=started[0], console=shown)
        leave_to_exit(result)  # the records: nothing reads them again
        return done


def _replicated(
    loaded: "LoadedScenario",
    counts: tuple[int | None, float | None, int],
    spec: "ExecutorSpec",
    run_first: "Callable[[], RunResult]",
    *,
    quiet: bool,
) -> "tuple[RunResult, dict[str, Any]]":
    """The virtual run over replications: (replications, precision, max_replications), the
    first of them ``run_first()``."""
    from simulation.experiment.replicate import DEFAULT_REPLICATIONS, Plan, run_replicated

    replications, precision, max_replications = counts
    plan = Plan(replications or DEFAULT_REPLICATIONS, precision, max_replications)
    if precision is not None and max_replications < plan.replications:
        fail(
            f"--max-replications: expected at least --replications ({plan.replications}), "
            f"got {max_replications}"
        )
    with executor_failures():
        return run_replicated(
            loaded,
            plan,
            run_first=run_first,
            executor=spec,
            console=None if quiet else console,
        )


def _check_options(
    mode: str,
    replications: int | None,
    precision: float | None,
    fault: list[str] | None,
    run_id: str | None,
    metrics_port: int | None = None,
) -> None:
    if mode not in ("virtual", "live"):
        fail(f"--mode: expected virtual or live, got {mode!r}")
    # a live run is one pass against a real broker; its replications would not be independent
    if replications is not None and replications > 1 and mode != "virtual":
        fail(f"--replications: expected 1 with --mode {mode}, got {replications}")
    if precision is not None and mode != "virtual":
        fail(f"--precision: expected --mode virtual, got --mode {mode}")
    if precision is not None and precision <= 0:
        fail(f"--precision: expected a half-width above 0 (e.g. 0.01), got {precision:g}")
    if fault and mode != "live":
        fail(f"--fault: expected --mode live, got --mode {mode}")
    if metrics_port is not None and mode != "live":
        fail(f"--metrics-port: expected --mode live, got --mode {mode}")
    if run_id is not None and mode != "live":
        fail(f"--run-id: expected --mode live (virtual runs derive theirs), got --mode {mode}")


def _with_area(loaded: "LoadedScenario", files: list[Path]) -> "LoadedScenario":
    """The scenario with its hazard's alert area drawn by `--area` files instead."""
    from simulation.extras import MissingExtra, require
    from simulation.scenario import AlertArea
    from simulation.scenario.geodata import check_area

    scenario = loaded.scenario
    if not scenario.topology.geometry:
        fail(
            f"--area: expected a scenario with topology.geometry: true (towns need places to "
            f"be inside an area), got false in {loaded.path}"
        )
    try:
        require("geo", "--area")
    except MissingExtra as exc:
        fail(str(exc), EXIT_FAILED)
    select_by = scenario.hazard.areas.select_by if scenario.hazard.areas else "point"
    area = AlertArea(files=[str(f.resolve()) for f in files], select_by=select_by)
    problems = check_area(area, Path.cwd(), loaded.topology, scenario.topology)
    if problems:
        fail(f"--area: {problems[0]}")
    hazard = scenario.hazard.model_copy(update={"areas": area})
    return loaded.model_copy(update={"scenario": scenario.model_copy(update={"hazard": hazard})})


def _run_virtual(
    loaded: "LoadedScenario", *, quiet: bool, ran: "Callable[[World], bool]"
) -> "RunResult":
    """One virtual replication, with a progress bar of the share acknowledged unless quiet;
    ``ran(world)`` once its model has run (`run_virtual`), the bar stopped by then."""
    from simulation.experiment.virtual import Progress as ModelProgress
    from simulation.experiment.virtual import run_virtual

    if quiet:
        return run_virtual(loaded, ran=ran)
    with status_bar(console) as bar:
        task = bar.add_task(f"running {loaded.scenario.name}", total=1.0, status="")

        def show(p: ModelProgress) -> None:
            bar.update(
                task,
                completed=p.acknowledged_share,
                status=f"model {p.now_s:,.0f} s, {p.alerts_issued} "
                f"alert{'' if p.alerts_issued == 1 else 's'}, "
                f"{p.acknowledged_share:.1%} acknowledged",
            )

        def stopped(world: "World") -> bool:
            bar.stop()  # its refresh thread ended: a process of one thread may fork
            return ran(world)

        return run_virtual(loaded, progress=show, ran=stopped)


def _print_outcome(report: dict[str, Any], folder: "RunFolder") -> None:
    from simulation.report.terminal import print_summary

    print_summary(report, console)
    if "replications" in report:
        from simulation.report.intervals import print_intervals, print_ranking

        print_intervals(report["replications"], console)
        print_ranking(report, console)
    console.print(f"report: {folder.report_json} and {folder.report_html}")
