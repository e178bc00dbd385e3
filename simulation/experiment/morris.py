"""Morris screening (SALib): elementary effects of every parameter at once, over its whole range.

One-at-a-time variation moves each parameter from the baseline alone; Morris's method walks
`trajectories` random paths through the box of all parameters' [low, high] ranges, one parameter
step at a time, so it also sees a parameter's effect where the others are elsewhere. Per figure
it gives mu* (the mean absolute elementary effect: how much the parameter matters), its 95%
bootstrap interval, and sigma (their spread: interaction or non-linearity). Each point of the
design is run over replications 0..N-1 with the scenario's seed (common random numbers) and its
figure is their mean. SALib does the design and the analysis; it is the `sensitivity` extra.

A parameter moves between its low and its high value linearly: a number, or every value of a
distribution whose low and high are of one kind (a lognormal's median and p90 together).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from simulation.experiment.replications import Figures, run_tasks
from simulation.experiment.sensitivity import FIGURES
from simulation.experiment.sensitivity_params import Parameter
from simulation.experiment.variants import build_variant, is_number, set_path
from simulation.scenario import LoadedScenario, ScenarioError

if TYPE_CHECKING:
    from simulation.experiment.executors import ExecutorSpec

__all__ = ["check_interpolable", "design", "interpolate", "run_morris", "total_runs"]


def interpolate(param: Parameter, x: float) -> Any:
    """The parameter's value at `x` in [0, 1] of the way from its low to its high value."""
    low, high = param.low, param.high
    if is_number(low) and is_number(high):
        value = low + x * (high - low)
        return round(value) if isinstance(param.base, int) else round(value, 9)
    out = dict(low)
    for key, lo in low.items():
        hi = high[key]
        if isinstance(lo, list):
            out[key] = [round(a + x * (b - a), 9) for a, b in zip(lo, hi, strict=True)]
        elif is_number(lo):
            out[key] = round(lo + x * (hi - lo), 9)
    return out


def check_interpolable(parameters: Sequence[Parameter]) -> None:
    """ScenarioError naming every parameter whose low and high cannot be walked between."""
    problems = []
    for p in parameters:
        if is_number(p.low) and is_number(p.high):
            continue
        same = (
            isinstance(p.low, dict)
            and isinstance(p.high, dict)
            and p.low.get("kind") == p.high.get("kind")
            and p.low.keys() == p.high.keys()
            and all(not isinstance(v, list) or len(v) == len(p.high[k]) for k, v in p.low.items())
        )
        if not same:
            problems.append(
                f"--morris: {p.name}: expected numbers or distributions of one kind for low "
                f"and high, got {p.low!r} and {p.high!r}"
            )
    if problems:
        raise ScenarioError(problems)


def design(parameters: Sequence[Parameter], trajectories: int, levels: int, seed: int) -> Any:
    """SALib's Morris design: (trajectories x (k + 1)) rows of k values in [0, 1]."""
    from SALib.sample import morris as sample

    problem = _problem(parameters)
    return sample.sample(problem, trajectories, num_levels=levels, seed=seed)


def _problem(parameters: Sequence[Parameter]) -> dict[str, Any]:
    return {
        "num_vars": len(parameters),
        "names": [p.name for p in parameters],
        "bounds": [[0.0, 1.0]] * len(parameters),
    }


def _point(loaded: LoadedScenario, parameters: Sequence[Parameter], row: Sequence[float]) -> Any:
    data = loaded.scenario.model_dump(mode="json")
    for param, x in zip(parameters, row, strict=True):
        data = set_path(data, param.path, interpolate(param, float(x)))
    where = "--morris point " + ", ".join(
        f"{p.name}={x:.3g}" for p, x in zip(parameters, row, strict=True)
    )
    return build_variant(loaded, data, where)


def run_morris(
    loaded: LoadedScenario,
    parameters: Sequence[Parameter],
    *,
    trajectories: int,
    replications: int,
    levels: int = 4,
    executor: ExecutorSpec | None = None,
    done: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run the design and analyse it: per figure, mu*, its interval, sigma, ranked by mu*."""
    import numpy as np
    from SALib.analyze import morris as analyze

    check_interpolable(parameters)
    seed = loaded.scenario.seed % 2**32
    x = design(parameters, trajectories, levels, seed)
    points = [_point(loaded, parameters, row) for row in x]
    tasks = [(point, r) for point in points for r in range(replications)]
    rows: list[Figures] = run_tasks(tasks, executor=executor, done=done)
    out: dict[str, Any] = {
        "trajectories": trajectories,
        "levels": levels,
        "points": len(points),
        "runs": len(tasks),
    }
    for figure in FIGURES:
        y = np.array(
            [
                np.mean(
                    [
                        row.get(figure) or 0.0
                        for row in rows[i * replications : (i + 1) * replications]
                    ]
                )
                for i in range(len(points))
            ]
        )
        si = analyze.analyze(
            _problem(parameters), x, y, num_levels=levels, conf_level=0.95, seed=seed
        )
        effects = [
            {
                "name": name,
                "mu_star": round(float(si["mu_star"][i]), 6),
                "mu_star_conf": round(float(si["mu_star_conf"][i]), 6),
                "mu": round(float(si["mu"][i]), 6),
                "sigma": round(float(si["sigma"][i]), 6),
            }
            for i, name in enumerate(si["names"])
        ]
        effects.sort(key=lambda e: (-e["mu_star"], e["name"]))
        out[figure] = effects
    return out


def total_runs(parameters: Sequence[Parameter], trajectories: int, replications: int) -> int:
    """How many replications the design takes, for the progress bar."""
    return trajectories * (len(parameters) + 1) * replications
