"""Responders: notice an alert, read it, acknowledge it; unavailable ones never do.

A responder is a small state machine driven by SimPy timeouts rather than a generator process:
a responder needs exactly one scheduled event (the moment they press acknowledge), and at the
scale of a whole city (124,000 responders) the process machinery would triple the event count
for the same behaviour. A later delivery on a channel that gets attention sooner (a ringing phone
after an unnoticed push) reschedules that moment; the stale event is recognised by its generation
and ignored. Once the responder has read the alert, nothing reschedules it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dispatcher.core.plan import Recipient

if TYPE_CHECKING:
    from simulation.model.world import World


class ResponderModel:
    __slots__ = (
        "acked",
        "alert_id",
        "channel",
        "generation",
        "read_at_s",
        "recipient",
        "rung",
        "world",
    )

    def __init__(self, world: World, alert_id: str, recipient: Recipient) -> None:
        self.world = world
        self.alert_id = alert_id
        self.recipient = recipient
        self.read_at_s = 0.0
        self.channel = ""
        self.rung = 0
        self.generation = 0  # 0: nothing noticed yet
        self.acked = False

    def deliver(self, channel: str, rung: int) -> None:
        world = self.world
        if self.acked:
            return
        behaviour, alert_id, recipient_id = world.behaviour, self.alert_id, self.recipient.id
        if not behaviour.available(recipient_id):
            if channel == "door_knock":
                world.found_absent(alert_id, recipient_id)
            return
        if behaviour.missed(alert_id, recipient_id, channel):
            return  # arrived, never noticed: the ladder has to catch it
        now_s = world.env.now
        # A signed alert is verified before it is shown, so verification delays the read.
        read_s = behaviour.read_s(alert_id, recipient_id, channel)
        read_at_s = now_s + world.channels[channel].verify_s + read_s
        if self.generation and (now_s >= self.read_at_s or read_at_s >= self.read_at_s):
            return  # already read, or this channel would not be noticed any sooner
        self.generation += 1
        self.read_at_s, self.channel, self.rung = read_at_s, channel, rung
        generation = self.generation
        ack_in_s = read_at_s - now_s + behaviour.ack_s(alert_id, recipient_id, channel)
        world.env.timeout(ack_in_s).callbacks.append(lambda _: self._acknowledge(generation))

    def _acknowledge(self, generation: int) -> None:
        if generation != self.generation or self.acked:
            return  # superseded by a channel that was noticed sooner
        self.acked = True
        self.world.reply(self.alert_id, self.recipient, self.channel, self.rung, self.read_at_s)
