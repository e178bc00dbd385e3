"""What every alertsim command shares: consoles, exit codes, one-line failures, scenario loading.

Imports only typer and rich at module level, so that `alertsim --help` stays fast; each command
imports the model, reports or transports it needs when it runs.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, cast

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from simulation.experiment.executors import ExecutorSpec
    from simulation.scenario import LoadedScenario

__all__ = [
    "EXIT_FAILED",
    "EXIT_INVALID",
    "EXIT_LIVE_FAILED",
    "ExecutorOption",
    "ScenarioFile",
    "WorkersOption",
    "console",
    "ends_with_command",
    "errors",
    "executor_failures",
    "executor_or_exit",
    "fail",
    "leave_to_exit",
    "leaves_to_exit",
    "load_or_exit",
    "status_bar",
]


# No markup and no :emoji: codes by default: what is printed quotes file names and scenario
# fields (`a:x:b.yaml` must print as written); a line that wants markup asks for it and
# escapes what it quotes (`rich.markup.escape`).
class _Deferred:
    """A rich Console made when first used, each attribute read or set on it forwarded, and
    the dunder methods a Console has (``with console:``, its repr).

    rich is 50-110 ms to import and set up; `alertsim run --quiet` (scripts, the benchmarks,
    the fingerprints) prints nothing and so never imports it.
    """

    def __init__(self, **options: Any) -> None:
        object.__setattr__(self, "_options", options)
        object.__setattr__(self, "_made", None)

    def _console(self) -> "Console":
        made: Console | None = object.__getattribute__(self, "_made")
        if made is None:
            from rich import console

            made = console.Console(**object.__getattribute__(self, "_options"))
            object.__setattr__(self, "_made", made)
        return made

    def __getattr__(self, name: str) -> Any:
        return getattr(self._console(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._console(), name, value)

    # What a Console defines besides its methods; Python looks these up on the type.
    def __enter__(self) -> "Console":
        return self._console().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._console().__exit__(*exc)

    def __repr__(self) -> str:
        return repr(self._console())


# Typed as the Console each becomes: every use goes through to it.
console: "Console" = cast("Console", _Deferred(markup=False, emoji=False))
errors: "Console" = cast("Console", _Deferred(stderr=True, markup=False, emoji=False))

EXIT_FAILED = 1  # could not do its job (a missing extra, say)
EXIT_INVALID = 2  # bad input: nothing ran
EXIT_LIVE_FAILED = 3  # a live run, swarm or dispatcher could not finish over the broker

ScenarioFile = Annotated[Path, typer.Argument(help="scenario YAML file")]
# Every command that runs many replications takes these two (docs/executors.md).
ExecutorOption = Annotated[
    str,
    typer.Option(
        help="where replications run: local (processes), dask-local (a Dask LocalCluster) or "
        "dask://HOST:PORT (a running scheduler); figures do not depend on it"
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="local / dask-local: worker processes (default: one per core; figures do not "
        "depend on it)",
    ),
]


def status_bar(console: "Console") -> "Progress":
    """The progress bar of a run, virtual or live: description, bar, a status text, elapsed."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    """Print ``message`` as one line on stderr (no markup: it may quote user input) and exit."""
    errors.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load_or_exit(path: Path, *, seed: int | None = None) -> "LoadedScenario":
    """The scenario at ``path`` (with ``seed`` for its own), or exit 2 listing every problem."""
    from simulation.extras import MissingExtra
    from simulation.scenario import ScenarioError, load_scenario

    try:
        loaded = load_scenario(path)
    except MissingExtra as exc:  # geometry or rainfall data without shapely or xarray
        fail(f"{path}: {exc}", EXIT_FAILED)
    except ScenarioError as exc:
        from rich.markup import escape

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


def executor_or_exit(text: str, workers: int | None) -> "ExecutorSpec":
    """The executor `--executor TEXT --workers N` names (N default: the cores), or exit 2."""
    import os

    from simulation.experiment.executors import ExecutorError, parse_executor

    try:
        return parse_executor(text, workers if workers is not None else os.cpu_count() or 1)
    except ExecutorError as exc:
        fail(str(exc))


@contextmanager
def executor_failures() -> Iterator[None]:
    """A missing `dask` extra or a lost scheduler inside the block: one line, exit 1."""
    from simulation.experiment.executors import ExecutorError
    from simulation.extras import MissingExtra

    try:
        yield
    except (ExecutorError, MissingExtra) as exc:
        fail(str(exc), EXIT_FAILED)


class _Process:
    ends_with_command = False  # set by `alertsim` itself: nothing runs after the command


def ends_with_command() -> None:
    """Say that this process ends when its command does (`simulation.cli.main`, not a test's
    CliRunner): what a command leaves to the exit (`leave_to_exit`) is then not freed."""
    _Process.ends_with_command = True


def leaves_to_exit() -> bool:
    """Whether `leave_to_exit` leaves what it is given (this process ends with the command)."""
    return _Process.ends_with_command


def leave_to_exit(*objects: object) -> None:
    """Leave ``objects`` (a finished run's records, say) to the process's end, when it ends
    with the command (`ends_with_command`); in a process that goes on, nothing happens here.

    They are put in a reference cycle, and the collector's generations are frozen
    (`gc.freeze`): neither they nor the garbage of a finished model are walked or freed object
    by object at exit (0.35 s of a 0.3-scale city's process, 0.4 s of the whole city's), but
    taken back by the operating system with the rest of the process. Everything else ends as
    always: the files a command wrote are closed already, atexit handlers run, output is
    flushed.
    """
    if not _Process.ends_with_command:
        return
    keep: list[object] = [*objects]
    keep.append(keep)  # a cycle: not freed with the modules at exit, only by the collector
    gc.freeze()
