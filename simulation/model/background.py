"""Background work arriving at a center: citizens' calls and incident reports, as seeded streams.

Each stream of each center draws from two random streams of its own, named after the center and
the stream (`background.<center>.<stream>.arrive` / `.service`), so a center's load depends on
neither the order centers are built in nor the scenario's name. Arrivals are Poisson at a fixed
rate, Poisson with a rate that changes every model hour (by thinning), or resampled observed
gaps; each holds one of the center's staff for a `service_s` draw, in the same queue as the
alert's own work. `start_all` starts them an hour before the first alert (`WARM_UP_S`); they
stop once the run is over, or a day past the last alert's expiry.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

import simpy

from simulation.behaviour import Sampler, Streams, sampler
from simulation.model.centers import BACKGROUND, CenterModel
from simulation.scenario import Scenario
from simulation.scenario.background import BackgroundStream

HOUR_S = 3600.0
# Background work starts this long before the first alert, so the alert meets queues in their
# steady state (service times are minutes) without a live run pacing the quiet hours before it.
WARM_UP_S = 3600.0
# Arrivals stop this long past the last alert's expiry even if the run has not ended, so a model
# that stalls still runs out of events instead of queueing calls for ever.
STOP_AFTER_S = 86_400.0


def start_all(
    centers: Iterable[CenterModel],
    scenario: Scenario,
    rngs: Streams,
    done: simpy.Event,
    alerts_at_s: list[float],
) -> float:
    """Start every center's background work `WARM_UP_S` before the first alert, until `done`.

    Returns when it starts (model seconds).
    """
    since_s = max(0.0, min(alerts_at_s, default=0.0) - WARM_UP_S)
    horizon_s = max(alerts_at_s, default=0.0) + scenario.alert.expires_s + STOP_AFTER_S
    tiers = scenario.tiers
    busy = [(c, getattr(tiers, c.center.tier).background) for c in centers]
    busy = [(center, streams) for center, streams in busy if streams]
    if busy:

        def start(_: simpy.Event) -> None:
            for center, streams in busy:
                start_background(center, streams, rngs, lambda: done.triggered, horizon_s)

        busy[0][0].env.later(since_s, start)  # every center shares the one environment
    return since_s


def gaps(stream: BackgroundStream, rng: random.Random) -> Callable[[float], float] | None:
    """Seconds from an arrival at model time `t` to the next; None if the stream never arrives."""
    expo = rng.expovariate
    if stream.interarrival_s is not None:  # inline, or read from interarrival_csv
        choice, values = rng.choice, tuple(stream.interarrival_s)
        return lambda t: choice(values)
    if stream.rate_per_hour is not None:
        if stream.rate_per_hour == 0:
            return None
        rate = stream.rate_per_hour / HOUR_S
        return lambda t: expo(rate)
    profile = tuple(stream.rate_profile_per_hour or ())
    peak = max(profile, default=0.0)
    if peak == 0:
        return None
    peak_rate, uniform, hours = peak / HOUR_S, rng.random, len(profile)

    def thinned(t: float) -> float:
        # Lewis and Shedler's thinning: candidates at the peak rate, each kept with the share
        # of the peak that the hour it falls in has.
        at = t
        while True:
            at += expo(peak_rate)
            if uniform() * peak < profile[int(at // HOUR_S) % hours]:
                return at - t

    return thinned


def start_background(
    center: CenterModel,
    streams: list[BackgroundStream],
    rngs: Streams,
    stop: Callable[[], bool],
    horizon_s: float,
) -> None:
    """Start each of `streams` at `center`, from model time now."""
    key = center.center.code or "municipal"
    for stream in streams:
        gap = gaps(stream, rngs.get(f"background.{key}.{stream.name}.arrive"))
        if gap is None:
            continue
        service = sampler(stream.service_s, rngs.get(f"background.{key}.{stream.name}.service"))
        _arrivals(center, gap, service, stop, horizon_s)


def _arrivals(
    center: CenterModel,
    gap: Callable[[float], float],
    service_s: Sampler,
    stop: Callable[[], bool],
    horizon_s: float,
) -> None:
    env = center.env

    def done() -> None:
        pass

    def arrive(_: simpy.Event) -> None:
        if stop():
            return
        center.hold(service_s, done, BACKGROUND)
        schedule()

    def schedule() -> None:
        wait_s = gap(env.now)
        if env.now + wait_s <= horizon_s:
            env.later(wait_s, arrive)

    schedule()
