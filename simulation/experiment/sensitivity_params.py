"""Which parameters a sensitivity analysis varies, and to what: the default set or a YAML file.

Each parameter is a dotted scenario path with a low and a high value; the baseline is the
scenario's own value. The default set (:func:`default_parameters`) is the model's main numbers,
each divided and multiplied by one factor (2 unless told): every tier's processing time and
staff, the responder's read and acknowledge times, each ladder channel's delay, failure and
missed share, each rung's timeout, and the responder's unavailability (1 - availability). A
`--params` file names its own:

```yaml
factor: 2                                   # for entries without low/high (default 2)
parameters:
  - path: tiers.municipal.processing_s      # a distribution: scaled by 1/factor and factor
  - path: behaviour.read_s
    factor: 3
  - path: channels.sms.failure              # absolute values
    low: 0.0
    high: 0.2
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulation.experiment.variants import (
    file_lines,
    get_path,
    is_number,
    read_entries,
    scale_value,
)
from simulation.scenario import LoadedScenario, ScenarioError
from simulation.scenario.loading import read_yaml_file

__all__ = [
    "DEFAULT_FACTOR",
    "Parameter",
    "default_parameters",
    "load_parameters",
]

DEFAULT_FACTOR = 2.0
_TIERS = ("municipal", "district", "town")
_MAX_STAFF = 1000  # TierSettings.staff's bound


@dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter varied one at a time: its path and the values tried either side of base."""

    name: str  # the dotted path
    base: Any
    low: Any
    high: Any
    low_label: str
    high_label: str

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))


def _by_factor(data: dict[str, Any], name: str, factor: float) -> Parameter | None:
    base = get_path(data, name.split("."))
    low = scale_value(base, 1 / factor, f"scenario.{name}")
    high = scale_value(base, factor, f"scenario.{name}")
    if isinstance(base, float) and name.endswith(("failure", "missed", "loss")):
        high = min(high, 1.0)
    if isinstance(base, int) and not isinstance(base, bool):
        low, high = max(1, low), min(_MAX_STAFF, high)
    if low == high:
        return None  # a zero (say, a channel that never fails) has nothing to vary
    return Parameter(name, base, low, high, f"/{factor:g}", f"x{factor:g}")


def _unavailability(data: dict[str, Any], factor: float) -> Parameter | None:
    """Availability moves by its complement: 0.96 -> 0.92 and 0.98 at factor 2."""
    base = data["behaviour"]["availability"]
    away = 1.0 - base
    low, high = round(1.0 - away / factor, 9), round(max(0.0, 1.0 - away * factor), 9)
    if low == high:
        return None
    return Parameter(
        "behaviour.availability", base, low, high, f"away /{factor:g}", f"away x{factor:g}"
    )


def default_parameters(loaded: LoadedScenario, factor: float = DEFAULT_FACTOR) -> list[Parameter]:
    """The documented default set for this scenario, each by `factor` either way."""
    data = loaded.scenario.model_dump(mode="json")
    names = [f"tiers.{tier}.processing_s" for tier in _TIERS]
    names += [f"tiers.{tier}.staff" for tier in _TIERS]
    names += ["behaviour.read_s", "behaviour.ack_s"]
    for channel in loaded.scenario.escalation.ladder:
        names += [f"channels.{channel}.{field}" for field in ("delay_s", "failure", "missed")]
    names += [f"escalation.timeout_s.{i}" for i in range(len(loaded.scenario.escalation.ladder))]
    out = [p for name in names if (p := _by_factor(data, name, factor)) is not None]
    away = _unavailability(data, factor)
    return out if away is None else [*out, away]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")]
    low: Any = None
    high: Any = None
    factor: Annotated[float, Field(gt=1.0)] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> _Entry:
        given = (self.low is not None, self.high is not None)
        if given[0] != given[1]:
            raise ValueError("expected both low and high, or neither")
        if given[0] and self.factor is not None:
            raise ValueError("expected low/high or factor, got both")
        return self


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    factor: Annotated[float, Field(gt=1.0)] = DEFAULT_FACTOR
    parameters: Annotated[list[_Entry], Field(min_length=1, max_length=500)]


def load_parameters(path: Path, loaded: LoadedScenario) -> list[Parameter]:
    """The parameters a `--params` YAML file names; ScenarioError listing every problem."""
    where = str(path)
    try:
        spec = _File.model_validate(read_yaml_file(path))
    except ValidationError as exc:
        raise ScenarioError(file_lines(where, "params", exc)) from exc
    data = loaded.scenario.model_dump(mode="json")

    def parameter_at(entry: _Entry, base: Any, _at: str) -> Parameter | None:
        if entry.low is not None:
            low, high = _show(entry.low), _show(entry.high)
            return Parameter(entry.path, base, entry.low, entry.high, low, high)
        factor = entry.factor or spec.factor
        if entry.path == "behaviour.availability":
            return _unavailability(data, factor)  # None at full availability: nothing to vary
        param = _by_factor(data, entry.path, factor)
        if param is None:
            raise ScenarioError([f"expected a non-zero value to scale, got {base!r}"])
        return param

    return read_entries(where, "params.parameters", spec.parameters, data, parameter_at)


def _show(value: Any) -> str:
    if is_number(value):
        return f"{value:g}"
    if isinstance(value, dict) and value.get("kind") == "constant":
        return _show(value.get("value"))
    if isinstance(value, dict) and "kind" in value:
        return ", ".join(f"{k} {_show(v)}" for k, v in value.items() if k != "kind")
    return str(value)
