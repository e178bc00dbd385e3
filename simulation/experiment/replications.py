"""Independent replications of one scenario: run them over processes, report mean and 95% CI.

Replication `r` draws every random number from streams derived from `(seed, r)` (see
`simulation.behaviour.Streams`), so a replication's figures depend only on the scenario and `r`,
never on which process ran it or in what order. That is what makes `--workers 1` and
`--workers 2` give the same figures.

The interval is Student's t on the replication means. The t quantiles come from a table rather
than scipy: the runtime needs one quantile (two-sided 95%) and scipy would add tens of megabytes to
every install for it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from simulation.experiment import executors
from simulation.experiment.executors import ExecutorSpec
from simulation.scenario import LoadedScenario

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

# Headline figures: report name -> path of keys into report.json.
HEADLINE_FIGURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("notification.within_target_share", ("notification", "within_target_share")),
    ("notification.latency_s.p50", ("notification", "latency_s", "p50")),
    ("notification.latency_s.p95", ("notification", "latency_s", "p95")),
    ("notification.latency_s.p99", ("notification", "latency_s", "p99")),
    ("notification.latency_s.max", ("notification", "latency_s", "max")),
    ("notification.time_to_share_s.0.95", ("notification", "time_to_share_s", "0.95")),
    ("response.within_target_share", ("response", "within_target_share")),
    ("response.latency_s.p50", ("response", "latency_s", "p50")),
    ("response.latency_s.p95", ("response", "latency_s", "p95")),
)

# Two-sided 95% Student t quantiles, t(0.975, df), for df = 1..30 (standard tables, 3 decimals).
_T975_SMALL: tuple[float, ...] = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
# Beyond 30 the quantile is linear in 1/df to within 0.001 between these anchors.
_T975_LARGE: tuple[tuple[float, float], ...] = (
    (30, 2.042),
    (40, 2.021),
    (60, 2.000),
    (120, 1.980),
    (math.inf, 1.960),
)

Figures = dict[str, float | None]
Interval = dict[str, float | int | None]


def t975(df: int) -> float:
    """Two-sided 95% Student t quantile for `df` degrees of freedom."""
    if df < 1:
        raise ValueError(f"t quantile: expected at least 1 degree of freedom, got {df}")
    if df <= len(_T975_SMALL):
        return _T975_SMALL[df - 1]
    for (df_lo, t_lo), (df_hi, t_hi) in itertools.pairwise(_T975_LARGE):
        if df_lo <= df <= df_hi:
            inv, inv_lo, inv_hi = 1 / df, 1 / df_lo, (0.0 if math.isinf(df_hi) else 1 / df_hi)
            return t_lo + (t_hi - t_lo) * (inv_lo - inv) / (inv_lo - inv_hi)
    raise AssertionError(df)  # pragma: no cover


def headline_figures(report: dict[str, Any]) -> Figures:
    """The headline figures of one replication's report (None where the run never reached it)."""
    out: Figures = {}
    for name, path in HEADLINE_FIGURES:
        node: Any = report
        for key in path:
            node = node[key]
        out[name] = None if node is None else float(node)
    return out


def mean_ci95(values: Sequence[float]) -> Interval:
    """Mean with a Student t 95% interval; the interval is None with fewer than two values."""
    n = len(values)
    if n == 0:
        return {"mean": None, "ci95_low": None, "ci95_high": None, "n": 0}
    mean = math.fsum(values) / n
    if n == 1:
        return {"mean": round(mean, 6), "ci95_low": None, "ci95_high": None, "n": 1}
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    half = t975(n - 1) * math.sqrt(variance / n)
    return {
        "mean": round(mean, 6),
        "ci95_low": round(mean - half, 6),
        "ci95_high": round(mean + half, 6),
        "n": n,
    }


def aggregate(per_replication: Iterable[Figures]) -> dict[str, Interval]:
    """Mean and 95% CI of every headline figure over replications.

    A figure a replication never reached (say, time to 95% when fewer than 95% acknowledged) is left
    out of that figure's sample, and `n` says how many replications it rests on.
    """
    rows = list(per_replication)
    return {
        name: mean_ci95([v for row in rows if (v := row.get(name)) is not None])
        for name, _ in HEADLINE_FIGURES
    }


def replication_figures(loaded: LoadedScenario, replication: int) -> Figures:
    """Run one replication and return its headline figures (the unit of work for a process)."""
    from simulation.experiment.virtual import run_virtual
    from simulation.report.build import build_report

    return headline_figures(build_report(run_virtual(loaded, replication=replication)))


def figures_task(scenarios: Sequence[LoadedScenario], item: tuple[int, int]) -> Figures:
    """Executor task: the figures of replication ``item[1]`` of ``scenarios[item[0]]``."""
    index, replication = item
    return replication_figures(scenarios[index], replication)


def run_tasks(
    tasks: Sequence[tuple[LoadedScenario, int]],
    *,
    executor: ExecutorSpec | None = None,
    workers: int | None = None,
    done: Callable[[int], None] | None = None,
    finished: Callable[[int, Figures], None] | None = None,
) -> list[Figures]:
    """Headline figures of each (scenario, replication) task, in task order.

    The distinct scenarios go to each worker once (see `simulation.experiment.executors`).
    ``workers`` alone means that many local processes (``executor`` wins when both are given).
    `done(index)` and `finished(index, figures)` are called in this process as each task
    finishes, in completion order; the result never depends on that order, the executor or its
    number of workers.
    """
    if executor is None and workers is not None:
        executor = ExecutorSpec("local", workers)
    scenarios: list[LoadedScenario] = []
    position: dict[int, int] = {}
    items: list[tuple[int, int]] = []
    for loaded, r in tasks:
        if id(loaded) not in position:
            position[id(loaded)] = len(scenarios)
            scenarios.append(loaded)
        items.append((position[id(loaded)], r))
    return executors.run_tasks(
        figures_task,
        tuple(scenarios),
        items,
        executor=executor,
        done=lambda index, figures: _report_done(index, figures, done, finished),
    )


def _report_done(
    index: int,
    figures: Figures,
    done: Callable[[int], None] | None,
    finished: Callable[[int, Figures], None] | None,
) -> None:
    if done is not None:
        done(index)
    if finished is not None:
        finished(index, figures)


def run_replications(
    loaded: LoadedScenario,
    replications: Iterable[int],
    *,
    executor: ExecutorSpec | None = None,
    done: Callable[[int], None] | None = None,
) -> dict[int, Figures]:
    """Headline figures of each replication of one scenario, keyed by replication number."""
    numbers = list(replications)
    figures = run_tasks(
        [(loaded, r) for r in numbers],
        executor=executor,
        done=None if done is None else (lambda index: done(numbers[index])),
    )
    return dict(zip(numbers, figures, strict=True))


def count_progress(console: Console) -> Progress:
    """A transient "done of total" bar on ``console``, for runs counted in replications."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
