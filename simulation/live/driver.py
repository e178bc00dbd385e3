"""The asyncio SimPy driver: steps the model at a wall-clock pace and carries it over a transport.

SimPy's `RealtimeEnvironment` sleeps the thread with `time.sleep`, which would stop every MQTT
client in the process; this driver instead peeks at the next event, sleeps (in asyncio) until its
scaled wall time, and steps it. A message arriving meanwhile (a receipt, an acknowledgement) wakes
the driver, which schedules it as a SimPy event at the model time that corresponds to now.
Lag = how late (wall) an event was stepped after its due time; strict mode fails past a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import simpy
import structlog

from dispatcher.core.events import Acknowledged, Delivered, FoundAbsent
from dispatcher.core.plan import Center, Recipient
from dispatcher.transport import Message, Transport
from dispatcher.trust.inbox import Inbox
from dispatcher.wire import properties as prop
from dispatcher.wire.envelopes import (
    ABSENT_NOTE,
    alert_message,
    flood_alert_bytes,
    relay_message,
    wall_expiry_s,
)
from dispatcher.wire.messages import Ack, MessageError, decode_ack
from dispatcher.wire.properties import float_property
from dispatcher.wire.topics import ACK_FILTER, CENTER_FILTERS, TopicError, parse_topic
from simulation.live.keys import AlertSigners
from simulation.live.pacer import ModelClock
from simulation.model.reach import Model
from simulation.model.world import World

log = structlog.get_logger(__name__)

# Events stepped back to back before the driver yields to the transport's tasks.
STEPS_PER_YIELD = 256
# The model's outbox, drained by the publisher task, is bounded too: past this many messages the
# step loop waits for the publisher (explicit backpressure, counted) instead of growing it.
MAX_PENDING_MESSAGES = 50_000


class LiveLagError(RuntimeError):
    """Strict mode: the model fell further behind the wall clock than allowed."""


class BrokerHop:
    """Live mode's `Network`: the real broker carries the messages, so the model adds no latency.

    Channel delays past the broker (`extra_s`, a push service) still apply in model time.
    """

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.counters: Counter[str] = Counter()
        self.max_queue_s = 0.0

    def send(self, on_arrival: Callable[[], None], extra_s: float = 0.0) -> None:
        self.env.timeout(extra_s).callbacks.append(lambda _: on_arrival())


@dataclass
class LiveCounters:
    published: int = 0
    delivered: int = 0  # distinct receipts: (alert, recipient, channel, rung)
    duplicates: int = 0
    acknowledged: int = 0
    absent: int = 0
    relays_published: int = 0
    relays_received: int = 0
    outbox_full_waits: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


class LiveDriver:
    """Runs one `World` live; it is the world's `Reach` (build the world with reach=driver)."""

    def __init__(
        self,
        transport: Transport,
        *,
        speed: float,
        strict: bool = False,
        max_lag_s: float = 0.5,
        grace_s: float = 0.5,
        signers: AlertSigners | None = None,
        relay_inbox: Inbox | None = None,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed: expected a positive factor, got {speed}")
        self.transport = transport
        self.speed = speed
        self.strict = strict
        self.max_lag_s = max_lag_s
        self.grace_s = grace_s
        # Each alert is signed by the center that issues it; relays are verified as a center
        # would before acting on them (None: an unsigned run, relays taken as they come).
        self.signers = signers
        self.relay_inbox = relay_inbox
        self.counters = LiveCounters()
        self.lags_s: list[float] = []
        self.world: Model | None = None
        self._pending: list[Message] = []
        # Publishing runs beside the step loop: awaiting a full outgoing queue there held every
        # model event back behind the broker (lags of 1.5 s wall at 60x on a large district).
        # Messages are stamped `sent_at_ns` when made, so time queued here counts as hop time.
        self._publish_wanted = asyncio.Event()
        self._stepping_done = False
        self._wake = asyncio.Event()
        self._clock: ModelClock | None = None
        self._wall0 = 0.0
        # (alert, recipient) -> channel -> latest rung notified on it
        self._notified: dict[tuple[str, str], dict[str, int]] = {}
        self._receipts: set[tuple[str, str, str, int]] = set()
        self._acked: set[tuple[str, str]] = set()
        self._payloads: dict[tuple[str, str, str], bytes] = {}
        # relay id -> what its arrival does in the model
        self._relays: dict[str, Callable[[], None]] = {}
        self._pending_relays = 0

    # -- Reach ----------------------------------------------------------------------------------

    def attach(self, model: Model) -> None:
        self.world = model
        self.network = BrokerHop(model.env)

    def deliver(self, alert_id: str, recipient: Recipient, channel: str, rung: int) -> None:
        world = self.world
        assert world is not None
        now_s = world.env.now
        _, _, expires_s = self._alert_info(alert_id)
        payload = self._payload(alert_id, recipient)
        self._notified.setdefault((alert_id, recipient.id), {})[channel] = rung
        signers = self.signers
        signature = (
            () if signers is None else signers.properties(signers.issuer(recipient, rung), payload)
        )
        self._pending.append(
            alert_message(
                payload, recipient, alert_id, channel, rung, now_s, expires_s, self.speed, signature
            )
        )

    def relay(self, alert_id: str, target: Center, on_arrival: Callable[[], None]) -> None:
        world = self.world
        assert world is not None
        _, _, expires_s = self._alert_info(alert_id)
        district = target.code[:6]
        town = target.code if target.tier == "town" else ""
        inbox = Recipient("center", "town" if town else "district", district, town)
        relay_id = f"{alert_id}/{target.tier}/{target.code}"
        self._relays[relay_id] = on_arrival
        payload = self._payload(alert_id, inbox)
        signers = self.signers
        signature = (
            () if signers is None else signers.properties(signers.relay_issuer(target), payload)
        )
        self._pending.append(
            relay_message(
                payload,
                alert_id,
                relay_id,
                district,
                town,
                wall_expiry_s(expires_s, world.env.now, self.speed),
                signature,
            )
        )
        self.counters.relays_published += 1
        self._pending_relays += 1

    def _payload(self, alert_id: str, recipient: Recipient) -> bytes:
        """The alert's CAP bytes for ``recipient``'s area, made once per alert and area.

        Only the district and town enter them, so a town's members and its center's relay
        share the same bytes (and signatures, cached by payload).
        """
        key = (alert_id, recipient.district, recipient.town)
        payload = self._payloads.get(key)
        if payload is None:
            world, clock = self.world, self._clock
            assert world is not None
            assert clock is not None
            level, issued_s, expires_s = self._alert_info(alert_id)
            payload = self._payloads[key] = flood_alert_bytes(
                alert_id,
                level,
                world.scenario.alert.sender,
                recipient,
                clock.utc(issued_s),
                clock.utc(expires_s),
            )
        return payload

    def _alert_info(self, alert_id: str) -> tuple[str, float, float]:
        world = self.world
        assert world is not None
        issued = world.issued(alert_id)
        return issued.level, issued.issued_at_s, issued.expires_at_s

    # -- running --------------------------------------------------------------------------------

    def model_now_s(self) -> float:
        assert self._clock is not None
        loop = asyncio.get_running_loop()
        return self._clock.origin_s + (loop.time() - self._wall0) * self.speed

    async def run(self, world: World) -> None:
        """Start the world and step it until it is done; the transport must be started."""
        if world.reach is not self:
            raise ValueError(
                f"live driver: expected a world built with reach=driver, got {world.reach!r}"
            )
        await self.transport.subscribe(ACK_FILTER)
        for center_filter in CENTER_FILTERS:
            await self.transport.subscribe(center_filter)
        world.start()
        env = world.env
        loop = asyncio.get_running_loop()
        # Wall pacing starts at the first event: the quiet hours before the first warning would
        # only be waited through.
        origin_s = env.peek() if env.peek() != math.inf else env.now
        self._clock = ModelClock(origin_s, datetime.now(UTC), self.speed)
        self._wall0 = loop.time()
        reader = asyncio.create_task(self._read())
        publisher = asyncio.create_task(self._publish_until_done())
        try:
            await self._step_until_done(world, publisher)
            self._stepping_done = True
            self._publish_wanted.set()
            await publisher
            await self.transport.flush()
            # Receipts of the last deliveries may still be on their way back.
            await asyncio.sleep(self.grace_s)
        finally:
            publisher.cancel()
            reader.cancel()
            await asyncio.gather(publisher, reader, return_exceptions=True)

    async def _step_until_done(self, world: World, publisher: asyncio.Task[None]) -> None:
        env, done = world.env, world.done
        loop = asyncio.get_running_loop()
        assert self._clock is not None
        origin_s, wall0, speed = self._clock.origin_s, self._wall0, self.speed
        lags = self.lags_s
        steps = 0
        while not done.triggered:
            if self._pending:
                if publisher.done():
                    publisher.result()  # a transport error ends the run here
                self._publish_wanted.set()
                if len(self._pending) >= MAX_PENDING_MESSAGES:
                    self.counters.outbox_full_waits += 1
                    await asyncio.sleep(0.001)
                    continue
            next_s = env.peek()
            if next_s == math.inf:
                self._wake.clear()
                await self._sleep(1.0)
                continue
            late_s = loop.time() - (wall0 + (next_s - origin_s) / speed)
            if late_s < 0:
                self._wake.clear()
                await self._sleep(-late_s)
                continue
            lags.append(late_s)
            if self.strict and late_s > self.max_lag_s:
                raise LiveLagError(
                    f"live driver: model time {next_s:.1f} s: expected lag at most "
                    f"{self.max_lag_s * 1000:.0f} ms wall, got {late_s * 1000:.0f} ms"
                )
            world.step()
            steps += 1
            if steps % STEPS_PER_YIELD == 0:
                await asyncio.sleep(0)

    async def _sleep(self, delay_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay_s)

    async def _publish_until_done(self) -> None:
        while not (self._stepping_done and not self._pending):
            if not self._pending:
                self._publish_wanted.clear()
                await self._publish_wanted.wait()
                continue
            await self._publish_pending()

    async def _publish_pending(self) -> None:
        pending, self._pending = self._pending, []
        # Relays are counted apart: `published` is what the swarm should receive, and the
        # report's lost = published - delivered.
        relays, self._pending_relays = self._pending_relays, 0
        for message in pending:
            await self.transport.publish(message)
        self.counters.published += len(pending) - relays

    async def _read(self) -> None:
        async for message in self.transport.messages():
            self.receive(message)
            self._wake.set()

    # -- incoming -------------------------------------------------------------------------------

    def _reject(self, reason: str, message: Message, detail: str) -> None:
        self.counters.rejected[reason] += 1
        log.warning("message_rejected", reason=reason, topic=message.topic[:200], detail=detail)

    def receive(self, message: Message) -> None:
        """Check one incoming message and schedule what it means at the model time of now."""
        try:
            parsed = parse_topic(message.topic)
        except TopicError as exc:
            self._reject(f"topic_{exc.reason}", message, str(exc))
            return
        if parsed.kind in ("district_center", "town_center"):
            self._on_center_message(message)
            return
        if parsed.kind != "ack":
            self._reject("topic_kind", message, f"expected an ack topic, got {parsed.kind}")
            return
        try:
            ack = decode_ack(message.payload)
        except MessageError as exc:
            self._reject(f"payload_{exc.reason}", message, str(exc))
            return
        if (ack.alert_id, ack.recipient_id) != (parsed.alert_id, parsed.recipient_id):
            self._reject(
                "mismatch",
                message,
                f"expected alertId {parsed.alert_id} and recipientId {parsed.recipient_id} "
                f"as in the topic, got {ack.alert_id} and {ack.recipient_id}",
            )
            return
        key = (ack.alert_id, ack.recipient_id)
        rungs = self._notified.get(key)
        rung = rungs.get(ack.channel) if rungs is not None else None
        if rung is None:
            self._reject(
                "unknown",
                message,
                f"expected an ack for an alert sent to {ack.recipient_id} on {ack.channel}, "
                "got one for nothing sent",
            )
            return
        world = self.world
        assert world is not None
        now_s = max(world.env.now, self.model_now_s())
        if ack.status == "received":
            self._on_receipt(ack, message, rung, now_s)
        elif ack.status == "acknowledged":
            self._on_acknowledged(ack, message, rung, now_s)

    def _on_center_message(self, message: Message) -> None:
        relay_id = message.user_property(prop.RELAY)
        if relay_id is None:
            if message.user_property(prop.RECIPIENT_ID) is not None:
                return  # a district duty team's alert: they share the district center's topic
            self._reject(
                "relay_missing", message, "expected a relay user property on a center topic"
            )
            return
        if self.relay_inbox is not None:
            # One alert reaches a district and then a town center with the same identifier:
            # a duplicate is that second relay, not a replay, so only a rejection stops it.
            verdict = self.relay_inbox.receive(message)
            if verdict.outcome == "rejected":
                self.counters.rejected[f"relay_{verdict.reason}"] += 1
                return
        on_arrival = self._relays.pop(relay_id, None)
        if on_arrival is None:
            self._reject(
                "relay_unknown", message, f"expected a relay sent by this run, got {relay_id!r}"
            )
            return
        self.counters.relays_received += 1
        world = self.world
        assert world is not None
        if not world.done.triggered:
            self._at(max(world.env.now, self.model_now_s()), on_arrival)

    def _on_receipt(self, ack: Ack, message: Message, rung: int, now_s: float) -> None:
        world = self.world
        assert world is not None
        receipt = (ack.alert_id, ack.recipient_id, ack.channel, rung)
        if receipt in self._receipts:
            self.counters.duplicates += 1
            return
        self._receipts.add(receipt)
        self.counters.delivered += 1
        absent = ack.note == ABSENT_NOTE
        self.counters.absent += absent
        if world.done.triggered:
            return
        if absent:
            self._at(now_s, lambda: world.handle(FoundAbsent(ack.alert_id, ack.recipient_id)))
            return
        # Stamped when the device got it, as virtual mode stamps it: the receipt's own model
        # time (never later than now).
        received_at_s = float_property(message, prop.RECEIVED_AT_S)
        at_s = now_s if received_at_s is None else min(max(received_at_s, 0.0), now_s)
        world.stamp(Delivered(ack.alert_id, ack.recipient_id, ack.channel, rung), at_s)

    def _on_acknowledged(self, ack: Ack, message: Message, rung: int, now_s: float) -> None:
        world = self.world
        assert world is not None
        key = (ack.alert_id, ack.recipient_id)
        if key in self._acked:
            self.counters.duplicates += 1
            return
        self._acked.add(key)
        self.counters.acknowledged += 1
        if world.done.triggered:
            return
        read_at_s = float_property(message, prop.READ_AT_S)
        if read_at_s is not None and not read_at_s <= now_s:
            read_at_s = None
        # Pressed on the device a hop ago; the dispatcher has it only now (plus the reply's way
        # back over the channel, below), as in virtual mode.
        acked_at_s = float_property(message, prop.ACKED_AT_S)
        if acked_at_s is None or not (read_at_s or 0.0) <= acked_at_s <= now_s:
            acked_at_s = now_s
        acked = Acknowledged(
            ack.alert_id, ack.recipient_id, ack.channel, rung, read_at_s, acked_at_s
        )
        self._at(now_s, lambda: world.reply(acked))

    def _at(self, at_s: float, action: Callable[[], None]) -> None:
        world = self.world
        assert world is not None
        world.env.timeout(max(0.0, at_s - world.env.now)).callbacks.append(lambda _: action())

    # -- figures --------------------------------------------------------------------------------

    def figures(self) -> dict[str, float | int]:
        lags = sorted(self.lags_s)
        p99 = lags[min(len(lags) - 1, math.ceil(0.99 * len(lags)) - 1)] if lags else 0.0
        return {
            "speed": self.speed,
            "strict": self.strict,
            "events_stepped": len(lags),
            "driver_lag_p99_ms": round(p99 * 1000, 3),
            "driver_lag_max_ms": round((lags[-1] if lags else 0.0) * 1000, 3),
            "relays_published": self.counters.relays_published,
            "relays_received": self.counters.relays_received,
            "outbox_full_waits": self.counters.outbox_full_waits,
        }
