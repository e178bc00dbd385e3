"""Parameter sweeps: a grid of scenario overrides run with common random numbers, to sweep.*.

`--set channels.app_push.failure=0,0.15,0.45 --set strategy=cascade,direct` gives six grid points.
Every point keeps the scenario's seed, so each replication `r` draws from the same streams at every
point (common random numbers): differences between points come from the parameters, not from luck.
Each override is checked against the scenario schema before anything runs, and every bad one is
reported with the same path-qualified lines as a bad scenario file. How the rows read (answers,
table, sweep.html) is :mod:`simulation.report.sweep`.
"""

from __future__ import annotations

import copy
import csv
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from simulation.experiment.executors import ExecutorSpec
from simulation.experiment.replications import Figures, aggregate, count_progress, run_tasks
from simulation.experiment.taskfile import TaskFile
from simulation.report.sweep import SHARE, TABLE_FIGURES, answers, render_html
from simulation.report.verdict import outcome
from simulation.scenario import LoadedScenario, Scenario, ScenarioError, format_validation_error

if TYPE_CHECKING:
    from rich.console import Console


# Finished (grid point, replication) tasks of a sweep under way; removed once sweep.json is out.
TASKS_FILE = "sweep-tasks.jsonl"


@dataclass(frozen=True, slots=True)
class Override:
    """One `--set PATH=V1,V2,...`: a dotted path into the scenario and the values to try."""

    text: str
    path: tuple[str, ...]
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        return ".".join(self.path)


def parse_set(text: str) -> Override:
    """`channels.app_push.failure=0,0.15` -> Override; values are read as YAML scalars."""
    where = f"--set {text}"
    path_text, sep, values_text = text.partition("=")
    path = tuple(path_text.strip().split("."))
    if not sep or not path_text.strip() or any(not part for part in path):
        raise ScenarioError(
            [f"{where}: expected PATH=VALUE[,VALUE...] with a dotted scenario path, got {text!r}"]
        )
    raw = [v.strip() for v in values_text.split(",")]
    if any(not v for v in raw):
        raise ScenarioError([f"{where}: expected non-empty comma-separated values, got {text!r}"])
    try:
        values = tuple(yaml.safe_load(v) for v in raw)
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{where}: expected YAML scalars as values, got {exc}"]) from exc
    return Override(text=text, path=path, values=values)


def _apply(data: dict[str, Any], override: Override, value: Any) -> dict[str, Any]:
    """A copy of the scenario data with one path set; ScenarioError if the path cannot exist."""
    out = copy.deepcopy(data)
    node: Any = out
    walked = "scenario"
    for key in override.path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise ScenarioError(
                [
                    f"--set {override.text}: {walked}: expected a mapping to hold {key!r}, "
                    f"got {type(node).__name__}"
                ]
            )
        walked += f".{key}"
    last = override.path[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    else:
        raise ScenarioError(
            [
                f"--set {override.text}: {walked}: expected a mapping to hold {last!r}, "
                f"got {type(node).__name__}"
            ]
        )
    return out


def _validate(loaded: LoadedScenario, data: dict[str, Any], where: str) -> Scenario:
    if data.get("topology", {}).get("path") != loaded.scenario.topology.path:
        raise ScenarioError(
            [f"{where}: scenario.topology.path: expected it unchanged in a sweep, got a new value"]
        )
    context = {"district_codes": {d.code for d in loaded.topology.districts}}
    try:
        return Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(where, exc)) from exc


@dataclass(frozen=True, slots=True)
class GridPoint:
    values: dict[str, Any]  # override name -> value
    loaded: LoadedScenario


def build_grid(
    loaded: LoadedScenario, texts: Sequence[str]
) -> tuple[list[Override], list[GridPoint]]:
    """Parse and check every --set, then every combination; ScenarioError lists all problems."""
    problems: list[str] = []
    overrides: list[Override] = []
    for text in texts:
        try:
            overrides.append(parse_set(text))
        except ScenarioError as exc:
            problems.extend(exc.errors)
    base = loaded.scenario.model_dump(mode="json")
    # Each value alone first, so one bad value is named once rather than once per combination.
    for override in overrides:
        for value in override.values:
            try:
                _validate(loaded, _apply(base, override, value), f"--set {override.text}")
            except ScenarioError as exc:
                problems.extend(exc.errors)
    names = [o.name for o in overrides]
    if len(set(names)) != len(names):
        problems.append(f"--set: expected each path once, got {sorted(names)}")
    if problems:
        raise ScenarioError(problems)
    grid: list[GridPoint] = []
    for combo in itertools.product(*(o.values for o in overrides)):
        data = base
        for override, value in zip(overrides, combo, strict=True):
            data = _apply(data, override, value)
        where = "--set " + " ".join(f"{o.name}={v}" for o, v in zip(overrides, combo, strict=True))
        try:
            scenario = _validate(loaded, data, where)
        except ScenarioError as exc:
            problems.extend(exc.errors)
            continue
        grid.append(
            GridPoint(
                values={o.name: v for o, v in zip(overrides, combo, strict=True)},
                loaded=loaded.model_copy(update={"scenario": scenario}),
            )
        )
    if problems:
        raise ScenarioError(problems)
    return overrides, grid


