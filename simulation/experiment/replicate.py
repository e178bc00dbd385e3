"""`alertsim run` over replications: replication 0 here, in full, the others on an executor.

Replication 0 runs in this process (its records and charts make the run folder) while the others
run on the executor; every replication also gives its districts' and towns' shares acknowledged
within the target, so districts and towns are ranked with intervals. The count is fixed
(`--replications N`), or set by a sequential stopping rule (`--precision H`): batches run until
the 95% half-width of the share acknowledged within the target is at most H, up to a maximum.
The rule is read on replications 0..n-1 in order, so where it stops depends on the seed and the
rule only, never on the executor, the number of workers or the batch size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from simulation import metrics
from simulation.experiment.executors import ExecutorSpec, open_pool
from simulation.experiment.replications import (
    HEADLINE_FIGURES,
    Figures,
    aggregate,
    count_progress,
    headline_figures,
    mean_ci95,
)
from simulation.report.build import RunResult, build_report
from simulation.report.verdict import verdict
from simulation.scenario import LoadedScenario

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "DEFAULT_MAX_REPLICATIONS",
    "DEFAULT_REPLICATIONS",
    "Plan",
    "group_figures",
    "noise_note",
    "ranked",
    "run_replicated",
]

# `make run` answers in about a minute on 2 cores: the city takes ~40 s a replication alone (with
# its centers' background load), replication 0 (here) runs beside the two workers', and the whole
# command took 79 s with 3 (124 s with 4) on a quiet 2-core machine.
DEFAULT_REPLICATIONS = 3
DEFAULT_MAX_REPLICATIONS = 100
SHARE = "notification.within_target_share"
DISTRICT, TOWN = "district:", "town:"
# a town's notification p95 in a replication (absent: nobody acknowledged): ties of share
TOWN_P95 = "town_p95:"
WORST_TOWNS = 10


@dataclass(frozen=True, slots=True)
class Plan:
    """How many replications: `replications`, or from there on until `precision` is met."""

    replications: int = DEFAULT_REPLICATIONS
    precision: float | None = None
    max_replications: int = DEFAULT_MAX_REPLICATIONS

    def stop_at(self, figures: Sequence[Figures]) -> int | None:
        """The replication count to report, given replications 0..len-1; None: run more."""
        if self.precision is None:
            return self.replications if len(figures) >= self.replications else None
        shares: list[float] = []
        for n, row in enumerate(figures, start=1):
            value = row.get(SHARE)
            if value is not None:
                shares.append(value)
            if n >= self.replications and _half_width(shares) <= self.precision:
                return n
            if n >= self.max_replications:
                return n
        return None


def _half_width(values: Sequence[float]) -> float:
    interval = mean_ci95(values)
    low, high = interval["ci95_low"], interval["ci95_high"]
    return float("inf") if low is None or high is None else (float(high) - float(low)) / 2


def group_figures(result: RunResult, report: dict[str, Any]) -> Figures:
    """One replication's headline figures with every district's and town's share in time."""
    out = headline_figures(report)
    for d in report["by_district"]:
        out[f"{DISTRICT}{d['code']}"] = d["within_target_share"]
    target_s = report["targets"]["notify_target_s"]
    for town in metrics.worst_towns(result.records, target_s, limit=len(result.records)):
        out[f"{TOWN}{town['code']}"] = cast(float, town["within_target_share"])
        p95 = cast(dict[str, Any], town["latency_s"])["p95"]
        if p95 is not None:
            out[f"{TOWN_P95}{town['code']}"] = p95
    return out


def replicated_figures_task(scenarios: Sequence[LoadedScenario], item: tuple[int, int]) -> Figures:
    """Executor task: replication ``item[1]`` of ``scenarios[item[0]]``, districts and towns too."""
    from simulation.experiment.virtual import run_virtual

    result = run_virtual(scenarios[item[0]], replication=item[1])
    return group_figures(result, build_report(result))


def ranked(
    rows: Sequence[Figures], prefix: str, names: dict[str, str], tie: str | None = None
) -> list[dict[str, Any]]:
    """Groups (districts or towns) worst first by mean share, each with its 95% interval.

    Equal means (a city's hundreds of towns with nobody in time) are ranked by the mean of the
    `tie` figures, the largest first, a group missing one in any replication first of all.
    `overlaps_worst` says whether a group's interval overlaps the worst one's: those are not
    told apart from the worst by these replications.
    """
    codes = sorted(
        {key.removeprefix(prefix) for row in rows for key in row if key.startswith(prefix)}
    )
    out: list[dict[str, Any]] = []
    later: dict[str, float] = {}
    for code in codes:
        interval = mean_ci95([v for row in rows if (v := row.get(prefix + code)) is not None])
        out.append({"code": code, "name": names.get(code, code), **interval})
        if tie is not None:
            ties = [v for row in rows if (v := row.get(tie + code)) is not None]
            later[code] = sum(ties) / len(ties) if len(ties) == len(rows) else math.inf
    out.sort(key=lambda g: (g["mean"], -later.get(g["code"], 0.0), g["code"]))
    if out and out[0]["ci95_high"] is not None:
        worst_high = out[0]["ci95_high"]
        for g in out[1:]:
            g["overlaps_worst"] = g["ci95_low"] is not None and g["ci95_low"] <= worst_high
    return out


