"""Background work at a center: M/M/c against Erlang C, rate profiles, gaps, stable keys."""

from __future__ import annotations

import math
import random

from dispatcher.core.plan import Center
from simulation.behaviour import Streams
from simulation.model.background import gaps, start_background
from simulation.model.centers import ALERT, BACKGROUND, GRANTED, CenterModel
from simulation.model.clock import Environment
from simulation.scenario import BackgroundStream, Constant, Exponential

TOWN = Center("town", "500101001")


def erlang_c(servers: int, load: float) -> float:
    """P(wait > 0) in M/M/c with `servers` and offered load `load` = lambda / mu (Erlang)."""
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    return top / (sum(load**k / math.factorial(k) for k in range(servers)) + top)


def stream(name: str = "citizen_calls", **arrivals: object) -> BackgroundStream:
    service = arrivals.pop("service_s", Exponential(kind="exponential", mean=120.0))
    return BackgroundStream.model_validate({"name": name, "service_s": service, **arrivals})


def test_a_town_center_as_m_m_c_matches_erlang_c() -> None:
    # 3 staff, 60 calls an hour of 2 minutes on average: offered load 2 Erlang, utilisation 2/3.
    servers, per_hour, mean_s, calls = 3, 60.0, 120.0, 100_000
    env = Environment()
    center = CenterModel(TOWN, env, servers, lambda: 0.0)
    tally = center.tally[BACKGROUND]
    start_background(
        center,
        [stream(rate_per_hour=per_hour)],
        Streams(20250720),
        lambda: tally[GRANTED] >= calls,
        math.inf,
    )
    while tally[GRANTED] < calls:
        env.step()
    figures = center.queue_figures()
    work = figures["background"]
    load = per_hour / 3600 * mean_s
    p_wait = erlang_c(servers, load)
    mean_wait_s = p_wait / (servers / mean_s - per_hour / 3600)
    assert work["granted"] == calls
    assert abs(work["wait_s"] / calls / mean_wait_s - 1) < 0.05  # theory: 53.3 s
    assert abs(work["waited"] / calls - p_wait) < 0.02  # theory: 0.444
    assert abs(figures["busy_s"] / (servers * env.now) - load / servers) < 0.01
    assert center.tally[ALERT][GRANTED] == 0


def test_an_hourly_profile_arrives_only_in_its_busy_hours() -> None:
    gap = gaps(stream(rate_profile_per_hour=[0.0, 120.0]), random.Random(1))
    assert gap is not None
    at_s, arrivals = 0.0, []
    while True:
        at_s += gap(at_s)
        if at_s >= 10 * 3600:
            break
        arrivals.append(at_s)
    assert all(int(t // 3600) % 2 == 1 for t in arrivals)
    # five busy hours at 120 an hour: 600 expected, sd about 24.5
    assert 500 < len(arrivals) < 700


def test_empirical_gaps_are_resampled_and_zero_rates_never_arrive() -> None:
    gap = gaps(stream(interarrival_s=[30.0, 90.0]), random.Random(1))
    assert gap is not None
    drawn = {gap(0.0) for _ in range(100)}
    assert drawn == {30.0, 90.0}
    assert gaps(stream(rate_per_hour=0.0), random.Random(1)) is None
    assert gaps(stream(rate_profile_per_hour=[0.0, 0.0]), random.Random(1)) is None


def arrivals_by(center_code: str, others: list[str], until_s: float) -> dict[str, object]:
    """The figures of `center_code` with other centers (with two streams each) started first."""
    env, streams = Environment(), Streams(7)
    service = Constant(kind="constant", value=10.0)
    for code in others:
        other = CenterModel(Center("town", code), env, 100, lambda: 0.0)
        busy = [stream("incidents", rate_per_hour=30.0, service_s=service)]
        start_background(other, [*busy, stream(rate_per_hour=50.0)], streams, lambda: False, 1e9)
    center = CenterModel(Center("town", center_code), env, 100, lambda: 0.0)
    start_background(
        center, [stream(rate_per_hour=50.0, service_s=service)], streams, lambda: False, 1e9
    )
    env.run(until=until_s)
    return center.queue_figures()


def test_a_centers_stream_is_keyed_on_its_id_not_on_build_order() -> None:
    alone = arrivals_by("500101001", [], 7200.0)
    crowded = arrivals_by("500101001", ["500101002", "500101003"], 7200.0)
    assert alone == crowded
    assert alone["background"]["granted"] > 50  # type: ignore[index]
    assert arrivals_by("500101002", [], 7200.0) != alone


def test_arrivals_stop_at_the_horizon_and_when_told() -> None:
    env = Environment()
    center = CenterModel(TOWN, env, 1, lambda: 0.0)
    start_background(center, [stream(rate_per_hour=3600.0)], Streams(3), lambda: False, 600.0)
    env.run()  # ends: no arrival is scheduled past the horizon
    granted = center.tally[BACKGROUND][GRANTED]
    assert 500 < granted < 700
    env = Environment()
    center = CenterModel(TOWN, env, 1, lambda: 0.0)
    start_background(center, [stream(rate_per_hour=3600.0)], Streams(3), lambda: True, 600.0)
    env.run()
    assert center.tally[BACKGROUND][GRANTED] == 0