def run_sweep(
    grid: Sequence[GridPoint],
    replications: int,
    *,
    executor: ExecutorSpec | None = None,
    done: Callable[[int], None] | None = None,
    resume: TaskFile | None = None,
) -> list[dict[str, Any]]:
    """One row per grid point: its parameter values, headline means and the replication block.

    With ``resume``, tasks it holds are not run again and each task that finishes is recorded
    there as it does, so a sweep cut off (a lost scheduler, say) resumes from it.
    """
    tasks = [(point.loaded, r) for point in grid for r in range(replications)]
    kept: dict[int, Figures] = dict(resume.done) if resume is not None else {}
    todo = [i for i in range(len(tasks)) if i not in kept]

    def finished(j: int, figures: Figures) -> None:
        if resume is not None:
            resume.record(todo[j], figures)
        if done is not None:
            done(todo[j])

    results = run_tasks([tasks[i] for i in todo], executor=executor, finished=finished)
    ran = dict(zip(todo, results, strict=True))
    figures = [kept[i] if i in kept else ran[i] for i in range(len(tasks))]
    rows = []
    for index, point in enumerate(grid):
        mine: list[Figures] = figures[index * replications : (index + 1) * replications]
        block = aggregate(mine)
        targets = point.loaded.scenario.targets
        share = block[SHARE]["mean"]
        rows.append(
            {
                **point.values,
                **{column: block[key]["mean"] for key, column in TABLE_FIGURES},
                "meets_notify_target": share is not None
                and share >= targets.notify_target_share - 1e-12,
                # MET, MISSED or cannot tell from the interval, as `alertsim run` says it
                "notify_verdict": None
                if share is None
                else outcome(
                    float(share),
                    _number(block[SHARE]["ci95_low"]),
                    _number(block[SHARE]["ci95_high"]),
                    targets.notify_target_share,
                ),
                "notify_target_share": targets.notify_target_share,
                "notify_target_s": targets.notify_target_s,
                "replications": block,
            }
        )
    return rows


def _number(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def _csv_value(value: Any) -> str:
    return "" if value is None else str(value)


def write_outputs(
    out_dir: Path,
    overrides: Sequence[Override],
    rows: Sequence[dict[str, Any]],
    meta: dict[str, Any],
) -> None:
    """sweep.csv (one row per grid point), sweep.json (with the intervals) and sweep.html."""
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = [o.name for o in overrides] + [c for _, c in TABLE_FIGURES] + ["meets_notify_target"]
    with (out_dir / "sweep.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_value(row[c]) for c in columns])
    document = {**meta, "parameters": [o.name for o in overrides], "rows": list(rows)}
    document["answers"] = answers(overrides, rows)
    (out_dir / "sweep.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    (out_dir / "sweep.html").write_text(render_html(overrides, rows, meta), encoding="utf-8")


def run_sweep_with_progress(
    grid: Sequence[GridPoint],
    replications: int,
    *,
    executor: ExecutorSpec | None = None,
    console: Console | None = None,
    resume: TaskFile | None = None,
) -> list[dict[str, Any]]:
    """run_sweep with a progress bar over (grid point, replication) tasks when given a console."""
    if console is None:
        return run_sweep(grid, replications, executor=executor, resume=resume)
    with count_progress(console) as bar:
        task = bar.add_task(
            f"{len(grid)} grid point(s) x {replications} replication(s)",
            total=len(grid) * replications,
            completed=0 if resume is None else len(resume.done),
        )
        return run_sweep(
            grid,
            replications,
            executor=executor,
            done=lambda _i: bar.advance(task),
            resume=resume,
        )


def task_file(out_dir: Path, grid: Sequence[GridPoint], meta: dict[str, Any]) -> TaskFile:
    """The sweep's results file of finished tasks in ``out_dir`` (see `taskfile`)."""
    header = {**meta, "grid": [point.values for point in grid]}
    return TaskFile(out_dir / TASKS_FILE, header)
