"""Seeded samplers for the scenario's named distributions: delays, reading, walking, availability.

Every stochastic choice in a run draws from a stream named after its purpose
(`streams.get("behaviour.read")`), seeded from the scenario seed and the replication number. Streams
keep runs reproducible and give common random numbers when two scenarios are compared: changing
one channel's failure rate does not shift the draws of people's reading times.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from simulation.scenario import Constant, Distribution, Empirical, Exponential, LogNormal, Uniform

Sampler = Callable[[], float]

_Z90 = 1.2815515655446004  # standard normal quantile at 0.9


class Streams:
    """Independent random streams by name, all derived from one seed and replication."""

    def __init__(self, seed: int, replication: int = 0) -> None:
        self.seed = seed
        self.replication = replication
        self._streams: dict[str, random.Random] = {}

    def get(self, name: str) -> random.Random:
        stream = self._streams.get(name)
        if stream is None:
            # str seeds go through SHA-512 in CPython: stable across processes, unlike hash().
            stream = random.Random(f"{self.seed}:{self.replication}:{name}")
            self._streams[name] = stream
        return stream


def sampler(dist: Distribution, rng: random.Random) -> Sampler:
    """A zero-argument function drawing from `dist` with `rng`; parameters are bound once."""
    match dist:
        case Constant(value=value):
            return lambda: value
        case Uniform(low=low, high=high):
            uniform = rng.uniform
            return lambda: uniform(low, high)
        case Exponential(mean=mean):
            expo = rng.expovariate
            rate = 1.0 / mean
            return lambda: expo(rate)
        case LogNormal(median=median, p90=p90):
            mu = math.log(median)
            sigma = math.log(p90 / median) / _Z90
            # exp of a Box-Muller normal: several times faster than lognormvariate's
            # rejection sampler, and this is the hottest draw in a city-scale run.
            gauss, exp = rng.gauss, math.exp
            return lambda: exp(mu + sigma * gauss())
        case Empirical(values=values):
            choice = rng.choice
            frozen = tuple(values)
            return lambda: choice(frozen)
    raise AssertionError(f"unknown distribution {dist!r}")  # pragma: no cover


def bernoulli(probability: float, rng: random.Random) -> Callable[[], bool]:
    """A zero-argument function that is True with `probability`."""
    draw = rng.random
    return lambda: draw() < probability
