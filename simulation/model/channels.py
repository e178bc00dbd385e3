"""Notification channels: app push, SMS, voice call, area terminal, door-knock.

A channel owns its delay, its failure rate and its dependence on cell sites. App push rides the
broker (the network model applies first); staffed channels (a town officer phoning, or arranging
a neighbour's door-knock) hold one of the town center's staff for the length of the attempt, so a
town that must call many people queues.

An alert's length (`simulation.alerttext`, precomputed once per alert by `prepare`) counts too:
an SMS of several segments draws its failure and its delay once per segment, and arrives when
its last segment does (failed if any segment fails); a voice call or an area terminal arrives
when its script has been read out, its delay plus the script's seconds.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable
from functools import partial

from simulation.alerttext import AlertLengths
from simulation.behaviour import Streams, bernoulli, sampler
from simulation.hazards import HazardModel
from simulation.model.centers import ALERT, CenterModel, OnGranted
from simulation.model.clock import Environment
from simulation.model.network import Network
from simulation.scenario import ChannelSettings

# Channels that read the alert's script aloud; SMS is the one counted in segments.
READ_ALOUD = ("voice_call", "area_terminal")
# (segments, seconds read aloud) of an alert this channel has not been told the length of
_PLAIN = (1, 0.0)


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
        self._segmented = name == "sms"
        if self._segmented:
            self.counters["segments"] = 0  # every segment of every SMS sent out
        # alert id -> (segments, seconds read aloud), for alerts longer than _PLAIN here
        self._lengths: dict[str, tuple[int, float]] = {}
        # Replies travel back the same way, except to staff, who hear them on the spot.
        self.staffed = settings.staff_s is not None
        # Read at every attempt: plain attributes, not a trip through the settings model.
        self._via_broker = settings.via_broker
        self._cell_dependent = settings.cell_dependent
        self.reply_direct = self.staffed
        self._resend_s = resend_s

    def prepare(self, alert_id: str, lengths: AlertLengths) -> None:
        """Precompute what alert `alert_id`'s length does on this channel (before sending it)."""
        segments = lengths.sms.segments if self._segmented else 1
        read_s = lengths.script.seconds if self.name in READ_ALOUD else 0.0
        if (segments, read_s) != _PLAIN:
            self._lengths[alert_id] = (segments, read_s)

    def send(
        self,
        district: str,
        center: CenterModel | None,
        on_delivered: Callable[[], None],
        on_granted: OnGranted | None = None,
        alert_id: str = "",
    ) -> None:
        """Attempt delivery of `alert_id` to one recipient; `on_delivered` runs if (and when) it
        arrives.

        A staffed channel first holds one of `center`'s staff, telling `on_granted` when it
        asked for one and when one was free.
        """
        counters = self.counters
        counters["sent"] += 1
        counters["in_flight"] += 1
        length = self._lengths.get(alert_id, _PLAIN) if self._lengths else _PLAIN
        if self._staff_s is not None and center is not None:
            self._staffed(district, center, on_delivered, on_granted, length)
        else:
            self._dispatch(district, on_delivered, length)

    def reply(self, on_arrival: Callable[[], None]) -> None:
        """Carry an acknowledgement back to the dispatcher.

        Over the broker it is a QoS 1 publish: one the broker did not take is sent again after
        `resend_s`, until it is through (the device keeps it until then).
        """
        if self.reply_direct:
            on_arrival()
        elif self._via_broker:
            if not self.network.send(on_arrival):
                self.counters["replies_resent"] += 1
                self.env.later(self._resend_s, lambda _: self.reply(on_arrival))
        else:
            self.env.later(self._delay(), operator.call, on_arrival)

    def _staffed(
        self,
        district: str,
        center: CenterModel,
        on_delivered: Callable[[], None],
        on_granted: OnGranted | None,
        length: tuple[int, float],
    ) -> None:
        assert self._staff_s is not None
        dispatch = partial(self._dispatch, district, on_delivered, length)  # no lambda's frame
        center.hold(self._staff_s, dispatch, ALERT, on_granted)

    def _dispatch(
        self, district: str, on_delivered: Callable[[], None], length: tuple[int, float] = _PLAIN
    ) -> None:
        counters = self.counters
        segments, read_s = length
        if self._segmented:
            counters["segments"] += segments
        failed = self._failed
        # Every segment must arrive: one failure draw each, from the channel's own stream.
        if failed() or (segments > 1 and any(failed() for _ in range(segments - 1))):
            self._settle("failed")
            return
        if self._cell_dependent and self._cell() < self.hazard.outage_share(district, self.env.now):
            self._settle("cell_outage")
            return
        delay_s = self._delay()
        if segments > 1:
            for _ in range(segments - 1):  # the message is whole when its last segment arrives
                delay_s = max(delay_s, self._delay())
        delay_s += read_s
        if not self._via_broker:
            self.env.later(delay_s, self._arrived, on_delivered)
            return
        # The device shows an alert once: a QoS 1 redelivery of it is counted, not shown (the
        # network tells them apart, and no state per message is made for the rare copy).
        arrived = partial(self._arrived, on_delivered)
        if not self.network.send(arrived, delay_s, self._duplicate):
            self._settle("lost")  # the ladder's next rung has to catch it

    def _arrived(self, on_delivered: Callable[[], None]) -> None:
        counters = self.counters  # `_settle("delivered")`, inline: one call fewer a delivery
        counters["in_flight"] -= 1
        counters["delivered"] += 1
        on_delivered()

    def _duplicate(self) -> None:
        self.counters["duplicates"] += 1

    def _settle(self, outcome: str) -> None:
        counters = self.counters
        counters["in_flight"] -= 1
        counters[outcome] += 1
