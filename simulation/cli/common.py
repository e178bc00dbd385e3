"""What every alertsim command shares: consoles, exit codes, one-line failures, scenario loading.

Imports only typer and rich at module level, so that `alertsim --help` stays fast; each command
imports the model, reports or transports it needs when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from simulation.scenario import LoadedScenario

__all__ = [
    "EXIT_FAILED",
    "EXIT_INVALID",
    "EXIT_LIVE_FAILED",
    "ScenarioFile",
    "console",
    "errors",
    "fail",
    "load_or_exit",
]

# No markup and no :emoji: codes by default: what is printed quotes file names and scenario
# fields (`a:x:b.yaml` must print as written); a line that wants markup asks for it and
# escapes what it quotes (`rich.markup.escape`).
console = Console(markup=False, emoji=False)
errors = Console(stderr=True, markup=False, emoji=False)

EXIT_FAILED = 1  # could not do its job (a missing extra, say)
EXIT_INVALID = 2  # bad input: nothing ran
EXIT_LIVE_FAILED = 3  # a live run, swarm or dispatcher could not finish over the broker

ScenarioFile = Annotated[Path, typer.Argument(help="scenario YAML file")]


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    """Print ``message`` as one line on stderr (no markup: it may quote user input) and exit."""
    errors.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load_or_exit(path: Path, *, seed: int | None = None) -> LoadedScenario:
    """The scenario at ``path`` (with ``seed`` for its own), or exit 2 listing every problem."""
    from simulation.geo.extras import MissingExtra
    from simulation.scenario import ScenarioError, load_scenario

    try:
        loaded = load_scenario(path)
    except MissingExtra as exc:  # geometry or rainfall data without shapely or xarray
        fail(f"{path}: {exc}", EXIT_FAILED)
    except ScenarioError as exc:
        shown = escape(str(path))
        errors.print(
            f"[bold red]{len(exc.errors)} problem(s) in {shown}:[/]", markup=True, soft_wrap=True
        )
        for line in exc.errors:
            errors.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    if seed is None:
        return loaded
    return loaded.model_copy(update={"scenario": loaded.scenario.model_copy(update={"seed": seed})})
