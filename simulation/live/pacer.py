"""Live mode's pacing: steps the SimPy model at a wall-clock pace (the asyncio `simpy.rt`).

SimPy's `RealtimeEnvironment` sleeps the thread with `time.sleep`, which would stop every MQTT
client in the process; the pacer instead peeks at the next event, sleeps (in asyncio) until its
scaled wall time, and steps it. A message arriving meanwhile `wake`s it, so that whatever the
message scheduled is stepped on time rather than after the sleep. Lag = how late (wall) an event
was stepped after its due time; strict mode fails past a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import simpy

from dispatcher.errors import AlertsimError

# Events stepped back to back before the pacer yields to the transport's tasks.
STEPS_PER_YIELD = 256
# How long the pacer waits for a backlog to drain before it looks again (wall seconds).
BACKLOG_WAIT_S = 0.001


class LiveLagError(AlertsimError, RuntimeError):
    """Strict mode: the model fell further behind the wall clock than allowed."""


@dataclass(frozen=True, slots=True)
class ModelClock:
    """Maps model seconds to wall time for one live run: model `origin_s` is wall `origin`."""

    origin_s: float
    origin: datetime
    speed: float

    def utc(self, model_s: float) -> datetime:
        return self.origin + timedelta(seconds=(model_s - self.origin_s) / self.speed)


class Paced(Protocol):
    """A model the pacer can step: its environment, when it is done, one step."""

    @property
    def env(self) -> simpy.Environment: ...

    @property
    def done(self) -> simpy.Event: ...

    def step(self) -> None: ...


class Backlog(Protocol):
    """What the model's steps pile up for someone else to drain (the outbox)."""

    def must_wait(self) -> bool:
        """Nudge whoever drains the backlog; True while the model must wait for them."""
        ...


class Pacer:
    """Steps one model at `speed` model seconds per wall second, and measures its lag."""

    def __init__(self, speed: float, *, strict: bool = False, max_lag_s: float = 0.5) -> None:
        if not speed > 0:
            raise ValueError(f"speed: expected a positive factor, got {speed}")
        self.speed = speed
        self.strict = strict
        self.max_lag_s = max_lag_s
        self.lags_s: list[float] = []
        self._wake = asyncio.Event()
        self._clock: ModelClock | None = None
        self._wall0 = 0.0

    @property
    def clock(self) -> ModelClock:
        """The run's model-to-wall mapping, fixed by `start`."""
        if self._clock is None:
            raise RuntimeError("pacer: expected start() before the clock is read, got none yet")
        return self._clock

    def start(self, env: simpy.Environment) -> None:
        """Fix the clock: wall time now is the model time of the first event to step."""
        # The quiet hours before the first warning would only be waited through.
        origin_s = env.peek() if env.peek() != math.inf else env.now
        self._clock = ModelClock(origin_s, datetime.now(UTC), self.speed)
        self._wall0 = asyncio.get_running_loop().time()

    def model_now_s(self) -> float:
        """The model time that corresponds to wall time now (ahead of the model when it lags)."""
        clock = self.clock
        return clock.origin_s + (asyncio.get_running_loop().time() - self._wall0) * self.speed

    def wake(self) -> None:
        """Something was scheduled from outside: look at the next event again now."""
        self._wake.set()

    async def run(self, model: Paced, backlog: Backlog) -> None:
        """Step `model` until it is done, each event at its wall time, waiting on `backlog`."""
        env, done = model.env, model.done
        loop = asyncio.get_running_loop()
        clock = self.clock
        origin_s, wall0, speed = clock.origin_s, self._wall0, self.speed
        lags = self.lags_s
        steps = 0
        while not done.triggered:
            if backlog.must_wait():
                await asyncio.sleep(BACKLOG_WAIT_S)
                continue
            next_s = env.peek()
            if next_s == math.inf:
                self._wake.clear()
                await self._sleep(1.0)
                continue
            late_s = loop.time() - (wall0 + (next_s - origin_s) / speed)
            if late_s < 0:
                self._wake.clear()
                await self._sleep(-late_s)
                continue
            lags.append(late_s)
            if self.strict and late_s > self.max_lag_s:
                raise LiveLagError(
                    f"live driver: model time {next_s:.1f} s: expected lag at most "
                    f"{self.max_lag_s * 1000:.0f} ms wall, got {late_s * 1000:.0f} ms"
                )
            model.step()
            steps += 1
            if steps % STEPS_PER_YIELD == 0:
                await asyncio.sleep(0)

    async def _sleep(self, delay_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay_s)

    def figures(self) -> dict[str, float | int]:
        """The live section's pacing figures: speed, events stepped, lag p99 and max."""
        lags = sorted(self.lags_s)
        p99 = lags[min(len(lags) - 1, math.ceil(0.99 * len(lags)) - 1)] if lags else 0.0
        return {
            "speed": self.speed,
            "strict": self.strict,
            "events_stepped": len(lags),
            "driver_lag_p99_ms": round(p99 * 1000, 3),
            "driver_lag_max_ms": round((lags[-1] if lags else 0.0) * 1000, 3),
        }
