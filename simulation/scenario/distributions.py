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

# Every draw and mean must stay finite and below this (about 32 million years in seconds), so
# that parameters such as `median: 1e300` are refused here rather than overflowing in a run.
MAX_DRAW = 1e15
# The largest standard normal the samplers can produce is about 8.6 (Box-Muller and inv_cdf on
# 53-bit uniforms); a lognormal's largest draw is median * exp(sigma * this).
_Z_MAX = 9.0
_Z_P90 = 1.2815515655446004


def _at_most(value: float, what: str) -> None:
    if not value <= MAX_DRAW:  # also refuses NaN
        raise ValueError(f"expected {what} of at most {MAX_DRAW:g}, got {value:g}")


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

    @model_validator(mode="after")
    def _bounded(self) -> Constant:
        _at_most(self.value, "a value")
        return self


class Uniform(Frozen):
    kind: Literal["uniform"]
    low: NonNegative
    high: NonNegative

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"expected high >= low, got low={self.low} high={self.high}")
        _at_most(self.high, "high")
        return self


class Exponential(Frozen):
    kind: Literal["exponential"]
    mean: Positive

    @model_validator(mode="after")
    def _bounded(self) -> Exponential:
        # expovariate draws up to about 37 means (-log of the smallest uniform)
        _at_most(self.mean * 40, "40 times the mean (the largest draw)")
        return self


class LogNormal(Frozen):
    """Lognormal given by what studies report: the median and the 90th percentile."""

    kind: Literal["lognormal"]
    median: Positive
    p90: Positive

    @model_validator(mode="after")
    def _ordered(self) -> LogNormal:
        if self.p90 < self.median:
            raise ValueError(f"expected p90 >= median, got median={self.median} p90={self.p90}")
        # in logs, so that the check itself cannot overflow
        sigma = math.log(self.p90 / self.median) / _Z_P90
        log_top = math.log(self.median) + max(_Z_MAX * sigma, sigma * sigma / 2)
        if log_top > math.log(MAX_DRAW):
            raise ValueError(
                f"expected median and p90 whose largest draw and mean stay at most {MAX_DRAW:g}, "
                f"got median={self.median:g} p90={self.p90:g}"
            )
        return self


class Empirical(Frozen):
    """Resamples observed values with equal weight."""

    kind: Literal["empirical"]
    values: Annotated[list[NonNegative], Field(min_length=1, max_length=100_000)]

    @model_validator(mode="after")
    def _bounded(self) -> Empirical:
        _at_most(max(self.values), "values")
        return self


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