def noise_note(groups: Sequence[dict[str, Any]], what: str) -> str:
    """The sentence that says whether the ranking of ``groups`` (as `ranked` gives) is noise."""
    if len(groups) < 2:
        return f"One {what} only: nothing to rank."
    if groups[1].get("overlaps_worst") is None:  # no interval: one replication
        return f"One replication: the {what} ranking is one draw, not a property of the {what}s."
    tied = sum(1 for g in groups[1:] if g["overlaps_worst"])
    if tied == 0:
        return f"The worst {what} is worse than every other beyond the noise (95% intervals)."
    return (
        f"The {what} ranking is within noise at the bottom: {tied} of {len(groups) - 1} other "
        f"{what}s have 95% intervals overlapping the worst one's, so their order is not settled."
    )


def ranking_block(rows: Sequence[Figures], loaded: LoadedScenario) -> dict[str, Any]:
    names = {d.code: d.name for d in loaded.topology.districts}
    districts = ranked(rows, DISTRICT, names)
    towns = ranked(rows, TOWN, {}, tie=TOWN_P95)[:WORST_TOWNS]
    return {
        "districts": districts,
        "worst_towns": towns,
        "notes": [noise_note(districts, "district"), noise_note(towns, "town")],
    }


def _summary(rows: Sequence[Figures], plan: Plan, stopped: int) -> dict[str, Any]:
    per_replication = [
        {
            "replication": r,
            **{name: row.get(name) for name, _ in HEADLINE_FIGURES},
            "by_district": {
                k.removeprefix(DISTRICT): v for k, v in row.items() if k.startswith(DISTRICT)
            },
        }
        for r, row in enumerate(rows)
    ]
    shares = [v for row in rows if (v := row.get(SHARE)) is not None]
    rule = {
        "replications": stopped,
        "requested": plan.replications,
        "precision": plan.precision,
        "max_replications": plan.max_replications if plan.precision is not None else None,
        "share_half_width": None if len(shares) < 2 else round(_half_width(shares), 6),
    }
    return {"replication_plan": rule, "replication_figures": per_replication}


def run_replicated(
    loaded: LoadedScenario,
    plan: Plan,
    *,
    run_first: Callable[[], RunResult],
    executor: ExecutorSpec | None = None,
    console: Console | None = None,
) -> tuple[RunResult, dict[str, Any]]:
    """Replication 0's result and its report with the replications, ranking and verdict added."""
    spec = executor if executor is not None else ExecutorSpec()
    batch = max(spec.workers, 2)
    figures: dict[int, Figures] = {}
    # a fixed count caps the processes at the tasks (one replication: none, all here)
    tasks = plan.replications - 1 if plan.precision is None else None
    with open_pool(replicated_figures_task, (loaded,), executor=spec, tasks=tasks) as pool:
        pool.submit([(0, r) for r in range(1, plan.replications)])
        result = run_first()
        report = build_report(result)
        # a fixed count of one reads no replication's figures (no interval, no ranking): its
        # every town's figures took 0.045 s after a scale-0.3 run
        fixed_one = plan.precision is None and plan.replications <= 1
        figures[0] = {} if fixed_one else group_figures(result, report)
        submitted = max(plan.replications, 1)
        with _Progress(console, spec, plan) as advance:
            advance()
            while True:
                for index, row in pool.results():
                    figures[index + 1] = row
                    advance()
                stopped = plan.stop_at([figures[r] for r in range(len(figures))])
                if stopped is not None:
                    break
                more = min(batch, plan.max_replications - submitted)
                pool.submit([(0, r) for r in range(submitted, submitted + more)])
                submitted += more
    rows = [figures[r] for r in range(stopped)]
    if stopped > 1:
        report["replications"] = aggregate(rows)
        report.update(_summary(rows, plan, stopped))
        report["ranking"] = ranking_block(rows, loaded)
    report["verdict"] = verdict(report)
    return result, report


class _Progress:
    """A "done of total" bar over replications on ``console`` (nothing without one)."""

    def __init__(self, console: Console | None, spec: ExecutorSpec, plan: Plan) -> None:
        self._bar = None if console is None or plan.replications <= 1 else count_progress(console)
        total = plan.replications if plan.precision is None else None
        self._label = f"replications ({spec.label})"
        self._total = total

    def __enter__(self) -> Callable[[], None]:
        if self._bar is None:
            return lambda: None
        bar = self._bar.__enter__()
        task = bar.add_task(self._label, total=self._total)
        return lambda: bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
