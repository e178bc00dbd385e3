"""Notification channels: app push, SMS, voice call, area terminal, door-knock.

A channel owns its delay, its failure rate and its dependence on cell sites. App push rides the
broker (the network model applies first); staffed channels (a town officer phoning, or arranging
a neighbour's door-knock) hold one of the town center's staff for the length of the attempt, so a
town that must call many people queues.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from simulation.behaviour import Streams, bernoulli, sampler
from simulation.hazards import HazardModel
from simulation.model.centers import ALERT, CenterModel, OnGranted
from simulation.model.clock import Environment
from simulation.model.network import Network
from simulation.scenario import ChannelSettings


class ChannelModel:
    def __init__(
        self,
        name: str,
        settings: ChannelSettings,
        env: Environment,
        streams: Streams,
        network: Network,
        hazard: HazardModel,
        *,
        resend_s: float = 10.0,
    ) -> None:
        self.name = name
        self.settings = settings
        self.env = env
        self.network = network
        self.hazard = hazard
        self._delay = sampler(settings.delay_s, streams.get(f"channel.{name}.delay"))
        self._failed = bernoulli(settings.failure, streams.get(f"channel.{name}.failure"))
        self._cell = streams.get(f"channel.{name}.cell").random
        self._staff_s = (
            sampler(settings.staff_s, streams.get(f"channel.{name}.staff"))
            if settings.staff_s is not None
            else None
        )
        # sent = delivered + failed + cell_outage + lost + in_flight; duplicates apart.
        self.counters: Counter[str] = Counter(
            sent=0,
            delivered=0,
            failed=0,
            cell_outage=0,
            lost=0,
            in_flight=0,
            duplicates=0,
            replies_resent=0,
        )
        # Replies travel back the same way, except to staff, who hear them on the spot.
        self.staffed = settings.staff_s is not None
        self.reply_direct = self.staffed
        self._resend_s = resend_s

    def send(
        self,
        district: str,
        center: CenterModel | None,
        on_delivered: Callable[[], None],
        on_granted: OnGranted | None = None,
    ) -> None:
        """Attempt delivery to one recipient; `on_delivered` runs if (and when) it arrives.

        A staffed channel first holds one of `center`'s staff, telling `on_granted` when it
        asked for one and when one was free.
        """
        self.counters["sent"] += 1
        self.counters["in_flight"] += 1
        if self._staff_s is not None and center is not None:
            self._staffed(district, center, on_delivered, on_granted)
        else:
            self._dispatch(district, on_delivered)

    def reply(self, on_arrival: Callable[[], None]) -> None:
        """Carry an acknowledgement back to the dispatcher.

        Over the broker it is a QoS 1 publish: one the broker did not take is sent again after
        `resend_s`, until it is through (the device keeps it until then).
        """
        if self.reply_direct:
            on_arrival()
        elif self.settings.via_broker:
            if not self.network.send(on_arrival):
                self.counters["replies_resent"] += 1
                self.env.later(self._resend_s, lambda _: self.reply(on_arrival))
        else:
            self.env.later(self._delay(), lambda _: on_arrival())

    def _staffed(
        self,
        district: str,
        center: CenterModel,
        on_delivered: Callable[[], None],
        on_granted: OnGranted | None,
    ) -> None:
        assert self._staff_s is not None
        center.hold(
            self._staff_s, lambda: self._dispatch(district, on_delivered), ALERT, on_granted
        )

    def _dispatch(self, district: str, on_delivered: Callable[[], None]) -> None:
        counters = self.counters
        if self._failed():
            self._settle("failed")
            return
        if self.settings.cell_dependent and self._cell() < self.hazard.outage_share(
            district, self.env.now
        ):
            self._settle("cell_outage")
            return
        delay_s = self._delay()
        if not self.settings.via_broker:
            self.env.later(delay_s, lambda _: self._arrived(on_delivered))
            return
        copies = [0]

        def arrived() -> None:
            # The device shows an alert once: a QoS 1 redelivery of it is counted, not shown.
            copies[0] += 1
            if copies[0] == 1:
                self._arrived(on_delivered)
            else:
                counters["duplicates"] += 1

        if not self.network.send(arrived, extra_s=delay_s):
            self._settle("lost")  # the ladder's next rung has to catch it

    def _arrived(self, on_delivered: Callable[[], None]) -> None:
        self._settle("delivered")
        on_delivered()

    def _settle(self, outcome: str) -> None:
        counters = self.counters
        counters["in_flight"] -= 1
        counters[outcome] += 1
