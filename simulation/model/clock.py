"""The model's SimPy environment: SimPy's own, with a two-level event queue.

A city run keeps 60,000 to 120,000 events pending at once (responders about to acknowledge,
people walking to risk points), and SimPy keeps them all in one binary heap. Taking the next
event then walks some seventeen levels of a heap far larger than the processor's cache, and a
profile of a city run put a fifth of its time in that one `heappop`.

`Environment` holds the events of later windows of model time in unsorted buckets, one per
window (a calendar queue, after Brown 1988). When the current window runs dry, the next bucket
is sorted whole, which `list.sort` does with a comparison specialised to tuples of floats, in
memory order, and the window's events are then taken off its end one by one at no cost. Three
events in four are scheduled into a later window; the rest, due within the current one, wait in
a small heap, and the next event is whichever of the two comes first. Every event is still
ordered by SimPy's own key (time, priority, insertion id) and windows come in order, so events
are processed in exactly the order SimPy's single heap gives: the same seed gives the same run,
event for event.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
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

    # The model time, a plain attribute: SimPy's `now` is a property over `_now`, and a city run
    # reads the time some two million times. Only `__init__` of SimPy's own code (the rest of
    # which this class replaces) sets `_now`.
    now: float = 0.0

    def __init__(self, window_s: float = WINDOW_S) -> None:
        super().__init__()
        self.now = self._now
        # The current window's entries (SimPy's own `_queue` stays empty): those it began with,
        # sorted latest first, and those scheduled into it since, a heap.
        self._sorted: list[_Entry] = []
        self._heap: list[_Entry] = []
        self._per_window = 1.0 / window_s
        self._window = 0  # index of the current window: time * per_window, floored
        # Later windows: index -> its entries unsorted, and a heap of the indices in use.
        self._later: dict[int, list[_Entry]] = {}
        self._later_windows: list[int] = []

    def schedule(self, event: Event, priority: EventPriority = NORMAL, delay: float = 0) -> None:
        self._push(self.now + delay, priority, _process, event)

    def later(self, delay_s: float, callback: Callable[[Any], None], arg: Any = None) -> None:
        """Call `callback(arg)` `delay_s` model seconds from now, in turn with every event
        scheduled for that moment (a `Timeout` of the same delay made now, its callback
        appended, would come at the same place).

        No event is made: most of a city run's million moments are a time and one callback,
        and a SimPy `Timeout` would carry a value, an environment and a list of callbacks
        besides, built and freed each time; and `arg` spares a closure made only to bind one
        value (`later(delay_s, operator.call, function)` for a function of no arguments). A
        moment cannot be yielded from a process.
        """
        if delay_s < 0:
            raise ValueError(f"later: expected a delay of 0 s or more, got {delay_s}")
        self._push(self.now + delay_s, NORMAL, callback, arg)

    def _push(
        self, at_s: float, priority: EventPriority, call: Callable[[Any], None], arg: Any
    ) -> None:
        entry = (at_s, priority, next(self._eid), call, arg)
        # Multiplying and truncating never reorders two times (floor division can round
        # either way), so a window's events are never later than the next window's.
        try:
            window = int(at_s * self._per_window)
        except (OverflowError, ValueError):  # inf or nan: SimPy would queue it; nothing follows
            raise ValueError(f"clock: expected a finite model time, got {at_s}") from None
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
        self._sorted.clear()
        self._heap.clear()
        self._later.clear()
        self._later_windows.clear()

    def _advance(self) -> bool:
        """Make the next window with events the current one; False if there is none."""
        if not self._later_windows:
            return False
        self._window = heappop(self._later_windows)
        queue = self._later.pop(self._window)
        queue.sort(reverse=True)
        self._sorted = queue
        return True

    def _pop(self) -> _Entry | None:
        """Take the next entry off the queue; None if there is none."""
        while True:
            queue, heap = self._sorted, self._heap
            if queue:
                if heap and heap[0] < queue[-1]:
                    return heappop(heap)
                return queue.pop()
            if heap:
                return heappop(heap)
            if not self._advance():
                return None

    def peek(self) -> float:
        if not self._sorted and not self._heap and not self._advance():
            return float("inf")
        queue, heap = self._sorted, self._heap
        if not heap:
            return queue[-1][0]
        if not queue:
            return heap[0][0]
        return min(queue[-1][0], heap[0][0])

    def step(self) -> None:
        entry = self._pop()
        if entry is None:
            raise EmptySchedule
        self.now, _, _, call, arg = entry
        call(arg)

    def run_until_processed(self, until: Event) -> int:
        """Process events until `until` has been processed; return how many were.

        `step` in a loop, inlined: at a million events a run, the call per event is worth
        saving. Raises `EmptySchedule` if the events run out first, and a failed event that
        nobody defused crashes the run as `step` would.
        """
        steps = 0
        heap = self._heap  # the same list for the whole run: `_push` adds to it, never rebinds
        while until.callbacks is not None:  # None once `until` itself has been processed
            queue = self._sorted
            if queue:
                if heap and heap[0] < queue[-1]:
                    self.now, _, _, call, arg = heappop(heap)
                else:
                    self.now, _, _, call, arg = queue.pop()
            elif heap:
                self.now, _, _, call, arg = heappop(heap)
            elif self._advance():
                continue
            else:
                raise EmptySchedule
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
