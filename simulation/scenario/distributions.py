"""The scenario's building blocks: the frozen base model, bounded numbers, and distributions.

Distributions are named as studies report them: `constant`, `uniform`, `exponential`,
`lognormal` (by median and p90) and `empirical`; `simulation.behaviour` samples them.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ChannelName = Literal["app_push", "sms", "voice_call", "area_terminal", "door_knock"]
CHANNELS: tuple[ChannelName, ...] = ("app_push", "sms", "voice_call", "area_terminal", "door_knock")
Strategy = Literal["cascade", "direct", "hybrid"]
WarningLevel = Literal["blue", "yellow", "orange", "red"]
WARNING_LEVELS: tuple[WarningLevel, ...] = ("blue", "yellow", "orange", "red")

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]


class Frozen(BaseModel):
    """Base for every option group: immutable, strict about unknown keys, finite numbers only."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


# --- distributions ---------------------------------------------------------------------------


class Constant(Frozen):
    kind: Literal["constant"]
    value: NonNegative


class Uniform(Frozen):
    kind: Literal["uniform"]
    low: NonNegative
    high: NonNegative

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"expected high >= low, got low={self.low} high={self.high}")
        return self


class Exponential(Frozen):
    kind: Literal["exponential"]
    mean: Positive


class LogNormal(Frozen):
    """Lognormal given by what studies report: the median and the 90th percentile."""

    kind: Literal["lognormal"]
    median: Positive
    p90: Positive

    @model_validator(mode="after")
    def _ordered(self) -> LogNormal:
        if self.p90 < self.median:
            raise ValueError(f"expected p90 >= median, got median={self.median} p90={self.p90}")
        return self


class Empirical(Frozen):
    """Resamples observed values with equal weight."""

    kind: Literal["empirical"]
    values: Annotated[list[NonNegative], Field(min_length=1, max_length=100_000)]


Distribution = Annotated[
    Constant | Uniform | Exponential | LogNormal | Empirical, Field(discriminator="kind")
]


def distribution_mean(dist: Distribution) -> float:
    """Expected value of a distribution; used for sanity figures, never for sampling."""
    match dist:
        case Constant(value=v):
            return v
        case Uniform(low=lo, high=hi):
            return (lo + hi) / 2
        case Exponential(mean=m):
            return m
        case LogNormal(median=med, p90=p90):
            sigma = math.log(p90 / med) / 1.2815515655446004
            return med * math.exp(sigma * sigma / 2)
        case Empirical(values=vs):
            return sum(vs) / len(vs)
    raise AssertionError(dist)  # pragma: no cover
