"""Seeded streams, the samplers' distributions and what a responder does with an alert.

Tolerances on sampled figures are several standard errors wide at the number of draws used, and
every stream is seeded, so these tests neither flake nor pass a sampler with the wrong shape.
"""

from __future__ import annotations

import math
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.behaviour import ResponderBehaviour, Streams, bernoulli, inverse_cdf, sampler
from simulation.scenario import (
    Constant,
    Distribution,
    Empirical,
    Exponential,
    LogNormal,
    Scenario,
    Uniform,
)
from tests.support.scenarios import load

ROOT = Path(__file__).resolve().parents[2]
DRAWS = 40_000
names = st.text(st.characters(codec="ascii", categories=["L", "N", "P"]), min_size=1, max_size=20)


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def correlation(a: list[float], b: list[float]) -> float:
    return statistics.correlation(a, b)


# --- Streams --------------------------------------------------------------------------------------


@settings(max_examples=50)
@given(seed=st.integers(0, 2**63 - 1), replication=st.integers(0, 1000), name=names)
def test_a_stream_is_a_function_of_seed_replication_and_name(
    seed: int, replication: int, name: str
) -> None:
    first = [Streams(seed, replication).get(name).random() for _ in range(2)]
    again = Streams(seed, replication)

    assert first[0] == first[1] == again.get(name).random()
    assert again.get(name) is again.get(name)  # one stream per name: draws continue


