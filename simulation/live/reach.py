"""Live mode's reach: the world's deliveries and relays, published over a real broker.

Where the virtual reach hands a delivery to a simulated responder, this one publishes the alert
to the responder's topic (a swarm client, or anyone subscribed), and a relay to the target
center's topic, from which the run's own subscription brings it back. What comes back is
`simulation.live.inbound`'s; it asks this reach what was sent (`rung`, `take_relay`).

Publishing runs beside the step loop, from an `Outbox` drained by a task of its own: awaiting a
full outgoing queue in the step loop held every model event back behind the broker (lags of
1.5 s wall at 60x on a large district). Messages are stamped `sent_at_ns` when made, so time
queued in the outbox counts as hop time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import simpy

from dispatcher.core.plan import Center, Recipient
from dispatcher.transport import Message, Transport
from dispatcher.trust.signing import Delivery, relay_delivery
from dispatcher.wire.envelopes import (
    PayloadFormat,
    alert_message,
    flood_alert_bytes,
    relay_message,
    wall_expiry_s,
)
from simulation.caplifecycle import lifecycle_payload
from simulation.live.keys import AlertSigners
from simulation.live.pacer import Pacer
from simulation.model.reach import IssuedAlert, Model

# Past this many messages in the outbox the step loop waits for the publisher (explicit
# backpressure, counted) instead of growing it.
MAX_PENDING_MESSAGES = 50_000


@dataclass
class LiveCounters:
    """What crossed the broker in a live run, both ways: the report's transport figures."""

    published: int = 0
    delivered: int = 0  # distinct receipts: (alert, recipient, channel, rung)
    duplicates: int = 0
    acknowledged: int = 0
    absent: int = 0
    relays_published: int = 0
    relays_received: int = 0
    outbox_full_waits: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


class BrokerHop:
    """Live mode's `Network`: the real broker carries the messages, so the model adds no latency.

    Channel delays past the broker (`extra_s`, a push service) still apply in model time.
    """

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.counters: Counter[str] = Counter()
        self.max_queue_s = 0.0

    def send(
        self,
        on_arrival: Callable[[], None],
        extra_s: float = 0.0,
        again: Callable[[], None] | None = None,
    ) -> bool:
        self.env.timeout(extra_s).callbacks.append(lambda _: on_arrival())
        return True  # the real broker's losses show in the live counters, not here


