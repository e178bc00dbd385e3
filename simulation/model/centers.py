"""Command centers as SimPy processes whose staff are resources, with a tally of their queue.

Processing an alert (reading it, deciding, pressing send) holds one staff member; the same staff
make the phone calls and arrange door-knocks, and take the center's background work (citizens'
calls, incident reports: `simulation.model.background`), so a town center that has to chase many
non-responders in a busy hour queues, and its relays wait behind them.

Every hold is tallied by the kind of work (`ALERT` or `BACKGROUND`): how many were granted, how
many waited, the seconds waited and the seconds held, so the report can give each center's mean
wait, P(wait > 0) and utilisation (`queue_figures`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from dispatcher.core.plan import Center
from simulation.behaviour import Sampler
from simulation.model.clock import Environment

ALERT, BACKGROUND = 0, 1
WORK: tuple[str, ...] = ("alert", "background")
# Positions in a tally row: holds granted, of which waited, seconds waited, seconds held (ended).
GRANTED, WAITED, WAIT_S, BUSY_S = 0, 1, 2, 3

OnGranted = Callable[[float, float], None]


class CenterModel:
    def __init__(self, center: Center, env: Environment, staff: int, processing_s: Sampler) -> None:
        self.center = center
        self.env = env
        self.staff = simpy.Resource(env, capacity=staff)
        self._processing_s = processing_s
        self.tally: tuple[list[float], list[float]] = ([0, 0, 0.0, 0.0], [0, 0, 0.0, 0.0])

    def process(self, on_done: Callable[[], None]) -> None:
        """Process an alert with the next free staff member, then call `on_done`."""
        self.env.process(self._process(on_done))

    def _process(self, on_done: Callable[[], None]) -> Generator[simpy.Event, object, None]:
        tally, env = self.tally[ALERT], self.env
        requested = env.now
        with self.staff.request() as turn:
            yield turn
            granted = env.now
            _granted(tally, granted - requested)
            yield env.timeout(self._processing_s())
            tally[BUSY_S] += env.now - granted
        on_done()

    def call(self, duration_s: Sampler, on_done: Callable[[], None]) -> None:
        """A call from this center: the next free staff member holds the line, then `on_done`."""
        self.hold(duration_s, on_done)

    def hold(
        self,
        duration_s: Sampler,
        on_done: Callable[[], None],
        work: int = ALERT,
        on_granted: OnGranted | None = None,
    ) -> None:
        """The next free staff member holds for a `duration_s` draw, then `on_done`.

        `on_granted(requested_s, granted_s)` is told when the staff member was asked for and
        when one was free. Callbacks rather than a generator process: the same Request/Release
        semantics of the staff Resource in three events instead of five, for the tens of
        thousands of calls a city run makes.
        """
        env, staff, tally = self.env, self.staff, self.tally[work]
        requested = env.now
        request = staff.request()

        def granted(_: simpy.Event) -> None:
            now = env.now
            _granted(tally, now - requested)
            if on_granted is not None:
                on_granted(requested, now)
            env.later(duration_s(), finished)

        def finished(_: simpy.Event) -> None:
            tally[BUSY_S] += env.now - (request.usage_since or 0.0)
            staff.release(request)
            on_done()

        request.callbacks.append(granted)

    def queue_figures(self) -> dict[str, Any]:
        """What the staff did until now: holds, waits and busy seconds, by kind of work.

        Holds still under way count their seconds so far; requests still waiting are counted
        apart (`waiting`), their wait not yet known.
        """
        now = self.env.now
        in_progress = sum(now - (r.usage_since or 0.0) for r in self.staff.users)
        out: dict[str, Any] = {
            "code": self.center.code or "municipal",
            "tier": self.center.tier,
            "staff": self.staff.capacity,
            "busy_s": sum(t[BUSY_S] for t in self.tally) + in_progress,
            "waiting": len(self.staff.queue),
        }
        for name, tally in zip(WORK, self.tally, strict=True):
            out[name] = {
                "granted": int(tally[GRANTED]),
                "waited": int(tally[WAITED]),
                "wait_s": tally[WAIT_S],
            }
        return out


def _granted(tally: list[float], wait_s: float) -> None:
    tally[GRANTED] += 1
    if wait_s > 0:
        tally[WAITED] += 1
        tally[WAIT_S] += wait_s
