"""Responders: notice an alert, read it, acknowledge it; unavailable ones never do.

A responder is a small state machine driven by SimPy timeouts rather than a generator process:
a responder needs exactly one scheduled event (the moment they press acknowledge), and at the
scale of a whole city (124,000 responders) the process machinery would triple the event count
for the same behaviour. A later delivery on a channel that gets attention sooner (a ringing phone
after an unnoticed push) reschedules that moment; the stale event is recognised by its generation
and ignored. Once the responder has read the alert, nothing reschedules it.

Responders know nothing of the world: what they see and how they answer is `Surroundings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from dispatcher.core.plan import Recipient
from simulation.behaviour import ResponderBehaviour
from simulation.model.clock import Environment


class Surroundings(Protocol):
    """What a responder sees (the clock, how people behave) and the two ways they answer."""

    @property
    def env(self) -> Environment: ...

    @property
    def behaviour(self) -> ResponderBehaviour: ...

    @property
    def verify_s(self) -> Mapping[str, float]:
        """Per channel, how long the device takes to verify an alert before showing it."""
        ...

    def found_absent(self, alert_id: str, recipient_id: str) -> None:
        """Whoever knocked found nobody at home."""
        ...

    def acknowledged(
        self, alert_id: str, recipient: Recipient, channel: str, rung: int, read_at_s: float
    ) -> None:
        """The responder pressed acknowledge, now, having read the alert at `read_at_s`."""
        ...


class ResponderModel:
    __slots__ = (
        "acked",
        "alert_id",
        "around",
        "channel",
        "generation",
        "key",
        "read_at_s",
        "recipient",
        "rung",
    )

    def __init__(self, around: Surroundings, alert_id: str, key: str, recipient: Recipient) -> None:
        # One shared object rather than callbacks of their own: a city holds 124,000 responders.
        self.around = around
        self.alert_id = alert_id
        self.key = key  # what behaviour is drawn by: stable, unlike the id (alert_ids.py)
        self.recipient = recipient
        self.read_at_s = 0.0
        self.channel = ""
        self.rung = 0
        self.generation = 0  # 0: nothing noticed yet
        self.acked = False

    def deliver(self, channel: str, rung: int) -> None:
        around = self.around
        behaviour, key, recipient_id = around.behaviour, self.key, self.recipient.id
        if not behaviour.available(recipient_id):
            if channel == "door_knock":
                around.found_absent(self.alert_id, recipient_id)
            return
        reaction = behaviour.reaction(key, recipient_id, channel)
        if reaction is None:
            return  # arrived, never noticed: the ladder has to catch it
        read_s, ack_s = reaction
        env = around.env
        if self.acked:
            # Answered already, and the alert comes again: the answer may have been lost, so
            # they answer once more, over this channel.
            env.later(ack_s, lambda _: self._answer(channel, rung))
            return
        now_s = env.now
        # A signed alert is verified before it is shown, so verification delays the read.
        read_at_s = now_s + around.verify_s[channel] + read_s
        if self.generation and (now_s >= self.read_at_s or read_at_s >= self.read_at_s):
            return  # already read, or this channel would not be noticed any sooner
        self.generation += 1
        self.read_at_s, self.channel, self.rung = read_at_s, channel, rung
        env.later(read_at_s - now_s + ack_s, self._acknowledge, self.generation)

    def _acknowledge(self, generation: int) -> None:
        if generation != self.generation or self.acked:
            return  # superseded by a channel that was noticed sooner
        self.acked = True
        self.around.acknowledged(
            self.alert_id, self.recipient, self.channel, self.rung, self.read_at_s
        )

    def _answer(self, channel: str, rung: int) -> None:
        self.around.acknowledged(self.alert_id, self.recipient, channel, rung, self.read_at_s)