class Outbox:
    """The model's outgoing messages, published over the transport by a task of its own."""

    def __init__(self, transport: Transport, counters: LiveCounters) -> None:
        self.transport = transport
        self.counters = counters
        self._pending: list[Message] = []
        self._uncounted = 0
        self._wanted = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def put(self, message: Message, *, counted: bool = True) -> None:
        """Queue `message`; `counted`: one of the run's alerts to a responder.

        Relays (and anything else) are not counted: `published` is what the swarm should
        receive, and the report's lost = published - delivered.
        """
        self._pending.append(message)
        self._uncounted += not counted

    def must_wait(self) -> bool:
        """Wake the publisher if anything is queued; True while the outbox is full.

        A transport error that ended the publisher is raised here, in the step loop, so that
        it ends the run.
        """
        if not self._pending:
            return False
        task = self._task
        if task is not None and task.done():
            task.result()
        self._wanted.set()
        if len(self._pending) >= MAX_PENDING_MESSAGES:
            self.counters.outbox_full_waits += 1
            return True
        return False

    def start(self) -> None:
        """Start the publisher task (on the running loop)."""
        self._task = asyncio.create_task(self._publish_until_closed())

    async def close(self) -> None:
        """Publish whatever is still queued, then end the publisher."""
        self._closing = True
        self._wanted.set()
        if self._task is not None:
            await self._task

    async def cancel(self) -> None:
        """Stop the publisher where it is (a run that failed)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _publish_until_closed(self) -> None:
        while not (self._closing and not self._pending):
            if not self._pending:
                self._wanted.clear()
                await self._wanted.wait()
                continue
            await self._publish_pending()

    async def _publish_pending(self) -> None:
        pending, self._pending = self._pending, []
        uncounted, self._uncounted = self._uncounted, 0
        for message in pending:
            await self.transport.publish(message)
        self.counters.published += len(pending) - uncounted


class LiveReach:
    """The live `Reach`: alerts to the responders' topics, relays to the centers' topics."""

    network: BrokerHop

    def __init__(
        self,
        outbox: Outbox,
        pacer: Pacer,
        counters: LiveCounters,
        signers: AlertSigners | None = None,
        payload: PayloadFormat = "json",
    ) -> None:
        self.outbox = outbox
        # CAP JSON or CAP XML on the wire (`alertsim run --payload`); receivers read either.
        self.payload: PayloadFormat = payload
        self.pacer = pacer
        self.counters = counters
        # Each alert is signed by the center that issues it (None: an unsigned run).
        self.signers = signers
        self._model: Model | None = None
        # (alert, recipient) -> channel -> latest rung notified on it
        self._notified: dict[tuple[str, str], dict[str, int]] = {}
        # (alert, recipient) -> model time it was first handed to the broker, on any channel
        self._handed_at_s: dict[tuple[str, str], float] = {}
        # relay id -> what its arrival does in the model
        self._relays: dict[str, Callable[[], None]] = {}
        self._relay_copies: dict[tuple[str, Center], int] = {}
        self._payloads: dict[tuple[str, str, str], bytes] = {}

    # -- Reach ----------------------------------------------------------------------------------

    def attach(self, model: Model) -> None:
        self._model = model
        self.network = BrokerHop(model.env)

    @property
    def model(self) -> Model:
        """The world this reach was attached to."""
        if self._model is None:
            raise RuntimeError("live reach: expected a world built with it, got none yet")
        return self._model

    def deliver(self, alert_id: str, recipient: Recipient, channel: str, rung: int) -> None:
        model = self.model
        alert = model.issued(alert_id)
        payload = self._payload(alert, recipient)
        self._notified.setdefault((alert_id, recipient.id), {})[channel] = rung
        self._handed_at_s.setdefault((alert_id, recipient.id), model.env.now)
        signers = self.signers
        delivery = Delivery(recipient.id, channel, rung)
        signature = (
            ()
            if signers is None
            else signers.properties(signers.issuer(recipient, rung), payload, delivery)
        )
        self.outbox.put(
            alert_message(
                payload,
                recipient,
                alert_id,
                channel,
                rung,
                model.env.now,
                alert.expires_at_s,
                self.pacer.speed,
                signature,
            )
        )

    def relay(self, alert_id: str, target: Center, on_arrival: Callable[[], None]) -> None:
        model = self.model
        alert = model.issued(alert_id)
        district = target.code[:6]
        town = target.code if target.tier == "town" else ""
        inbox = Recipient("center", "town" if town else "district", district, town)
        # Each copy its own id: a resent relay arrives (or not) apart from the first.
        key = (alert_id, target)
        copy = self._relay_copies[key] = self._relay_copies.get(key, -1) + 1
        relay_id = f"{alert_id}/{target.tier}/{target.code}/{copy}"
        self._relays[relay_id] = on_arrival
        payload = self._payload(alert, inbox)
        signers = self.signers
        signature = (
            ()
            if signers is None
            else signers.properties(
                signers.relay_issuer(target), payload, relay_delivery(district, town)
            )
        )
        expiry_s = wall_expiry_s(alert.expires_at_s, model.env.now, self.pacer.speed)
        self.outbox.put(
            relay_message(payload, alert_id, relay_id, district, town, expiry_s, signature),
            counted=False,
        )
        self.counters.relays_published += 1

    def confirm(
        self, alert_id: str, center: Center, to: Center, on_arrival: Callable[[], None]
    ) -> None:
        # The driver plays both centers and has just seen the relay arrive: the tier above
        # knows at once, in model time.
        self.model.env.timeout(0).callbacks.append(lambda _: on_arrival())

    # -- what was sent --------------------------------------------------------------------------

    def rung(self, alert_id: str, recipient_id: str, channel: str) -> int | None:
        """The latest rung `recipient_id` was sent the alert on over `channel` (None: never)."""
        rungs = self._notified.get((alert_id, recipient_id))
        return rungs.get(channel) if rungs is not None else None

    def handed_at_s(self, alert_id: str, recipient_id: str) -> float | None:
        """Model time the alert was first handed out to `recipient_id`, on any channel (None:
        never). A person who read an earlier attempt answers a later one with those stamps."""
        return self._handed_at_s.get((alert_id, recipient_id))

    def take_relay(self, relay_id: str) -> Callable[[], None] | None:
        """What the arrival of relay `relay_id` does, once (None: not sent, or already back)."""
        return self._relays.pop(relay_id, None)

    def _payload(self, alert: IssuedAlert, recipient: Recipient) -> bytes:
        """The alert's CAP bytes for ``recipient``'s area, made once per alert and area.

        Only the district and town enter them, so a town's members and its center's relay
        share the same bytes (each signed for its own delivery). The info blocks are the
        alert's own words, one per language; each names the recipient's area by its code.
        """
        key = (alert.alert_id, recipient.district, recipient.town)
        payload = self._payloads.get(key)
        if payload is None:
            clock = self.pacer.clock
            texts = None
            if alert.words is not None:
                texts = [replace(text, area_desc="") for text in alert.words.texts]
            payload = self._payloads[key] = flood_alert_bytes(
                alert.alert_id,
                alert.level,
                self.model.scenario.alert.sender,
                recipient,
                clock.utc(alert.issued_at_s),
                clock.utc(alert.expires_at_s),
                self.payload,
                texts,
            )
            if alert.references:  # an Update: its msgType and references on the wire too
                sent = {
                    ref: clock.utc(self.model.issued(ref).issued_at_s) for ref in alert.references
                }
                payload = lifecycle_payload(payload, alert.msg_type, alert.references, sent)
                self._payloads[key] = payload
        return payload
