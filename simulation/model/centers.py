"""Command centers whose staff take work first come, first served, with a tally of their queue.

Processing an alert (reading it, deciding, pressing send) holds one staff member; the same staff
make the phone calls and arrange door-knocks, and take the center's background work (citizens'
calls, incident reports: `simulation.model.background`), so a town center that has to chase many
non-responders in a busy hour queues, and its relays wait behind them.

The staff are a FIFO queue of `capacity` servers, kept here rather than as a `simpy.Resource`:
the same semantics (a free staff member takes the work at once, a busy center's work waits its
turn), with one SimPy event per hold (its end) instead of three (granted, ended, released) and
five for a generator process. A city run makes some 120,000 holds.

Every hold is tallied by the kind of work (`ALERT` or `BACKGROUND`): how many were granted, how
many waited, the seconds waited and the seconds held, so the report can give each center's mean
wait, P(wait > 0) and utilisation (`queue_figures`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from dispatcher.core.plan import Center
from simulation.behaviour import Sampler
from simulation.model.clock import Environment

ALERT, BACKGROUND = 0, 1
WORK: tuple[str, ...] = ("alert", "background")
# Positions in a tally row: holds granted, of which waited, seconds waited, seconds held (ended).
GRANTED, WAITED, WAIT_S, BUSY_S = 0, 1, 2, 3

OnGranted = Callable[[float, float], None]
# Work waiting for staff: asked for at, how long it holds, then, kind of work, told when granted.
_Waiting = tuple[float, Sampler, Callable[[], None], int, OnGranted | None]


class CenterModel:
    def __init__(self, center: Center, env: Environment, staff: int, processing_s: Sampler) -> None:
        self.center = center
        self.env = env
        self.capacity = staff
        self._processing_s = processing_s
        self.tally: tuple[list[float], list[float]] = ([0, 0, 0.0, 0.0], [0, 0, 0.0, 0.0])
        self._busy = 0  # staff holding work now
        self._busy_since_s = 0.0  # the sum of the moments the holds under way began
        self._waiting: deque[_Waiting] = deque()

    def process(self, on_done: Callable[[], None]) -> None:
        """Process an alert with the next free staff member, then call `on_done`."""
        self.hold(self._processing_s, on_done)

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
        when one was free. Work waits while every staff member is busy or earlier work waits.
        """
        if self._busy < self.capacity and not self._waiting:
            self._start(self.env.now, duration_s, on_done, work, on_granted)
        else:
            self._waiting.append((self.env.now, duration_s, on_done, work, on_granted))

    def _start(
        self,
        requested_s: float,
        duration_s: Sampler,
        on_done: Callable[[], None],
        work: int,
        on_granted: OnGranted | None,
    ) -> None:
        env, tally = self.env, self.tally[work]
        started_s = env.now
        self._busy += 1
        self._busy_since_s += started_s
        tally[GRANTED] += 1  # counted here, not in a call: a city run makes 120,000 holds
        wait_s = started_s - requested_s
        if wait_s > 0:
            tally[WAITED] += 1
            tally[WAIT_S] += wait_s
        if on_granted is not None:
            on_granted(requested_s, started_s)
        env.later(duration_s(), self._finished, (started_s, tally, on_done))

    def _finished(self, hold: tuple[float, list[float], Callable[[], None]]) -> None:
        started_s, tally, on_done = hold
        tally[BUSY_S] += self.env.now - started_s
        self._busy -= 1
        # Back to exactly 0 when idle: the sum must not carry rounding from hold to hold.
        self._busy_since_s = self._busy_since_s - started_s if self._busy else 0.0
        on_done()
        # The freed staff member takes the longest-waiting work (after `on_done`, as a
        # released SimPy resource grants its queue once the release is processed).
        if self._waiting and self._busy < self.capacity:
            self._start(*self._waiting.popleft())

    def queue_figures(self) -> dict[str, Any]:
        """What the staff did until now: holds, waits and busy seconds, by kind of work.

        Holds still under way count their seconds so far; requests still waiting are counted
        apart (`waiting`), their wait not yet known.
        """
        in_progress = self._busy * self.env.now - self._busy_since_s
        out: dict[str, Any] = {
            "code": self.center.code or "municipal",
            "tier": self.center.tier,
            "staff": self.capacity,
            "busy_s": sum(t[BUSY_S] for t in self.tally) + in_progress,
            "waiting": len(self._waiting),
        }
        for name, tally in zip(WORK, self.tally, strict=True):
            out[name] = {
                "granted": int(tally[GRANTED]),
                "waited": int(tally[WAITED]),
                "wait_s": tally[WAIT_S],
            }
        return out
