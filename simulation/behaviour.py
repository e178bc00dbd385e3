"""Seeded samplers for the scenario's named distributions: delays, reading, walking, availability.

Every stochastic choice in a run draws from a stream named after its purpose
(`streams.get("behaviour.read")`), seeded from the scenario seed and the replication number. Streams
keep runs reproducible and give common random numbers when two scenarios are compared: changing
one channel's failure rate does not shift the draws of people's reading times.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from hashlib import blake2b
from statistics import NormalDist

from simulation.scenario import (
    Constant,
    Distribution,
    Empirical,
    Exponential,
    LogNormal,
    Scenario,
    Uniform,
)

Sampler = Callable[[], float]

_Z90 = 1.2815515655446004  # standard normal quantile at 0.9
_TWO_PI = 2.0 * math.pi


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
            return _lognormal(mu, sigma, rng).__next__
        case Empirical(values=values):
            choice = rng.choice
            frozen = tuple(values)
            return lambda: choice(frozen)
    raise AssertionError(f"unknown distribution {dist!r}")  # pragma: no cover


def _lognormal(mu: float, sigma: float, rng: random.Random) -> Iterator[float]:
    """exp(mu + sigma * z) for standard normals z by Box-Muller, two from each pair of uniform
    draws: the very numbers `exp(mu + sigma * rng.gauss())` gives (CPython's `gauss` is this
    method), here as one generator, the hottest draw of a city run, not two calls per draw.

    Several times faster than `lognormvariate`'s rejection sampler; the stream must feed no
    other `gauss` (each purpose has a stream of its own: `Streams`).
    """
    uniform, exp, log, sqrt, cos, sin = (
        rng.random,
        math.exp,
        math.log,
        math.sqrt,
        math.cos,
        math.sin,
    )
    while True:
        x2pi = uniform() * _TWO_PI
        g2rad = sqrt(-2.0 * log(1.0 - uniform()))
        yield exp(mu + sigma * (cos(x2pi) * g2rad))
        yield exp(mu + sigma * (sin(x2pi) * g2rad))


def bernoulli(probability: float, rng: random.Random) -> Callable[[], bool]:
    """A zero-argument function that is True with `probability`."""
    draw = rng.random
    return lambda: draw() < probability


InverseCdf = Callable[[float], float]
_STANDARD_NORMAL = NormalDist()


def inverse_cdf(dist: Distribution) -> InverseCdf:
    """The inverse CDF of `dist`: maps a uniform draw in (0, 1) to a value."""
    match dist:
        case Constant(value=value):
            return lambda u: value
        case Uniform(low=low, high=high):
            return lambda u: low + u * (high - low)
        case Exponential(mean=mean):
            return lambda u: -mean * math.log1p(-u)
        case LogNormal(median=median, p90=p90):
            mu = math.log(median)
            sigma = math.log(p90 / median) / _Z90
            inv_cdf, exp = _STANDARD_NORMAL.inv_cdf, math.exp
            return lambda u: exp(mu + sigma * inv_cdf(u))
        case Empirical(values=values):
            frozen = tuple(values)
            return lambda u: frozen[min(int(u * len(frozen)), len(frozen) - 1)]
    raise AssertionError(f"unknown distribution {dist!r}")  # pragma: no cover


# (read_s, ack_s) of a responder who noticed an alert: `ResponderBehaviour.reaction`.
Reaction = tuple[float, float]
_WORD = (1 << 64) - 1


def _unit(word: int) -> float:
    """A 64-bit word of a digest as a uniform number: its top 53 bits, shifted off 0 so that
    every quantile function gets 0 < u < 1."""
    return ((word >> 11) + 0.5) * 2.0**-53


class ResponderBehaviour:
    """What a responder does with an alert, drawn from who they are, not from event order.

    Each draw hashes who and what it is for (seed, replication, responder, and a delivery's
    alert and channel) into uniform numbers, so a responder reads and acknowledges the same
    alert after the same times whichever order deliveries happen in. Virtual responders and the
    live swarm use this one class: the two modes then differ only by what the network does
    (live vs virtual agree draw for draw), and compared scenarios get common random numbers per
    responder.
    """

    def __init__(self, scenario: Scenario, replication: int = 0) -> None:
        self._prefix = f"{scenario.seed}:{replication}:".encode()
        behaviour = scenario.behaviour
        self._availability = behaviour.availability
        self._ack = inverse_cdf(behaviour.ack_s)
        self._read: dict[str, InverseCdf] = {
            name: inverse_cdf(ch.read_s if ch.read_s is not None else behaviour.read_s)
            for name, ch in scenario.channels.items()
        }
        self._missed: dict[str, float] = {name: ch.missed for name, ch in scenario.channels.items()}
        self._available: dict[str, bool] = {}

    def available(self, recipient_id: str) -> bool:
        # Asked at every delivery, the same answer each time: drawn once per recipient.
        known = self._available.get(recipient_id)
        if known is None:
            digest = blake2b(self._prefix + f"available:{recipient_id}".encode(), digest_size=8)
            known = self._available[recipient_id] = (
                _unit(int.from_bytes(digest.digest(), "big")) < self._availability
            )
        return known

    def reaction(self, alert: str, recipient_id: str, channel: str) -> Reaction | None:
        """How the responder meets the alert arriving on `channel`: None if they never notice
        it, else (read_s, ack_s), how long until they have read it and then until they press
        acknowledge.

        `alert` is the alert's stable key (`simulation.model.alert_ids.behaviour_key`), not its
        identifier: draws must not change when a scenario is renamed. The three draws are the
        three 64-bit words of one 24-byte digest, independent as a hash's bits are: one hash
        per delivery, not one per draw (a city run makes some 240,000 deliveries).
        """
        key = f"{alert}:{recipient_id}:{channel}".encode()
        bits = int.from_bytes(blake2b(self._prefix + key, digest_size=24).digest(), "big")
        if _unit(bits >> 128) < self._missed[channel]:
            return None
        return self._read[channel](_unit(bits >> 64 & _WORD)), self._ack(_unit(bits & _WORD))