def test_streams_are_the_same_in_another_process_whatever_its_hash_seed() -> None:
    names_ = ("behaviour.read", "network.loss", "x")
    script = (
        "from simulation.behaviour import Streams; s = Streams(20250720, 3); "
        f"print(hash('behaviour.read')); print([s.get(n).random() for n in {names_!r}])"
    )
    here = Streams(20250720, 3)
    env = {**os.environ, "PYTHONHASHSEED": str(hash("seed") % 4_000_000_000)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    their_hash, their_draws = done.stdout.split("\n")[:2]

    assert int(their_hash) != hash("behaviour.read")  # hash() differs between the processes...
    assert their_draws == str([here.get(n).random() for n in names_])  # ...the streams do not


@settings(max_examples=50)
@given(seed=st.integers(0, 2**32), data=st.data())
def test_drawing_from_one_stream_never_shifts_another(seed: int, data: st.DataObject) -> None:
    """Common random numbers: what one purpose draws leaves every other purpose's draws alone."""
    others = data.draw(st.lists(st.tuples(names, st.integers(1, 50)), max_size=5))
    alone = Streams(seed).get("behaviour.read")
    expected = [alone.random() for _ in range(5)]

    streams = Streams(seed)
    for name, count in others:
        if name != "behaviour.read":
            for _ in range(count):
                streams.get(name).random()

    assert [streams.get("behaviour.read").random() for _ in range(5)] == expected


def test_replications_seeds_and_names_give_unrelated_streams() -> None:
    base = Streams(7, 0).get("a")
    draws = [base.random() for _ in range(5_000)]
    for other in (Streams(7, 1).get("a"), Streams(8, 0).get("a"), Streams(7, 0).get("b")):
        theirs = [other.random() for _ in range(5_000)]
        assert theirs != draws
        assert abs(correlation(draws, theirs)) < 0.05  # ~3.5 standard errors at 5,000 draws


# --- samplers ---------------------------------------------------------------------------------


def draws_of(dist: Distribution, n: int = DRAWS, name: str = "s") -> list[float]:
    draw = sampler(dist, Streams(11).get(name))
    return [draw() for _ in range(n)]


@pytest.mark.parametrize(
    ("median", "p90"), [(45.0, 300.0), (1.5, 6.0), (8.0, 30.0), (0.04, 0.15), (10.0, 10.0)]
)
def test_lognormal_draws_have_the_median_and_p90_they_were_given(median: float, p90: float) -> None:
    values = draws_of(LogNormal(kind="lognormal", median=median, p90=p90))

    # Standard errors at 40,000 draws: ~0.9% of the median and ~1.3% of p90 for the widest.
    assert statistics.median(values) == pytest.approx(median, rel=0.04)
    assert quantile(values, 0.9) == pytest.approx(p90, rel=0.05)
    assert min(values) > 0


@pytest.mark.parametrize(("median", "p90"), [(45.0, 300.0), (1.0, 6.0), (10.0, 10.0)])
def test_lognormal_draws_are_the_numbers_random_gauss_gives(median: float, p90: float) -> None:
    # The sampler's own Box-Muller must give exp(mu + sigma * gauss()) draw for draw, so that
    # every figure of a seed stayed what it was when the sampler called `gauss`.
    mu, sigma = math.log(median), math.log(p90 / median) / 1.2815515655446004
    reference = random.Random("11:0:s")
    expected = [math.exp(mu + sigma * reference.gauss()) for _ in range(10_001)]

    assert draws_of(LogNormal(kind="lognormal", median=median, p90=p90), 10_001) == expected


def test_lognormal_inverse_cdf_hits_median_and_p90_exactly() -> None:
    inv = inverse_cdf(LogNormal(kind="lognormal", median=45.0, p90=300.0))

    assert inv(0.5) == pytest.approx(45.0, rel=1e-9)
    assert inv(0.9) == pytest.approx(300.0, rel=1e-6)
    assert inv(0.1) == pytest.approx(45.0**2 / 300.0, rel=1e-6)  # symmetric in log space


def test_uniform_exponential_constant_and_empirical_draws() -> None:
    uniform = draws_of(Uniform(kind="uniform", low=0.8, high=1.7))
    assert min(uniform) >= 0.8
    assert max(uniform) <= 1.7
    assert statistics.fmean(uniform) == pytest.approx(1.25, rel=0.01)
    assert quantile(uniform, 0.9) == pytest.approx(0.8 + 0.9 * 0.9, rel=0.01)

    expo = draws_of(Exponential(kind="exponential", mean=120.0))
    assert statistics.fmean(expo) == pytest.approx(120.0, rel=0.03)  # SE 0.5%
    assert statistics.median(expo) == pytest.approx(120.0 * math.log(2), rel=0.03)

    assert set(draws_of(Constant(kind="constant", value=15.0), n=100)) == {15.0}

    empirical = draws_of(Empirical(kind="empirical", values=[1.0, 2.0, 2.0, 9.0]))
    shares = {v: empirical.count(v) / len(empirical) for v in set(empirical)}
    assert shares == pytest.approx({1.0: 0.25, 2.0: 0.5, 9.0: 0.25}, abs=0.015)


@given(u=st.floats(min_value=1e-12, max_value=1 - 1e-12))
def test_inverse_cdfs_map_a_quantile_to_its_value(u: float) -> None:
    assert inverse_cdf(Uniform(kind="uniform", low=2.0, high=4.0))(u) == pytest.approx(2 + 2 * u)
    expo = inverse_cdf(Exponential(kind="exponential", mean=10.0))(u)
    assert expo == pytest.approx(-10.0 * math.log(1 - u), rel=1e-9)
    values = [3.0, 1.0, 4.0, 1.0, 5.0]
    assert inverse_cdf(Empirical(kind="empirical", values=values))(u) == values[int(u * 5)]
    assert inverse_cdf(Constant(kind="constant", value=7.0))(u) == 7.0


@pytest.mark.parametrize("probability", [0.0, 0.03, 0.15, 0.5, 0.96, 1.0])
def test_bernoulli_is_true_at_its_rate(probability: float) -> None:
    draw = bernoulli(probability, Streams(5).get(f"b{probability}"))

    hits = sum(draw() for _ in range(DRAWS))

    standard_error = math.sqrt(probability * (1 - probability) / DRAWS)
    assert hits / DRAWS == pytest.approx(probability, abs=4 * standard_error + 1e-12)


# --- ResponderBehaviour -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    channels: dict[str, Any] = {
        "app_push": {"missed": 0.15},
        "sms": {"missed": 0.0, "read_s": {"kind": "constant", "value": 5}},
        "voice_call": {"missed": 0.0, "read_s": {"kind": "lognormal", "median": 45, "p90": 300}},
        "door_knock": {"missed": 0.15},
    }
    behaviour = {
        "read_s": {"kind": "lognormal", "median": 45, "p90": 300},
        "ack_s": {"kind": "lognormal", "median": 8, "p90": 30},
        "availability": 0.96,
    }
    folder = tmp_path_factory.mktemp("behaviour")
    return load(folder, seed=20250720, channels=channels, behaviour=behaviour).scenario


RECIPIENTS = [f"500101001-m{i:05d}" for i in range(20_000)]


def test_availability_is_drawn_once_per_responder_at_the_scenario_rate(scenario: Scenario) -> None:
    behaviour = ResponderBehaviour(scenario)

    available = [behaviour.available(r) for r in RECIPIENTS]

    assert sum(available) / len(available) == pytest.approx(0.96, abs=0.006)  # SE 0.14%
    again = ResponderBehaviour(scenario)
    assert [again.available(r) for r in RECIPIENTS[:2_000]] == available[:2_000]


