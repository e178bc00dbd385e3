"""Live runs' progress, as virtual runs show theirs: model time, acknowledged share, lag, and
the wait before the first alert (a storm's first warning may lie hours of model time after the
run's first event, minutes of wall time at the run's speed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from simulation.live.pacer import Pacer
from simulation.model.world import World

__all__ = ["LiveProgress", "describe", "report_progress", "snapshot"]


@dataclass(frozen=True, slots=True)
class LiveProgress:
    now_s: float  # model seconds: the wall clock's, ahead of the model when it lags
    acknowledged_share: float
    alerts_issued: int
    lag_ms: float  # how late the latest model event was stepped
    first_alert_in_s: float | None  # wall seconds until the first alert; None once issued


def snapshot(world: World, pacer: Pacer) -> LiveProgress:
    """Where the run stands now."""
    try:
        now_s = max(world.env.now, pacer.model_now_s())
    except RuntimeError:  # not paced yet
        now_s = world.env.now
    first_in_s = None
    if not world.alerts and world.first_alert_at_s is not None:
        first_in_s = max(0.0, (world.first_alert_at_s - now_s) / pacer.speed)
    lag_ms = pacer.lags_s[-1] * 1000 if pacer.lags_s else 0.0
    return LiveProgress(now_s, world.acknowledged_share(), len(world.alerts), lag_ms, first_in_s)


def describe(p: LiveProgress) -> str:
    """One status line: ``model 7,560 s, 1 alert, 45.5% acknowledged, lag 3 ms``."""
    if p.first_alert_in_s is not None:
        return f"model {p.now_s:,.0f} s, first alert in {p.first_alert_in_s:,.0f} s wall"
    return (
        f"model {p.now_s:,.0f} s, {p.alerts_issued} alert{'' if p.alerts_issued == 1 else 's'}, "
        f"{p.acknowledged_share:.1%} acknowledged, lag {p.lag_ms:,.0f} ms"
    )


async def report_progress(
    world: World, pacer: Pacer, show: Callable[[LiveProgress], None], every_s: float = 0.25
) -> None:
    """Call ``show`` with a snapshot every ``every_s`` wall seconds, until cancelled."""
    while True:
        show(snapshot(world, pacer))
        await asyncio.sleep(every_s)
