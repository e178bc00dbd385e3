"""`alertsim sensitivity`: each parameter to a low and a high value, one at a time, to a tornado."""

from collections.abc import Callable
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
    from simulation.experiment.executors import ExecutorSpec
    from simulation.experiment.sensitivity import Variant
    from simulation.experiment.sensitivity_params import Parameter
    from simulation.scenario import LoadedScenario

__all__ = ["sensitivity"]


def sensitivity(
    scenario: ScenarioFile,
    params: Annotated[
        Path | None,
        typer.Option(help="YAML of parameters (paths with low/high or a factor); default set else"),
    ] = None,
    factor: Annotated[
        float, typer.Option(help="default set: divide and multiply each by this (> 1)")
    ] = 2.0,
    replications: Annotated[
        int, typer.Option(min=1, help="replications per variant (>1: 95% intervals)")
    ] = 1,
    workers: WorkersOption = None,
    executor: ExecutorOption = "local",
    out: Annotated[
        Path | None, typer.Option(help="output folder (default runs/<scenario name>-sensitivity)")
    ] = None,
    morris: Annotated[
        int,
        typer.Option(min=0, help="also Morris screening over this many trajectories (SALib)"),
    ] = 0,
    morris_levels: Annotated[int, typer.Option(min=2, help="Morris: grid levels")] = 4,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress or table")] = False,
) -> None:
    """Vary each parameter one at a time (common random numbers); write sensitivity.json/html."""
    from simulation.experiment.sensitivity import run_with_progress, write_outputs
    from simulation.report.sensitivity import print_sensitivity

    if factor <= 1.0:
        fail(f"--factor: expected a number greater than 1, got {factor:g}")
    if morris:
        from simulation.extras import MissingExtra, require

        try:
            require("sensitivity", "alertsim sensitivity --morris")
        except MissingExtra as exc:
            fail(str(exc), EXIT_FAILED)
    spec = executor_or_exit(executor, workers)
    loaded = load_or_exit(scenario)
    parameters, variants = _parameters(loaded, params, factor, morris=morris > 0)
    out_dir = out if out is not None else Path("runs") / f"{loaded.scenario.name}-sensitivity"
    with executor_failures():
        analysis = run_with_progress(
            loaded, variants, replications, executor=spec, console=None if quiet else console
        )
    targets = loaded.scenario.targets
    document = {
        "scenario": loaded.scenario.name,
        "scenario_file": str(loaded.path),
        "scenario_sha256": loaded.sha256,
        "seed": loaded.scenario.seed,
        "replications": replications,
        "parameters_file": None if params is None else str(params),
        "factor": factor if params is None else None,
        "targets": targets.model_dump(mode="json"),
        **analysis,
    }
    if morris:
        with executor_failures():
            document["morris"] = _morris(
                loaded, parameters, morris, morris_levels, replications, spec, quiet
            )
    json_path, html_path = write_outputs(out_dir, document)
    if not quiet:
        print_sensitivity(document, console)
        console.print(f"sensitivity: {json_path}, {html_path}")


def _morris(
    loaded: "LoadedScenario",
    parameters: "list[Parameter]",
    trajectories: int,
    levels: int,
    replications: int,
    executor: "ExecutorSpec",
    quiet: bool,
) -> dict[str, Any]:
    """Morris screening over the same parameters, with its own progress bar."""
    from simulation.experiment.morris import run_morris, total_runs
    from simulation.experiment.replications import count_progress

    def run(done: Callable[[int], None] | None) -> dict[str, Any]:
        return run_morris(
            loaded,
            parameters,
            trajectories=trajectories,
            replications=replications,
            levels=levels,
            executor=executor,
            done=done,
        )

    if quiet:
        return run(None)
    with count_progress(console) as bar:
        task = bar.add_task(
            f"Morris: {trajectories} trajectories x {len(parameters) + 1} points",
            total=total_runs(parameters, trajectories, replications),
        )
        return run(lambda _i: bar.advance(task))


def _parameters(
    loaded: "LoadedScenario", params: Path | None, factor: float, *, morris: bool
) -> "tuple[list[Parameter], list[Variant]]":
    """The parameters and their variants, or exit 2 listing every problem."""
    from simulation.experiment.sensitivity import build_variants
    from simulation.experiment.sensitivity_params import default_parameters, load_parameters
    from simulation.scenario import ScenarioError

    try:
        parameters = (
            default_parameters(loaded, factor)
            if params is None
            else load_parameters(params, loaded)
        )
        variants = build_variants(loaded, parameters)
        if morris:
            from simulation.experiment.morris import check_interpolable

            check_interpolable(parameters)
    except ScenarioError as exc:
        errors.print(f"[bold red]{len(exc.errors)} problem(s) in the parameters:[/]")
        for line in exc.errors:
            errors.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    return parameters, variants
