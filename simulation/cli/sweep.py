"""`alertsim sweep`: a grid of scenario overrides with one seed, to sweep.csv, .json and .html."""

from pathlib import Path
from typing import Annotated

import typer

from simulation.cli.common import (
    EXIT_INVALID,
    ExecutorOption,
    ScenarioFile,
    WorkersOption,
    console,
    errors,
    executor_failures,
    executor_or_exit,
    load_or_exit,
)

__all__ = ["sweep"]


def sweep(
    scenario: ScenarioFile,
    set_: Annotated[
        list[str],
        typer.Option(
            "--set", help="PATH=V1,V2,... e.g. channels.app_push.failure=0,0.15,0.45 (repeatable)"
        ),
    ],
    replications: Annotated[int, typer.Option(min=1, help="replications per grid point")] = 1,
    workers: WorkersOption = None,
    executor: ExecutorOption = "local",
    out: Annotated[
        Path | None, typer.Option(help="output folder (default runs/<scenario name>-sweep)")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress or table")] = False,
) -> None:
    """Run a grid of overrides with one seed (common random numbers); write sweep.csv/json/html."""
    from simulation.experiment.sweep import (
        build_grid,
        run_sweep_with_progress,
        task_file,
        write_outputs,
    )
    from simulation.report.sweep import print_sweep
    from simulation.scenario import ScenarioError

    spec = executor_or_exit(executor, workers)
    loaded = load_or_exit(scenario)
    try:
        overrides, grid = build_grid(loaded, set_)
    except ScenarioError as exc:
        errors.print(
            f"[bold red]{len(exc.errors)} problem(s) in the --set options:[/]", markup=True
        )
        for line in exc.errors:
            # one line per problem, unwrapped, so it can be grepped and pasted
            errors.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    out_dir = out if out is not None else Path("runs") / f"{loaded.scenario.name}-sweep"
    meta = {
        "scenario": loaded.scenario.name,
        "scenario_file": str(loaded.path),
        "scenario_sha256": loaded.sha256,
        "seed": loaded.scenario.seed,
        "replications": replications,
    }
    resume = task_file(out_dir, grid, meta)
    total = len(grid) * replications
    if resume.done and not quiet:
        console.print(f"resuming: {len(resume.done)} of {total} task(s) kept in {resume.path}")
    try:
        with executor_failures():
            rows = run_sweep_with_progress(
                grid, replications, executor=spec, console=None if quiet else console, resume=resume
            )
    except typer.Exit:
        resume.close(finished=False)
        if resume.done:
            errors.print(
                f"{len(resume.done)} of {total} task(s) kept in {resume.path}: "
                "run the same command again to resume",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        raise
    write_outputs(out_dir, overrides, rows, meta)
    resume.close(finished=True)
    if not quiet:
        print_sweep(overrides, rows, console)
        console.print(
            f"sweep: {out_dir / 'sweep.csv'}, {out_dir / 'sweep.json'}, {out_dir / 'sweep.html'}"
        )
