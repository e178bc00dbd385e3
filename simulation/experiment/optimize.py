"""`alertsim optimize`: search the levers for the cheapest plans that meet the targets (optuna).

Each trial is a plan (one setting per lever), run over replications 0..N-1 with the scenario's
seed, so every candidate sees the same random numbers (common random numbers) and two plans
differ only by their levers. The objectives are the plan's cost (minimised) and the lower 95%
bound of each target's figure (maximised); each target is also a constraint (the bound must
reach it: `Trial.set_constraint`), which optuna's samplers use to steer towards feasible plans.
The study is stored in SQLite in the output folder, so a second call with the same levers
resumes it; it stops after `trials` trials in all or `timeout_s` of wall time in this call. How
the page reads is :mod:`simulation.report.optimize`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispatcher.errors import AlertsimError
from simulation.experiment.levers import FIGURES, Lever, Levers, plan_cost, plan_scenario
from simulation.experiment.replications import Figures, mean_ci95, run_tasks
from simulation.scenario import LoadedScenario, ScenarioError

if TYPE_CHECKING:
    import optuna

    from simulation.experiment.executors import ExecutorSpec

__all__ = [
    "SAMPLERS",
    "Evaluation",
    "OptimizeError",
    "evaluate",
    "run_study",
    "study_trials",
]

SAMPLERS = ("tpe", "nsga2", "random")
STUDY = "alertsim-optimize"


class OptimizeError(AlertsimError):
    """The optimizer cannot run as asked (say, a stored study of other levers)."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A plan's figures over replications: per figure, mean, ci95_low, ci95_high, n."""

    figures: dict[str, dict[str, float | int | None]]

    def lower(self, figure: str) -> float:
        """The lower 95% bound (0 where the figure was never reached)."""
        low = self.figures[figure]["ci95_low"]
        return 0.0 if low is None else float(low)


def evaluate(
    loaded: LoadedScenario, replications: int, *, executor: ExecutorSpec | None = None
) -> Evaluation:
    """Run replications 0..N-1 of one scenario and summarise the optimizer's figures."""
    rows: list[Figures] = run_tasks([(loaded, r) for r in range(replications)], executor=executor)
    return Evaluation(
        {f: mean_ci95([v for row in rows if (v := row.get(f)) is not None]) for f in FIGURES}
    )


def _suggest(trial: optuna.Trial, lever: Lever) -> Any:
    if lever.kind == "choice":
        return trial.suggest_categorical(lever.name, list(range(len(lever.choices))))
    if lever.kind == "int":
        step = int(lever.step or 1)
        return trial.suggest_int(lever.name, int(lever.low), int(lever.high), step=step)
    return trial.suggest_float(lever.name, lever.low, lever.high, step=lever.step)


def _sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    import optuna

    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def levers_digest(levers: Levers, replications: int) -> str:
    """What a stored study must have been made with to be resumed."""
    text = json.dumps(
        {
            "levers": [repr(lever) for lever in levers.levers],
            "targets": [t.label for t in levers.targets],
            "replications": replications,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _objective_figures(levers: Levers) -> list[str]:
    return list(dict.fromkeys(t.figure for t in levers.targets))


def _open_study(
    out_dir: Path, levers: Levers, replications: int, sampler: str, seed: int
) -> optuna.Study:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out_dir.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(out_dir / 'optimize.db').resolve()}"
    digest = levers_digest(levers, replications)
    try:
        existing = optuna.load_study(study_name=STUDY, storage=storage)
    except KeyError:
        existing = None
    if existing is not None and existing.user_attrs.get("digest") != digest:
        raise OptimizeError(
            f"{out_dir / 'optimize.db'}: expected a study of these levers, targets and "
            "replications to resume, got one of others (use another --out, or delete it)"
        )
    done = 0 if existing is None else len(existing.trials)
    # Seeded by how many trials exist, so a resumed study does not replay its first proposals.
    study = optuna.create_study(
        study_name=STUDY,
        storage=storage,
        load_if_exists=True,
        directions=[
            optuna.study.StudyDirection.MINIMIZE,
            *[optuna.study.StudyDirection.MAXIMIZE] * len(_objective_figures(levers)),
        ],
        sampler=_sampler(sampler, seed + done),
    )
    study.set_user_attr("digest", digest)
    return study


def run_study(
    loaded: LoadedScenario,
    levers: Levers,
    out_dir: Path,
    *,
    trials: int,
    timeout_s: float | None = None,
    replications: int = 5,
    executor: ExecutorSpec | None = None,
    sampler: str = "tpe",
    seed: int = 0,
    started: Callable[[int], None] | None = None,
    done: Callable[[], None] | None = None,
) -> optuna.Study:
    """Run (or resume) the study until it holds `trials` trials or `timeout_s` passes."""
    if replications < 2:
        raise OptimizeError(
            f"--replications: expected at least 2 (a 95% bound), got {replications}"
        )
    study = _open_study(out_dir, levers, replications, sampler, seed)
    figures = _objective_figures(levers)
    cache: dict[str, dict[str, Any]] = {
        json.dumps(t.params, sort_keys=True): t.user_attrs
        for t in study.trials
        if "figures" in t.user_attrs
    }

    def objective(trial: optuna.Trial) -> tuple[float, ...]:
        settings = {lever.name: _suggest(trial, lever) for lever in levers.levers}
        key = json.dumps(settings, sort_keys=True)
        if key not in cache:
            try:
                plan = plan_scenario(loaded, levers, settings)
            except ScenarioError as exc:
                trial.set_user_attr("problem", exc.errors)
                return (math.nan,) * (1 + len(figures))
            evaluation = evaluate(plan, replications, executor=executor)
            cache[key] = {
                "figures": evaluation.figures,
                "cost": plan_cost(levers, settings),
                "constraints": [t.at_least - evaluation.lower(t.figure) for t in levers.targets],
            }
        for name, value in cache[key].items():
            trial.set_user_attr(name, value)
        for i, violation in enumerate(cache[key]["constraints"]):
            trial.set_constraint(f"target_{i}", violation)  # feasible at zero or less
        lower = Evaluation(cache[key]["figures"])
        return (cache[key]["cost"], *(lower.lower(f) for f in figures))

    # Trials an interrupted call left running never finished: they do not count.
    finished = [t for t in study.trials if t.state.is_finished()]
    remaining = trials - len(finished)
    if started is not None:
        started(max(0, remaining))
    if remaining > 0:
        study.optimize(
            objective,
            n_trials=remaining,
            timeout=timeout_s,
            callbacks=[] if done is None else [lambda _s, _t: done()],
        )
    return study


def study_trials(study: optuna.Study, levers: Levers) -> list[dict[str, Any]]:
    """Every completed trial as optimize.json lists it, in trial order."""
    import optuna

    rows = []
    for trial in study.trials:
        if trial.state != optuna.trial.TrialState.COMPLETE:
            continue
        evaluation = Evaluation(trial.user_attrs["figures"])
        meets = [evaluation.lower(t.figure) >= t.at_least - 1e-12 for t in levers.targets]
        rows.append(
            {
                "trial": trial.number,
                "settings": {lv.name: lv.shown(trial.params[lv.name]) for lv in levers.levers},
                "raw": {lv.name: trial.params[lv.name] for lv in levers.levers},
                "cost": trial.user_attrs["cost"],
                "figures": evaluation.figures,
                "meets": meets,
                "meets_all": all(meets),
            }
        )
    return rows
