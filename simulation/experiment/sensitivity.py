"""One-at-a-time sensitivity: each parameter to its low and high value, with common random numbers.

Every variant keeps the scenario's seed, so replication `r` of every variant draws from the same
streams as replication `r` of the baseline: a difference between them comes from the parameter,
not from luck. The effect of a side is therefore measured on paired differences (variant minus
baseline, replication by replication), whose interval is much narrower than the two intervals
apart. Parameters are ranked by their swing on each figure: the spread of the three means (low,
baseline, high). What the page shows is :mod:`simulation.report.sensitivity`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulation.experiment.replications import Figures, count_progress, mean_ci95, run_tasks
from simulation.experiment.sensitivity_params import Parameter
from simulation.experiment.variants import build_variant, set_path
from simulation.scenario import LoadedScenario, ScenarioError

if TYPE_CHECKING:
    from rich.console import Console

    from simulation.experiment.executors import ExecutorSpec

__all__ = [
    "FIGURES",
    "Variant",
    "analyse",
    "build_variants",
    "run_sensitivity",
    "run_with_progress",
    "write_outputs",
]

# The figures whose sensitivity is reported: report name -> what it is, in words.
FIGURES: tuple[str, ...] = ("notification.within_target_share", "response.within_target_share")

Variant = tuple[Parameter, LoadedScenario, LoadedScenario]  # parameter, low, high


def build_variants(loaded: LoadedScenario, parameters: Sequence[Parameter]) -> list[Variant]:
    """Each parameter's low and high scenario, validated; ScenarioError lists every bad one."""
    base = loaded.scenario.model_dump(mode="json")
    problems: list[str] = []
    out: list[Variant] = []
    for param in parameters:
        sides = []
        for side, value in (("low", param.low), ("high", param.high)):
            where = f"{param.name} {side} = {value!r}"
            try:
                sides.append(build_variant(loaded, set_path(base, param.path, value), where))
            except ScenarioError as exc:
                problems.extend(exc.errors)
        if len(sides) == 2:
            out.append((param, sides[0], sides[1]))
    if problems:
        raise ScenarioError(problems)
    return out


def _values(rows: Sequence[Figures], figure: str) -> list[float]:
    return [v for row in rows if (v := row.get(figure)) is not None]


def _paired(variant: Sequence[Figures], base: Sequence[Figures], figure: str) -> list[float]:
    out = []
    for v_row, b_row in zip(variant, base, strict=True):
        v, b = v_row.get(figure), b_row.get(figure)
        if v is not None and b is not None:
            out.append(v - b)
    return out


def _effect(
    low: Sequence[Figures], high: Sequence[Figures], base: Sequence[Figures], figure: str
) -> dict[str, Any]:
    low_ci, high_ci = mean_ci95(_values(low, figure)), mean_ci95(_values(high, figure))
    low_delta = mean_ci95(_paired(low, base, figure))
    high_delta = mean_ci95(_paired(high, base, figure))
    means = [m for m in (low_ci["mean"], high_ci["mean"]) if m is not None]
    base_mean = mean_ci95(_values(base, figure))["mean"]
    if base_mean is not None:
        means.append(base_mean)
    swing = round(max(means) - min(means), 6) if means else 0.0

    def clear_of_zero(delta: dict[str, Any]) -> bool | None:
        lo, hi = delta["ci95_low"], delta["ci95_high"]
        return None if lo is None else bool(lo > 0 or hi < 0)

    sides = (clear_of_zero(low_delta), clear_of_zero(high_delta))
    return {
        "low": low_ci,
        "high": high_ci,
        "low_delta": low_delta,
        "high_delta": high_delta,
        "swing": swing,
        # whether either side's paired interval excludes no effect (None: one replication)
        "beyond_noise": None if sides[0] is None else bool(sides[0] or sides[1]),
    }


def analyse(
    variants: Sequence[Variant], figures: Sequence[Figures], replications: int
) -> dict[str, Any]:
    """Baseline intervals, each parameter's effects, and the ranking per figure."""
    n = replications
    base = figures[:n]
    rows = []
    for i, (param, _low, _high) in enumerate(variants):
        start = n * (1 + 2 * i)
        low, high = figures[start : start + n], figures[start + n : start + 2 * n]
        rows.append(
            {
                "name": param.name,
                "base": param.base,
                "low": param.low,
                "high": param.high,
                "low_label": param.low_label,
                "high_label": param.high_label,
                "effects": {f: _effect(low, high, base, f) for f in FIGURES},
            }
        )
    ranking = {
        f: [r["name"] for r in sorted(rows, key=lambda r: (-r["effects"][f]["swing"], r["name"]))]
        for f in FIGURES
    }
    order = {name: i for i, name in enumerate(ranking[FIGURES[0]])}
    rows.sort(key=lambda r: order[r["name"]])
    return {
        "baseline": {f: mean_ci95(_values(base, f)) for f in FIGURES},
        "parameters": rows,
        "ranking": ranking,
    }


def run_sensitivity(
    loaded: LoadedScenario,
    variants: Sequence[Variant],
    replications: int,
    *,
    executor: ExecutorSpec | None = None,
    done: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run the baseline and every variant over replications 0..N-1 and analyse them."""
    if replications < 1:
        raise ValueError(f"replications: expected a positive integer, got {replications}")
    reps = range(replications)
    tasks = [(loaded, r) for r in reps]
    for _param, low, high in variants:
        tasks += [(low, r) for r in reps] + [(high, r) for r in reps]
    figures = run_tasks(tasks, executor=executor, done=done)
    return analyse(variants, figures, replications)


def run_with_progress(
    loaded: LoadedScenario,
    variants: Sequence[Variant],
    replications: int,
    *,
    executor: ExecutorSpec | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """run_sensitivity with a progress bar over runs when given a console."""
    if console is None:
        return run_sensitivity(loaded, variants, replications, executor=executor)
    total = (1 + 2 * len(variants)) * replications
    with count_progress(console) as bar:
        task = bar.add_task(
            f"{len(variants)} parameter(s) x 2 + baseline, {replications} replication(s)",
            total=total,
        )
        return run_sensitivity(
            loaded, variants, replications, executor=executor, done=lambda _i: bar.advance(task)
        )


def write_outputs(out_dir: Path, document: dict[str, Any]) -> tuple[Path, Path]:
    """sensitivity.json and sensitivity.html in `out_dir`; returns their paths."""
    from simulation.report.sensitivity import render_html

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "sensitivity.json", out_dir / "sensitivity.html"
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    html_path.write_text(render_html(document), encoding="utf-8")
    return json_path, html_path
