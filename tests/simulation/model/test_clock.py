"""The calendar-queue environment processes exactly the events SimPy's would, in its order."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from simpy.core import EmptySchedule

from simulation.model.clock import Environment


def _trace(
    env: simpy.Environment, seed: int, roots: int, window_hint: float, *, inlined: bool = False
) -> list[tuple]:
    """Run a seeded cascade of timeouts (some at equal times, some urgent) and log the order:
    by `step`, or (`inlined`) by `run_until_processed` up to a last event, SimPy's own `run`
    for SimPy's environment."""
    rng = random.Random(seed)
    order: list[tuple] = []

    def at(delay: float, callback: Callable[[object], None]) -> None:
        # Half the moments through `later` (no event made) where the environment has it: SimPy's
        # own, the reference, takes a Timeout for each; both must come in the same order.
        if rng.random() < 0.5 and isinstance(env, Environment):
            env.later(delay, callback)
        else:
            env.timeout(delay).callbacks.append(callback)

    def fire(label: str, depth: int) -> Callable[[object], None]:
        def callback(_: object) -> None:
            order.append((env.now, label))
            if depth < 3:
                for k in range(rng.randrange(3)):
                    delay = rng.choice([0.0, window_hint, rng.random() * 5 * window_hint])
                    at(delay, fire(f"{label}.{k}", depth + 1))

        return callback

    for i in range(roots):
        at(rng.choice([0.0, 1.0, rng.expovariate(0.05)]), fire(str(i), 0))
        urgent = env.event()
        urgent.callbacks.append(fire(f"u{i}", 2))
        urgent.succeed()
    if inlined:
        last = env.timeout(1e9)
        if isinstance(env, Environment):
            env.run_until_processed(last)
        else:
            env.run(until=last)
        return order
    while True:
        try:
            env.step()
        except EmptySchedule:
            return order


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    roots=st.integers(1, 40),
    window_s=st.sampled_from([0.5, 1.0, 8.0, 100.0]),
)
def test_events_come_in_simpys_order(seed: int, roots: int, window_s: float) -> None:
    expected = _trace(simpy.Environment(), seed, roots, window_s)
    assert _trace(Environment(window_s), seed, roots, window_s) == expected
    assert len(expected) >= 2 * roots


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), roots=st.integers(1, 40), window_s=st.sampled_from([0.5, 8.0]))
def test_the_inlined_loop_processes_events_in_simpys_order(
    seed: int, roots: int, window_s: float
) -> None:
    # run_until_processed takes the earlier of the sorted window's end and the small heap of
    # what was scheduled into the window since: the same choice `step` makes, inlined
    expected = _trace(simpy.Environment(), seed, roots, window_s, inlined=True)
    assert _trace(Environment(window_s), seed, roots, window_s, inlined=True) == expected
    assert len(expected) >= 2 * roots


def test_run_until_processed_counts_and_stops_at_the_event() -> None:
    env = Environment(window_s=2.0)
    seen: list[float] = []
    for t in (0.5, 3.0, 3.0, 9.5, 40.0):
        env.timeout(t).callbacks.append(lambda _: seen.append(env.now))
    until = env.timeout(9.5)
    assert env.run_until_processed(until) == 5  # 0.5, 3.0, 3.0, the 9.5 before it, and it
    assert seen == [0.5, 3.0, 3.0, 9.5]
    assert env.now == 9.5
    assert env.peek() == 40.0


def test_running_dry_raises_empty_schedule_and_peek_says_infinity() -> None:
    env = Environment()
    env.timeout(100.0)
    with pytest.raises(EmptySchedule):
        env.run_until_processed(env.event())
    assert env.peek() == float("inf")


def test_a_failed_event_nobody_defused_crashes_the_run() -> None:
    env = Environment()
    env.timeout(20.0).callbacks.append(lambda _: env.event().fail(ValueError("boom")))
    with pytest.raises(ValueError, match="boom"):
        env.run_until_processed(env.timeout(50.0))


@pytest.mark.parametrize("delay", [float("inf"), float("nan")])
def test_a_time_that_is_not_finite_is_refused_in_one_line(delay: float) -> None:
    env = Environment()
    with pytest.raises(ValueError, match="expected a finite model time"):
        env.timeout(delay)
    with pytest.raises(ValueError, match="expected a finite model time"):
        env.later(delay, lambda _: None)
