"""The planner's levers for `alertsim optimize`: scenario paths with ranges or choices, and costs.

```yaml
targets:                                    # default: the scenario's notification target share
  - figure: notification.within_target_share
    at_least: 0.9                           # the lower 95% bound must reach this
levers:
  - path: tiers.town.staff                  # a number: a range, integers when the bounds are
    range: [3, 30]
    cost_per_unit: 8                        # per unit above the scenario's value (and saved below)
  - path: tiers.municipal.processing_s      # a distribution (or a number): a scale factor
    scale: [0.25, 1.0]
    cost_per_unit: -400                     # per unit of factor: x0.5 costs 200
  - path: strategy                          # any values: choices, each with its cost
    choices: [cascade, direct]
    costs: [0, 500]
```

A plan is one value per lever; its cost is the sum of the levers' costs. The scenario's own
values cost nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulation.experiment.variants import (
    PathError,
    build_variant,
    file_lines,
    is_number,
    read_entries,
    scale_value,
    set_path,
)
from simulation.scenario import LoadedScenario, ScenarioError
from simulation.scenario.loading import read_yaml_file

__all__ = [
    "FIGURES",
    "Lever",
    "Levers",
    "Target",
    "load_levers",
    "plan_cost",
    "plan_scenario",
]

FIGURES = ("notification.within_target_share", "response.within_target_share")
Figure = Literal["notification.within_target_share", "response.within_target_share"]
_PATH = r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$"


class _Lever(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Annotated[str, Field(pattern=_PATH)]
    range: tuple[float, float] | None = None
    step: Annotated[float, Field(gt=0)] | None = None
    scale: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] | None = None
    cost_per_unit: float = 0.0
    choices: Annotated[list[Any], Field(min_length=1)] | None = None
    costs: list[float] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> _Lever:
        kinds = [k for k in ("range", "scale", "choices") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                f"expected exactly one of range, scale or choices, got {kinds or 'none'}"
            )
        bounds = self.range or self.scale
        if bounds is not None and bounds[1] < bounds[0]:
            raise ValueError(f"expected low <= high, got {list(bounds)}")
        if self.choices is not None:
            if self.costs is not None and len(self.costs) != len(self.choices):
                raise ValueError(
                    f"expected one cost per choice ({len(self.choices)}), got {len(self.costs)}"
                )
            if self.cost_per_unit or self.step is not None:
                raise ValueError(
                    "expected costs (one per choice) with choices, not cost_per_unit or step"
                )
        elif self.costs is not None:
            raise ValueError("expected cost_per_unit with range or scale, got costs")
        return self


class Target(BaseModel):
    """A target a plan must meet: the lower 95% bound of `figure` at least `at_least`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    figure: Figure
    at_least: Annotated[float, Field(gt=0.0, le=1.0)]

    @property
    def label(self) -> str:
        return f"{self.figure} >= {self.at_least:g}"


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: Annotated[list[Target], Field(min_length=1, max_length=10)] | None = None
    levers: Annotated[list[_Lever], Field(min_length=1, max_length=50)]


@dataclass(frozen=True, slots=True)
class Lever:
    """One lever: where it acts, its kind and bounds, its baseline value and its cost."""

    name: str  # the dotted path
    kind: Literal["int", "float", "scale", "choice"]
    base: Any  # the scenario's value (for a scale lever: the value scaled by 1)
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    cost_per_unit: float = 0.0
    choices: tuple[Any, ...] = ()
    costs: tuple[float, ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))

    def value(self, setting: Any) -> Any:
        """The scenario value for one setting (a number, a factor, or a choice's index)."""
        if self.kind == "scale":
            return scale_value(self.base, float(setting), f"scenario.{self.name}")
        if self.kind == "choice":
            return self.choices[int(setting)]
        return int(setting) if self.kind == "int" else float(setting)

    def cost(self, setting: Any) -> float:
        if self.kind == "choice":
            return self.costs[int(setting)]
        origin = 1.0 if self.kind == "scale" else float(self.base)
        return self.cost_per_unit * (float(setting) - origin)

    def shown(self, setting: Any) -> Any:
        """The setting as a planner reads it: the number, `x0.5`, or the choice itself."""
        if self.kind == "scale":
            return f"x{float(setting):g}"
        return self.value(setting)


@dataclass(frozen=True, slots=True)
class Levers:
    levers: tuple[Lever, ...]
    targets: tuple[Target, ...]


def _lever(entry: _Lever, base: Any, at: str) -> Lever:
    if entry.choices is not None:
        costs = tuple(entry.costs or [0.0] * len(entry.choices))
        return Lever(entry.path, "choice", base, choices=tuple(entry.choices), costs=costs)
    if entry.scale is not None:
        scale_value(base, 1.0, at)  # a number or a distribution, or PathError
        lo, hi = entry.scale
        return Lever(entry.path, "scale", base, lo, hi, entry.step, entry.cost_per_unit)
    assert entry.range is not None
    if not is_number(base):
        raise PathError([f"{at}: expected a number for a range, got {type(base).__name__}"])
    lo, hi = entry.range
    integral = isinstance(base, int) and lo.is_integer() and hi.is_integer()
    kind: Literal["int", "float"] = "int" if integral else "float"
    step = entry.step if entry.step is not None or kind == "float" else 1.0
    return Lever(entry.path, kind, base, lo, hi, step, entry.cost_per_unit)


def _check_ends(loaded: LoadedScenario, lever: Lever, at: str) -> list[str]:
    """Each end of the lever (every choice) applied alone must give a valid scenario."""
    settings: Sequence[Any] = (
        range(len(lever.choices)) if lever.kind == "choice" else (lever.low, lever.high)
    )
    data = loaded.scenario.model_dump(mode="json")
    problems = []
    for setting in settings:
        try:
            build_variant(loaded, set_path(data, lever.path, lever.value(setting)), at)
        except ScenarioError as exc:
            problems.extend(exc.errors)
    return problems


def load_levers(path: Path, loaded: LoadedScenario) -> Levers:
    """The levers and targets a levers file names; ScenarioError listing every problem."""
    where = str(path)
    try:
        spec = _File.model_validate(read_yaml_file(path))
    except ValidationError as exc:
        raise ScenarioError(file_lines(where, "levers", exc)) from exc

    def lever_at(entry: _Lever, base: Any, at: str) -> Lever:
        lever = _lever(entry, base, at)
        ends = _check_ends(loaded, lever, at)
        if ends:
            raise ScenarioError(ends)
        return lever

    data = loaded.scenario.model_dump(mode="json")
    levers = read_entries(where, "levers.levers", spec.levers, data, lever_at)
    targets = spec.targets or [
        Target(
            figure="notification.within_target_share",
            at_least=loaded.scenario.targets.notify_target_share,
        )
    ]
    return Levers(tuple(levers), tuple(targets))


def plan_cost(levers: Levers, settings: Mapping[str, Any]) -> float:
    """The plan's cost: the sum of its levers' costs, 0 at the scenario's own values."""
    return round(sum(lever.cost(settings[lever.name]) for lever in levers.levers), 9)


def plan_scenario(
    loaded: LoadedScenario, levers: Levers, settings: Mapping[str, Any]
) -> LoadedScenario:
    """The scenario with every lever at its setting (same seed: common random numbers)."""
    data = loaded.scenario.model_dump(mode="json")
    for lever in levers.levers:
        data = set_path(data, lever.path, lever.value(settings[lever.name]))
    return build_variant(loaded, data, "plan " + ", ".join(f"{k}={v}" for k, v in settings.items()))
