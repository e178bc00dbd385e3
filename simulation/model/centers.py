"""Command centers as SimPy processes whose staff are resources.

Processing an alert (reading it, deciding, pressing send) holds one staff member; the same staff
make the phone calls and arrange door-knocks, so a town center that has to chase many
non-responders queues, and its relays wait behind them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import simpy

from dispatcher.core.plan import Center
from simulation.behaviour import Sampler


class CenterModel:
    def __init__(
        self, center: Center, env: simpy.Environment, staff: int, processing_s: Sampler
    ) -> None:
        self.center = center
        self.env = env
        self.staff = simpy.Resource(env, capacity=staff)
        self._processing_s = processing_s

    def process(self, on_done: Callable[[], None]) -> None:
        """Process an alert with the next free staff member, then call `on_done`."""
        self.env.process(self._process(on_done))

    def _process(self, on_done: Callable[[], None]) -> Generator[simpy.Event, object, None]:
        with self.staff.request() as turn:
            yield turn
            yield self.env.timeout(self._processing_s())
        on_done()

    def call(self, duration_s: Sampler, on_done: Callable[[], None]) -> None:
        """A call from this center: the next free staff member holds the line, then `on_done`."""
        request = self.staff.request()

        def granted(_: simpy.Event) -> None:
            self.env.timeout(duration_s()).callbacks.append(finished)

        def finished(_: simpy.Event) -> None:
            self.staff.release(request)
            on_done()

        request.callbacks.append(granted)
