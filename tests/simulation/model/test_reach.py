"""The world hands everything past its channels to its Reach, and takes answers through its API."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import simpy

from dispatcher.core.events import Acknowledged, Delivered
from dispatcher.core.plan import Center, Recipient
from simulation.experiment.virtual import build_city, run_virtual
from simulation.model.reach import Model
from simulation.model.world import World
from tests.support.scenarios import load

# Hops of the base scenario (tests/support/scenarios.py), in model seconds.
MUNICIPAL, DISTRICT, TOWN = 30.0, 40.0, 50.0
PUSH = 2.0  # app push delay past the broker: the channel's, applied by the world
RELAY_S = 1.0  # what the recording reach takes to carry a relay


class InstantNetwork:
    """A network that adds nothing but the sender's own delay past it."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.counters: Counter[str] = Counter()
        self.max_queue_s = 0.0

    def send(
        self,
        on_arrival: Callable[[], None],
        extra_s: float = 0.0,
        again: Callable[[], None] | None = None,
    ) -> bool:
        self.counters["published"] += 1
        self.env.timeout(extra_s).callbacks.append(lambda _: on_arrival())
        return True


class RecordingReach:
    """Records what the world asks of it; every responder acknowledges the moment it is reached."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, str, int, float]] = []
        self.relays: list[tuple[Center, float]] = []
        self.confirmations: list[tuple[Center, Center, float]] = []

    def attach(self, model: Model) -> None:
        self.model = model
        self.network = InstantNetwork(model.env)

    def deliver(self, alert_id: str, recipient: Recipient, channel: str, rung: int) -> None:
        model = self.model
        now_s = model.env.now
        self.deliveries.append((recipient.id, channel, rung, now_s))
        model.handle(Delivered(alert_id, recipient.id, channel, rung))
        model.reply(Acknowledged(alert_id, recipient.id, channel, rung, now_s, now_s))

    def relay(self, alert_id: str, target: Center, on_arrival: Callable[[], None]) -> None:
        env = self.model.env
        self.relays.append((target, env.now))
        env.timeout(RELAY_S).callbacks.append(lambda _: on_arrival())

    def confirm(
        self, alert_id: str, center: Center, to: Center, on_arrival: Callable[[], None]
    ) -> None:
        env = self.model.env
        self.confirmations.append((center, to, env.now))
        env.timeout(RELAY_S).callbacks.append(lambda _: on_arrival())


def _run(tmp_path: Path, **overrides: Any) -> tuple[World, RecordingReach]:
    loaded = load(tmp_path, **overrides)
    reach = RecordingReach()
    world = World(loaded.scenario, build_city(loaded), reach=reach)
    world.start()
    world.run()
    return world, reach


def test_cascade_relays_go_through_the_reach_and_take_its_time(tmp_path: Path) -> None:
    world, reach = _run(tmp_path, strategy="cascade")
    (alert,) = world.alerts
    towns = sorted(t.code for d in world.city.districts for t in d.towns)
    assert sorted((c.tier, c.code, at_s - alert.issued_at_s) for c, at_s in reach.relays) == [
        ("district", "500101", MUNICIPAL),
        *(("town", code, MUNICIPAL + RELAY_S + DISTRICT) for code in towns),
    ]
    grid = [r for r in world.records() if r.tier == "grid"]
    assert grid
    for record in grid:
        assert record.relayed_town_at_s is not None
        assert record.relayed_town_at_s - record.issued_at_s == pytest.approx(
            MUNICIPAL + RELAY_S + DISTRICT + RELAY_S + TOWN
        )


def test_every_recipient_is_delivered_once_after_the_channels_own_delay(tmp_path: Path) -> None:
    world, reach = _run(tmp_path, strategy="cascade")
    records = world.records()
    assert sorted(rid for rid, *_ in reach.deliveries) == sorted(r.recipient_id for r in records)
    assert {(channel, rung) for _, channel, rung, _ in reach.deliveries} == {("app_push", 0)}
    expected = {
        "district": MUNICIPAL + RELAY_S + DISTRICT + PUSH,
        "town": MUNICIPAL + RELAY_S + DISTRICT + RELAY_S + TOWN + PUSH,
        "grid": MUNICIPAL + RELAY_S + DISTRICT + RELAY_S + TOWN + PUSH,
    }
    for record in records:
        assert record.flag is None
        # Acknowledged the moment it arrived, and the reply came back over the instant network.
        assert record.latency_s == pytest.approx(expected[record.tier])


def test_direct_asks_the_reach_for_no_relay(tmp_path: Path) -> None:
    world, reach = _run(tmp_path, strategy="direct")
    assert reach.relays == []
    assert len(reach.deliveries) == len(world.records()) > 0


def test_the_worlds_transport_figures_are_its_reachs_network(tmp_path: Path) -> None:
    world, reach = _run(tmp_path, strategy="direct")
    assert world.network is reach.network
    # one app push out and one acknowledgement back per recipient
    assert reach.network.counters["published"] == 2 * len(world.records())


def test_stepping_one_event_at_a_time_is_the_same_run(tmp_path: Path) -> None:
    loaded = load(tmp_path, strategy="cascade")
    stepped = World(loaded.scenario, build_city(loaded))
    stepped.start()
    while not stepped.done.processed:
        stepped.step()
    ran = run_virtual(loaded)
    assert stepped.events_processed == ran.sim_events > 0
    assert stepped.records() == ran.records


@pytest.mark.parametrize(
    ("module", "unknown"),
    [
        ("simulation.model.world", "simulation.live"),
        ("simulation.model.reach", "simulation.model.world"),
        ("simulation.model.responders", "simulation.model.world"),
    ],
)
def test_the_model_side_of_the_seam_imports_nothing_past_it(module: str, unknown: str) -> None:
    # A fresh interpreter, so nothing imported by other tests hides a dependency.
    code = (
        f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith({unknown!r})))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[]", f"{module} imports {found}"
