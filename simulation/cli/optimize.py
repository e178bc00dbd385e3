"""`alertsim optimize`: the cheapest plans over the planner's levers that meet the targets."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from simulation.cli.common import (
    EXIT_FAILED,
    EXIT_INVALID,
    ExecutorOption,
    ScenarioFile,
    WorkersOption,
    console,
    errors,
    executor_failures,
    executor_or_exit,
    fail,
    load_or_exit,
)

if TYPE_CHECKING:
    from rich.progress import Progress

    from simulation.experiment.executors import ExecutorSpec
    from simulation.experiment.levers import Levers
    from simulation.scenario import LoadedScenario

__all__ = ["optimize"]


def optimize(
    scenario: ScenarioFile,
    levers: Annotated[Path, typer.Option(help="YAML of levers (paths, ranges or choices, costs)")],
    trials: Annotated[
        int, typer.Option(min=1, help="trials in the study in all (resumed ones count)")
    ] = 50,
    timeout: Annotated[
        float | None,
        typer.Option(min=0.0, help="stop starting trials after this many wall seconds"),
    ] = None,
    replications: Annotated[int, typer.Option(min=2, help="replications per trial")] = 5,
    workers: WorkersOption = None,
    executor: ExecutorOption = "local",
    sampler: Annotated[str, typer.Option(help="tpe, nsga2 or random")] = "tpe",
    sampler_seed: Annotated[
        int, typer.Option(help="the sampler's seed (same seed, same search)")
    ] = 0,
    out: Annotated[
        Path | None, typer.Option(help="output folder (default runs/<scenario name>-optimize)")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress or table")] = False,
) -> None:
    """Search the levers for the cheapest plans meeting the targets; write optimize.json/html."""
    from simulation.experiment.optimize import SAMPLERS
    from simulation.extras import MissingExtra, require

    if sampler not in SAMPLERS:
        fail(f"--sampler: expected one of {', '.join(SAMPLERS)}, got {sampler!r}")
    try:
        require("optimize", "alertsim optimize")
    except MissingExtra as exc:
        fail(str(exc), EXIT_FAILED)
    from simulation.experiment.levers import load_levers
    from simulation.scenario import ScenarioError

    where = executor_or_exit(executor, workers)
    loaded = load_or_exit(scenario)
    try:
        spec = load_levers(levers, loaded)
    except ScenarioError as exc:
        errors.print(f"[bold red]{len(exc.errors)} problem(s) in {levers}:[/]")
        for line in exc.errors:
            errors.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    out_dir = out if out is not None else Path("runs") / f"{loaded.scenario.name}-optimize"
    meta = {
        "scenario": loaded.scenario.name,
        "scenario_file": str(loaded.path),
        "scenario_sha256": loaded.sha256,
        "seed": loaded.scenario.seed,
        "levers_file": str(levers),
        "replications": replications,
        "sampler": sampler,
        "sampler_seed": sampler_seed,
    }
    with executor_failures():
        _run(
            loaded, spec, out_dir, meta, trials=trials, timeout=timeout, executor=where, quiet=quiet
        )


def _run(
    loaded: "LoadedScenario",
    spec: "Levers",
    out_dir: Path,
    meta: dict[str, Any],
    *,
    trials: int,
    timeout: float | None,
    executor: "ExecutorSpec",
    quiet: bool,
) -> None:
    from simulation.experiment.optimize import OptimizeError, evaluate, run_study, study_trials
    from simulation.experiment.optimize_results import build_document, write_outputs
    from simulation.experiment.replications import count_progress
    from simulation.report.optimize import print_plans

    replications: int = meta["replications"]
    bar: Progress | None = None if quiet else count_progress(console)
    task = None

    def started(count: int) -> None:
        nonlocal task
        if bar is not None:
            task = bar.add_task(f"{count} trial(s) x {replications} replication(s)", total=count)

    def done() -> None:
        if bar is not None and task is not None:
            bar.advance(task)

    try:
        if bar is not None:
            bar.start()
        study = run_study(
            loaded,
            spec,
            out_dir,
            trials=trials,
            timeout_s=timeout,
            replications=replications,
            executor=executor,
            sampler=meta["sampler"],
            seed=meta["sampler_seed"],
            started=started,
            done=done,
        )
        baseline = evaluate(loaded, replications, executor=executor).figures
    except OptimizeError as exc:
        fail(str(exc))
    finally:
        if bar is not None:
            bar.stop()
    document = build_document(meta, spec, baseline, study_trials(study, spec))
    json_path, html_path = write_outputs(out_dir, loaded, spec, document)
    if not quiet:
        print_plans(document, console)
        console.print(f"optimize: {json_path}, {html_path}")
