"""`alertsim sensitivity`: each parameter to a low and a high value, one at a time, to a tornado."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulation.cli.common import EXIT_INVALID, ScenarioFile, console, errors, fail, load_or_exit

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
    workers: Annotated[
        int, typer.Option(min=1, help="processes (figures do not depend on it)")
    ] = 1,
    out: Annotated[
        Path | None, typer.Option(help="output folder (default runs/<scenario name>-sensitivity)")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress or table")] = False,
) -> None:
    """Vary each parameter one at a time (common random numbers); write sensitivity.json/html."""
    from simulation.experiment.sensitivity import build_variants, run_with_progress, write_outputs
    from simulation.experiment.sensitivity_params import default_parameters, load_parameters
    from simulation.report.sensitivity import print_sensitivity
    from simulation.scenario import ScenarioError

    if factor <= 1.0:
        fail(f"--factor: expected a number greater than 1, got {factor:g}")
    loaded = load_or_exit(scenario)
    try:
        parameters = (
            default_parameters(loaded, factor)
            if params is None
            else load_parameters(params, loaded)
        )
        variants = build_variants(loaded, parameters)
    except ScenarioError as exc:
        errors.print(f"[bold red]{len(exc.errors)} problem(s) in the parameters:[/]")
        for line in exc.errors:
            errors.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    out_dir = out if out is not None else Path("runs") / f"{loaded.scenario.name}-sensitivity"
    analysis = run_with_progress(
        loaded, variants, replications, workers=workers, console=None if quiet else console
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
    json_path, html_path = write_outputs(out_dir, document)
    if not quiet:
        print_sensitivity(document, console)
        console.print(f"sensitivity: {json_path}, {html_path}")
