"""A live run's progress line: the wait before the first alert, then model time, share, lag."""

from __future__ import annotations

from pathlib import Path

from simulation.experiment.virtual import build_city
from simulation.live.pacer import Pacer
from simulation.live.progress import LiveProgress, describe, snapshot
from simulation.model.world import World
from tests.support.scenarios import load


async def test_progress_counts_down_to_the_first_alert_then_shows_the_share(
    tmp_path: Path,
) -> None:
    loaded = load(tmp_path)
    world = World(loaded.scenario, build_city(loaded))
    pacer = Pacer(speed=100.0)
    before = snapshot(world, pacer)  # not started, not paced: nothing known yet
    assert (before.now_s, before.alerts_issued, before.first_alert_in_s) == (0.0, 0, None)
    world.start()
    pacer.start(world.env)
    assert world.first_alert_at_s is not None
    waiting = snapshot(world, pacer)
    assert waiting.first_alert_in_s is not None
    # paced from the first event, which is the first alert here: due about now
    expected_s = (world.first_alert_at_s - waiting.now_s) / 100.0
    assert 0.0 <= waiting.first_alert_in_s == max(0.0, expected_s)
    assert describe(waiting).endswith("s wall")
    assert "first alert in" in describe(waiting)
    world.env.run(until=world.first_alert_at_s + 1)
    issued = snapshot(world, pacer)
    assert (issued.alerts_issued, issued.first_alert_in_s) == (1, None)
    assert 0.0 <= issued.acknowledged_share < 1.0
    assert "1 alert," in describe(issued)
    assert "acknowledged" in describe(issued)


def test_describe_formats_the_figures() -> None:
    shown = describe(LiveProgress(7560.4, 0.455, 1, 3.2, None))
    assert shown == "model 7,560 s, 1 alert, 45.5% acknowledged, lag 3 ms"
    assert "model 7,560 s, 2 alerts, " in describe(LiveProgress(7560.4, 0.455, 2, 3.2, None))
    assert describe(LiveProgress(3600.0, 0.0, 0, 0.0, 180.0)) == (
        "model 3,600 s, first alert in 180 s wall"
    )
