"""The Reach seam: how the world's notifications and relays reach people and centers.

The world applies each channel's own delay, failure and staffing in model time, and the policy
decides who is notified and relayed to; what happens past that point is all that virtual and live
mode differ in, and it is a `Reach`:

- the network the channels ride (seeded latency and loss, or a real broker's hop);
- a delivery: the channel has delivered an alert to a recipient, now;
- a relay: an alert on its way from one center to another.

`VirtualReach` (here) hands a delivery to a simulated responder and sends relays over the virtual
network. The live reach (`simulation.live.reach`) publishes both over a broker; what comes back
reaches the world through its public methods (`Model`), as it does here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import simpy

from dispatcher.core.events import (
    Acknowledged,
    Delivered,
    Event,
    FoundAbsent,
    make_acknowledged,
    make_delivered,
)
from dispatcher.core.plan import Center, Recipient
from simulation.alerttext import AlertWords
from simulation.behaviour import ResponderBehaviour, Streams
from simulation.model.alert_ids import behaviour_key
from simulation.model.clock import Environment
from simulation.model.network import Network, NetworkModel
from simulation.model.responders import ResponderModel
from simulation.scenario import Scenario


@dataclass(frozen=True, slots=True)
class IssuedAlert:
    """An alert the world issued: what the report lists and a reach may need to carry it."""

    alert_id: str
    level: str
    issued_at_s: float
    expires_at_s: float
    districts: tuple[str, ...]
    recipients: int
    risk_points: int
    # its words, one block per language, and how long they are on a channel (None: not known)
    words: AlertWords | None = None
    msg_type: str = "Alert"  # or Update, Cancel: a warning's life (simulation.model.episodes)
    references: tuple[str, ...] = ()


class Model(Protocol):
    """The world as a reach sees it: its clock, settings and streams, and the policy's inbox."""

    @property
    def env(self) -> Environment: ...

    @property
    def scenario(self) -> Scenario: ...

    @property
    def streams(self) -> Streams: ...

    @property
    def done(self) -> simpy.Event:
        """Triggered once every alert is complete and every route walked."""
        ...

    def handle(self, event: Event) -> None:
        """Hand `event` to the policy now and carry out what it commands."""
        ...

    def reply(self, ack: Acknowledged) -> None:
        """Carry an acknowledgement back to the dispatcher over its channel, then handle it."""
        ...

    def stamp(self, delivered: Delivered, at_s: float) -> None:
        """Record a delivery learned of after the fact, at model time `at_s` (not after now)."""
        ...

    def issued(self, alert_id: str) -> IssuedAlert:
        """The alert issued as `alert_id`."""
        ...


class Reach(Protocol):
    """What lies past the channels: the network they ride, the responders, the other centers."""

    def attach(self, model: Model) -> None:
        """Called once by the world being built, after its clock, settings and streams exist and
        before anything is sent; the reach keeps `model` to hand it what comes back."""
        ...

    @property
    def network(self) -> Network:
        """The network the channels (and the world's transport figures) ride."""
        ...

    def deliver(self, alert_id: str, recipient: Recipient, channel: str, rung: int) -> None:
        """`channel` has delivered the alert to `recipient` now, on the ladder's rung `rung`."""
        ...

    def relay(self, alert_id: str, target: Center, on_arrival: Callable[[], None]) -> None:
        """Carry a center-to-center relay to `target`; `on_arrival` runs when it is there."""
        ...

    def confirm(
        self, alert_id: str, center: Center, to: Center, on_arrival: Callable[[], None]
    ) -> None:
        """Carry `center`'s confirmation that it holds the alert to `to`, the tier above."""
        ...


class VirtualReach:
    """The virtual `Reach`: relays ride the seeded network, simulated responders answer.

    It is also the responders' `Surroundings`: one object all of them share.
    """

    env: Environment
    network: NetworkModel
    behaviour: ResponderBehaviour
    verify_s: dict[str, float]

    def attach(self, model: Model) -> None:
        scenario, streams = model.scenario, model.streams
        self.env = model.env
        self.network = NetworkModel(model.env, scenario.network, streams)
        self.behaviour = ResponderBehaviour(scenario, streams.replication)
        # Only channels that carry the signed alert itself (app push) make the device verify it.
        verify_s = scenario.trust.verify_s
        self.verify_s = {
            name: verify_s if settings.via_broker else 0.0
            for name, settings in scenario.channels.items()
        }
        self._handle = model.handle
        self._reply = model.reply
        self._responders: dict[tuple[str, str], ResponderModel] = {}

    def deliver(self, alert_id: str, recipient: Recipient, channel: str, rung: int) -> None:
        self._handle(make_delivered(alert_id, recipient.id, channel, rung))
        key = (alert_id, recipient.id)
        responder = self._responders.get(key)
        if responder is None:
            responder = ResponderModel(self, alert_id, behaviour_key(alert_id), recipient)
            self._responders[key] = responder
        responder.deliver(channel, rung)

    def forget(self) -> None:
        """Let the responders and the model they answer go (the run is over)."""
        self._responders.clear()
        del self._handle, self._reply

    def relay(self, alert_id: str, target: Center, on_arrival: Callable[[], None]) -> None:
        self.network.send(on_arrival)

    def confirm(
        self, alert_id: str, center: Center, to: Center, on_arrival: Callable[[], None]
    ) -> None:
        self.network.send(on_arrival)  # it may be lost too: the tier above then resends

    # -- Surroundings ---------------------------------------------------------------------------

    def found_absent(self, alert_id: str, recipient_id: str) -> None:
        self._handle(FoundAbsent(alert_id, recipient_id))

    def acknowledged(
        self, alert_id: str, recipient: Recipient, channel: str, rung: int, read_at_s: float
    ) -> None:
        now_s = self.env.now
        self._reply(make_acknowledged(alert_id, recipient.id, channel, rung, read_at_s, now_s))
