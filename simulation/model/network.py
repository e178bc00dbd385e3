"""The network the channels ride: its protocol, and the virtual network that owns latency and loss.

As in SimPy's `Cable` example, senders and receivers know nothing about delay: a center hands a
message to `send` with what should happen on arrival, and the network decides when (and whether,
and how often) that happens. The broker is a single FIFO server of fixed capacity, so a burst of
121,000 publishes queues for 121,000 / capacity seconds, as it would on one mosquitto.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from simulation.behaviour import Streams, bernoulli, sampler
from simulation.model.clock import Environment
from simulation.scenario import Network as NetworkSettings


class Network(Protocol):
    """What carries a message between the model's parties: virtual here, a real broker live.

    Senders say what should happen on arrival and nothing about delay: that is the network's.
    """

    @property
    def counters(self) -> Counter[str]:
        """The report's transport figures: published = delivered + lost + in flight, each message
        once; `duplicates` counts the extra copies delivered apart."""
        ...

    @property
    def max_queue_s(self) -> float:
        """The longest a message waited for the broker, in model seconds."""
        ...

    def send(
        self,
        on_arrival: Callable[[], None],
        extra_s: float = 0.0,
        again: Callable[[], None] | None = None,
    ) -> bool:
        """Publish one message; `on_arrival` runs once per copy delivered, or, with `again`,
        for the first copy to arrive and `again` for each later one (a receiver that shows a
        message once needs no state of its own to tell them apart).

        `extra_s` is delay past the broker that the sender's channel adds (a push service).
        Returns False when the message is lost, which a QoS 1 sender learns (no PUBACK) and
        may answer by sending it again.
        """
        ...


class NetworkModel:
    """The virtual `Network`: seeded latency, loss and QoS 1 duplicates behind one FIFO broker."""

    def __init__(self, env: Environment, settings: NetworkSettings, streams: Streams) -> None:
        self.env = env
        self._latency = sampler(settings.latency_s, streams.get("network.latency"))
        self._lost = bernoulli(settings.loss, streams.get("network.loss"))
        self._duplicated = bernoulli(settings.duplicate, streams.get("network.duplicate"))
        self._service_s = 1.0 / settings.broker_capacity_per_s
        self._free_at_s = 0.0
        self.counters: Counter[str] = Counter(
            published=0, delivered=0, duplicates=0, lost=0, in_flight=0
        )
        self.max_queue_s = 0.0

    def send(
        self,
        on_arrival: Callable[[], None],
        extra_s: float = 0.0,
        again: Callable[[], None] | None = None,
    ) -> bool:
        """Queue behind earlier messages at the broker, then latency; maybe lost or duplicated."""
        now_s = self.env.now
        self.counters["published"] += 1
        start_s = max(now_s, self._free_at_s)
        self._free_at_s = start_s + self._service_s
        queued_s = self._free_at_s - now_s
        self.max_queue_s = max(self.max_queue_s, queued_s)
        counters = self.counters
        if self._lost():
            counters["lost"] += 1
            return False
        counters["in_flight"] += 1
        first_s = queued_s + self._latency() + extra_s
        if not self._duplicated():
            self.env.later(first_s, self._arrived, on_arrival)
            return True
        # A QoS 1 redelivery: the same message again, a little later, counted apart. Its
        # latency is drawn anew, so it may overtake the first copy: whichever comes first
        # (the first on a tie, queued first) is the one `on_arrival` is for.
        counters["duplicates"] += 1
        second_s = queued_s + self._latency() + extra_s
        if again is None:
            first, second = on_arrival, on_arrival
        elif first_s <= second_s:
            first, second = on_arrival, again
        else:
            first, second = again, on_arrival
        self.env.later(first_s, self._arrived, first)
        self.env.later(second_s, operator.call, second)
        return True

    def _arrived(self, on_arrival: Callable[[], None]) -> None:
        counters = self.counters
        counters["in_flight"] -= 1
        counters["delivered"] += 1
        on_arrival()