def test_missed_follows_each_channels_rate(scenario: Scenario) -> None:
    behaviour = ResponderBehaviour(scenario)

    push = [behaviour.reaction("a-1", r, "app_push") is None for r in RECIPIENTS]

    assert sum(push) / len(push) == pytest.approx(0.15, abs=0.01)  # SE 0.25%
    assert all(behaviour.reaction("a-1", r, "sms") is not None for r in RECIPIENTS)
    # Each channel is a draw of its own: missing the push says nothing about the knock.
    knock = [behaviour.reaction("a-1", r, "door_knock") is None for r in RECIPIENTS]
    both = sum(p and k for p, k in zip(push, knock, strict=True)) / len(RECIPIENTS)
    assert both == pytest.approx(0.15 * 0.15, abs=0.005)  # SE 0.1%


def reactions(behaviour: ResponderBehaviour, channel: str, alert_id: str = "a-1") -> list[Any]:
    """Every RECIPIENTS' reaction to the alert on `channel`, None where it was missed."""
    return [behaviour.reaction(alert_id, r, channel) for r in RECIPIENTS]


def test_read_and_ack_times_have_the_scenarios_distributions(scenario: Scenario) -> None:
    behaviour = ResponderBehaviour(scenario)

    noticed = [r for r in reactions(behaviour, "app_push") if r is not None]
    read = [read_s for read_s, _ in noticed]
    ack = [ack_s for _, ack_s in noticed]

    assert statistics.median(read) == pytest.approx(45.0, rel=0.05)
    assert quantile(read, 0.9) == pytest.approx(300.0, rel=0.06)
    assert statistics.median(ack) == pytest.approx(8.0, rel=0.05)
    assert quantile(ack, 0.9) == pytest.approx(30.0, rel=0.06)
    # A channel's own read time replaces the scenario's.
    assert {r[0] for r in reactions(behaviour, "sms")[:100] if r is not None} == {5.0}
    # Reading and acknowledging are separate draws, not one quantile used twice.
    assert abs(correlation([math.log(x) for x in read], [math.log(x) for x in ack])) < 0.03


def test_whether_a_delivery_is_noticed_says_nothing_of_how_soon_it_is_read(
    scenario: Scenario,
) -> None:
    """A delivery's three draws are words of one digest, and must be independent: the half who
    notice a push missed by half read it after the scenario's read times, not after a part of
    them."""
    push = scenario.channels["app_push"].model_copy(update={"missed": 0.5})
    behaviour = ResponderBehaviour(
        scenario.model_copy(update={"channels": {**scenario.channels, "app_push": push}})
    )

    reacted = reactions(behaviour, "app_push")
    noticed = [r for r in reacted if r is not None]

    assert len(noticed) / len(reacted) == pytest.approx(0.5, abs=0.015)  # SE 0.35%
    read = [read_s for read_s, _ in noticed]
    assert statistics.median(read) == pytest.approx(45.0, rel=0.06)
    assert quantile(read, 0.1) == pytest.approx(45.0**2 / 300.0, rel=0.08)  # lognormal symmetry
    assert quantile(read, 0.9) == pytest.approx(300.0, rel=0.08)


@settings(max_examples=30)
@given(
    keys=st.lists(
        st.tuples(st.sampled_from(["a-1", "a-2"]), st.sampled_from(RECIPIENTS[:50])),
        min_size=1,
        max_size=30,
    ),
    order=st.randoms(use_true_random=False),
)
def test_draws_depend_on_who_and_what_not_on_the_order_they_are_asked(
    scenario: Scenario, keys: list[tuple[str, str]], order: Any
) -> None:
    def answers(behaviour: ResponderBehaviour, key: tuple[str, str]) -> tuple[object, ...]:
        alert_id, rid = key
        return (behaviour.available(rid), behaviour.reaction(alert_id, rid, "app_push"))

    first = ResponderBehaviour(scenario, replication=2)
    expected = {key: answers(first, key) for key in keys}
    shuffled = list(keys)
    order.shuffle(shuffled)

    second = ResponderBehaviour(scenario, replication=2)

    assert {key: answers(second, key) for key in shuffled} == expected


def test_replication_and_seed_change_the_draws(scenario: Scenario) -> None:
    def reads(behaviour: ResponderBehaviour, alert_id: str = "a-1") -> list[float]:
        """Read times of a call, which nobody misses."""
        drawn = [behaviour.reaction(alert_id, r, "voice_call") for r in RECIPIENTS[:2_000]]
        return [reaction[0] for reaction in drawn if reaction is not None]

    base = reads(ResponderBehaviour(scenario))
    for other in (
        ResponderBehaviour(scenario, replication=1),
        ResponderBehaviour(scenario.model_copy(update={"seed": scenario.seed + 1})),
    ):
        theirs = reads(other)
        assert sum(a == b for a, b in zip(base, theirs, strict=True)) == 0
        assert abs(correlation(base, theirs)) < 0.1
    # ... and so do the alert and the channel: each delivery is a draw of its own.
    behaviour = ResponderBehaviour(scenario)
    other_alert = reads(behaviour, "a-2")
    assert abs(correlation(base, other_alert)) < 0.1
