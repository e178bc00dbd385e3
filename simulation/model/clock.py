"""The model's SimPy environment: SimPy's own, with a two-level event queue.

A city run keeps 60,000 to 120,000 events pending at once (responders about to acknowledge,
people walking to risk points), and SimPy keeps them all in one binary heap. Taking the next
event then walks some seventeen levels of a heap far larger than the processor's cache, and a
profile of a city run put a fifth of its time in that one `heappop`.

`Environment` keeps SimPy's heap for the events of the current window of model time only and
holds later ones in unsorted buckets, one per window (a calendar queue, after Brown 1988). When
the heap runs dry the next bucket is heapified whole, which is cheap and touches memory in order.
Every event is still ordered by SimPy's own key (time, priority, insertion id) and only ever
compared within its window, and windows come in order, so events are processed in exactly the
order SimPy's single heap gives: the same seed gives the same run, event for event.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heapify, heappop, heappush
from typing import Any

import simpy
from simpy.core import EmptySchedule
from simpy.events import NORMAL, Event, EventPriority

#: Model seconds a bucket spans: small enough that the heap stays a few thousand events at a
#: city's busiest moment, large enough that buckets are not refilled for every few events.
WINDOW_S = 8.0

# An entry of the queue: SimPy's key (time, priority, insertion id), then what to call with what.
# A SimPy event is processed by `_process`; a moment made by `later` calls its callback itself,
# with no event object at all. The ids are unique, so entries never compare past them.
_Entry = tuple[float, EventPriority, int, Callable[[Any], None], Any]


class Environment(simpy.Environment):
    """`simpy.Environment` with a calendar queue; the same events in the same order."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        super().__init__()
        # the current window's entries, a heap (SimPy's own `_queue` stays empty)
        self._heap: list[_Entry] = []
        self._per_window = 1.0 / window_s
        self._window = 0  # index of the window the heap holds: time * per_window, floored
        # Later windows: index -> its entries unsorted, and a heap of the indices in use.
        self._later: dict[int, list[_Entry]] = {}
        self._later_windows: list[int] = []

    def schedule(self, event: Event, priority: EventPriority = NORMAL, delay: float = 0) -> None:
        self._push(self._now + delay, priority, _process, event)

    def later(self, delay_s: float, callback: Callable[[Any], None]) -> None:
        """Call `callback(None)` `delay_s` model seconds from now, in turn with every event
        scheduled for that moment (a `Timeout` of the same delay made now, its callback
        appended, would come at the same place).

        No event is made: most of a city run's million moments are a time and one callback,
        and a SimPy `Timeout` would carry a value, an environment and a list of callbacks
        besides, built and freed each time. A moment cannot be yielded from a process.
        """
        if delay_s < 0:
            raise ValueError(f"later: expected a delay of 0 s or more, got {delay_s}")
        self._push(self._now + delay_s, NORMAL, callback, None)

    def _push(
        self, at_s: float, priority: EventPriority, call: Callable[[Any], None], arg: Any
    ) -> None:
        entry = (at_s, priority, next(self._eid), call, arg)
        # Multiplying and truncating never reorders two times (floor division can round
        # either way), so a window's events are never later than the next window's.
        window = _window_of(at_s, self._per_window)
        if window <= self._window:
            heappush(self._heap, entry)
            return
        bucket = self._later.get(window)
        if bucket is None:
            self._later[window] = [entry]
            heappush(self._later_windows, window)
        else:
            bucket.append(entry)

    def clear(self) -> None:
        """Drop every event still scheduled (a finished run's stale timers and what waits on
        them), so that what their callbacks hold is freed now."""
        self._heap.clear()
        self._later.clear()
        self._later_windows.clear()

    def _advance(self) -> bool:
        """Make the next window with events the current one; False if there is none."""
        if not self._later_windows:
            return False
        self._window = heappop(self._later_windows)
        queue = self._later.pop(self._window)
        heapify(queue)
        self._heap = queue
        return True

    def peek(self) -> float:
        if not self._heap and not self._advance():
            return float("inf")
        return self._heap[0][0]

    def step(self) -> None:
        if not self._heap and not self._advance():
            raise EmptySchedule
        self._now, _, _, call, arg = heappop(self._heap)
        call(arg)

    def run_until_processed(self, until: Event) -> int:
        """Process events until `until` has been processed; return how many were.

        `step` in a loop, inlined: at a million events a run, the call per event is worth
        saving. Raises `EmptySchedule` if the events run out first, and a failed event that
        nobody defused crashes the run as `step` would.
        """
        steps = 0
        while until.callbacks is not None:  # None once `until` itself has been processed
            queue = self._heap
            if not queue:
                if not self._advance():
                    raise EmptySchedule
                continue
            self._now, _, _, call, arg = heappop(queue)
            call(arg)
            steps += 1
        return steps


def _process(event: Event) -> None:
    """What SimPy's `step` does with an event it pops: its callbacks, then a failure nobody
    defused crashes the run."""
    callbacks: Any = event.callbacks
    event.callbacks = None  # type: ignore[assignment]
    for callback in callbacks:
        callback(event)
    if not event._ok and not hasattr(event, "_defused"):
        exc = type(event._value)(*event._value.args)
        exc.__cause__ = event._value
        raise exc


def _window_of(at_s: float, per_window: float) -> int:
    try:
        return int(at_s * per_window)
    except (OverflowError, ValueError):  # inf or nan: SimPy would queue it; nothing can follow
        raise ValueError(f"clock: expected a finite model time, got {at_s}") from None
