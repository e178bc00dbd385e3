"""The responder swarm: real MQTT clients that play district, town and grid responders.

Each connection carries a group of responders of one town (a town's terminal, or one phone per
person with `responders_per_connection=1`); district duty teams share their district center's
connection. A responder behaves as in virtual mode (`simulation.model.responders`): available or
not (drawn once), misses a delivery with the channel's `missed` probability, reads after the
channel's (or the scenario's) read time and acknowledges after `ack_s`, all in model seconds that
the alert's `speed` property turns into wall time. A delivery on a channel that would be noticed
sooner reschedules the acknowledgement. Every alert is checked against the schema; bad payloads
and topics are counted and logged, never raised.

A repeat of an alert a responder already acknowledged (a dispatcher resending after an outage,
or its broker redelivering) is answered again at once: the first acknowledgement may be what was
lost. State is kept per alert id, which carries the run's id, so a swarm left running takes a
later run's alerts as new; the state of alerts past their expiry is forgotten (``forgotten``).
District duty teams share their district center's topic: a connection drops its teammates'
alerts there (``teammates``) without verifying them.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from dispatcher.core.plan import Recipient
from dispatcher.transport import Message, Transport, TransportError
from dispatcher.trust.inbox import Inbox
from dispatcher.trust.signing import Keyring, Verifier
from dispatcher.wire import properties as prop
from dispatcher.wire.capxml import decode_payload
from dispatcher.wire.envelopes import ABSENT_NOTE, ack_message
from dispatcher.wire.messages import MessageError
from dispatcher.wire.topics import TopicError, parse_topic, topic_for
from simulation.behaviour import ResponderBehaviour
from simulation.model.alert_ids import behaviour_key
from simulation.scenario import Scenario
from simulation.topology.city import City, district_team_id, member_id, town_team_id

log = structlog.get_logger(__name__)


def responders_of(city: City) -> list[Recipient]:
    """Every responder of the city, in the order the model's plans list them."""
    out: list[Recipient] = []
    for district in city.districts:
        out.extend(
            Recipient(district_team_id(district.code, i), "district", district.code, "")
            for i in range(district.team_size)
        )
        for town in district.towns:
            out.extend(
                Recipient(town_team_id(town.code, i), "town", town.district, town.code)
                for i in range(town.team_size)
            )
            out.extend(
                Recipient(member_id(town.code, i), "grid", town.district, town.code)
                for i in range(town.members)
            )
    return out


def connection_groups(city: City, responders_per_connection: int) -> list[list[Recipient]]:
    """Responders grouped by town (or district team), cut into connections of at most n."""
    if responders_per_connection < 1:
        raise ValueError(
            "responders_per_connection: expected a positive integer, "
            f"got {responders_per_connection}"
        )
    by_place: dict[str, list[Recipient]] = {}
    for r in responders_of(city):
        by_place.setdefault(r.town or r.district, []).append(r)
    groups: list[list[Recipient]] = []
    for members in by_place.values():
        for start in range(0, len(members), responders_per_connection):
            groups.append(members[start : start + responders_per_connection])
    return groups


def connection_client_id(group: list[Recipient], index: int) -> str:
    """A connection's MQTT client id: the responder's own id when it has a connection alone (the
    locked-down broker's user name), else its town or district code and the index, so that a
    fault on ``district:<code>`` reaches exactly that district's connections."""
    if len(group) == 1:
        return group[0].id
    first = group[0]
    return f"{first.town or first.district}-c{index}"


@dataclass
class SwarmCounters:
    received: int = 0  # distinct deliveries: (alert, recipient, channel, rung)
    duplicates: int = 0
    receipts: int = 0
    acknowledged: int = 0
    reacknowledged: int = 0  # answers again to a repeat or a later rung of an acknowledged alert
    absent: int = 0
    missed: int = 0
    unavailable: int = 0
    teammates: int = 0  # a duty teammate's alert on the shared district center topic
    forgotten: int = 0  # alerts whose state a connection dropped once they had expired
    rejected: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, int]:
        out = {k: v for k, v in vars(self).items() if isinstance(v, int)}
        out.update({f"rejected_{k}": v for k, v in sorted(self.rejected.items())})
        return out


# An expired alert's state is dropped this long after its expiry, checked at most this often.
FORGET_AFTER = timedelta(seconds=60)
SWEEP_EVERY_S = 10.0


_NEVER = datetime.max.replace(tzinfo=UTC)  # the expiry of an alert that gives none


@dataclass(frozen=True, slots=True)
class _Delivery:
    alert_id: str
    recipient_id: str
    channel: str
    rung: int
    delivered_at_s: float  # model time the driver handed it to the broker
    speed: float
    # Model time it reached this device: delivered_at_s plus the measured hop, scaled by speed.
    received_at_s: float
    expires: datetime


class _ResponderState:
    __slots__ = ("acked", "acked_at_s", "handle", "read_at_s")

    def __init__(self) -> None:
        self.acked = False
        self.read_at_s = math.inf
        self.acked_at_s = math.inf
        self.handle: asyncio.TimerHandle | None = None


class _Connection:
    """One MQTT client and the responders behind it."""

    def __init__(self, swarm: Swarm, index: int, transport: Transport, group: list[Recipient]):
        self.swarm = swarm
        self.transport = transport
        self.responders = {r.id: r for r in group}
        # The very behaviour virtual responders have, drawn per responder and alert, so the two
        # modes agree draw for draw and differ only by what the real network does.
        self.behaviour = ResponderBehaviour(swarm.scenario, swarm.replication)
        self.states: dict[tuple[str, str], _ResponderState] = {}
        self.seen: set[tuple[str, str, str, int]] = set()
        self.expires: dict[str, datetime] = {}  # alert id -> its expiry, to forget it after
        self._next_sweep = time.monotonic() + SWEEP_EVERY_S
        self.sending: set[asyncio.Task[None]] = set()
        # Without a keyring (`alertsim swarm --accept-unsigned`, unit tests) nothing is verified.
        self.inbox = (
            Inbox(Verifier(swarm.keyring, tolerance_s=swarm.tolerance_s))
            if swarm.keyring is not None
            else None
        )

    async def start(self) -> None:
        await self.transport.start()
        for topic in sorted({topic_for(r) for r in self.responders.values()}):
            await self.transport.subscribe(topic)

    async def read(self) -> None:
        async for message in self.transport.messages():
            self.on_alert(message)

    def send(self, message: Message) -> None:
        try:
            self.transport.publish_nowait(message)
        except TransportError as exc:
            if exc.reason != "backpressure":
                raise
            # Queue full: wait for room in a task of our own rather than drop the message.
            task = asyncio.create_task(self.transport.publish(message))
            self.sending.add(task)
            task.add_done_callback(self.sending.discard)

    def _reject(self, reason: str, message: Message, detail: str) -> None:
        self.swarm.counters.rejected[reason] += 1
        log.warning("alert_rejected", reason=reason, topic=message.topic[:200], detail=detail)

    def _delivery(self, message: Message) -> _Delivery | None:
        """The delivery a message carries, or None (counted and logged) if it is not one."""
        try:
            parsed = parse_topic(message.topic)
        except TopicError as exc:
            self._reject(f"topic_{exc.reason}", message, str(exc))
            return None
        if message.user_property(prop.RELAY) is not None:
            return None  # a relay to the district center, which the driver plays, not a person
        if parsed.kind not in ("alert", "district_center"):
            self._reject("topic_kind", message, f"expected an alert topic, got {parsed.kind}")
            return None
        if parsed.kind == "district_center":
            named = message.user_property(prop.RECIPIENT_ID)
            if named is not None and named not in self.responders:
                # The duty team shares the district center topic: a teammate's alert.
                self.swarm.counters.teammates += 1
                return None
        if self.inbox is not None:
            # The verifier decodes the alert once its signature holds: no second decode here.
            verdict = self.inbox.receive(message)
            # a duplicate identifier passes: an escalation resends it on the next channel
            if verdict.outcome == "rejected" or verdict.alert is None:
                self.swarm.counters.rejected[f"verify_{verdict.reason}"] += 1
                return None
            alert = verdict.alert
        else:
            try:
                alert = decode_payload(message.payload)
            except MessageError as exc:
                self._reject(f"payload_{exc.reason}", message, str(exc))
                return None
        recipient_id = parsed.recipient_id or message.user_property(prop.RECIPIENT_ID)
        recipient = self.responders.get(recipient_id or "")
        if recipient is None:
            self._reject(
                "recipient",
                message,
                f"expected a responder of this connection, got {recipient_id!r}",
            )
            return None
        channel = message.user_property(prop.CHANNEL) or ""
        try:
            rung = int(message.user_property(prop.RUNG) or "")
            delivered_at_s = float(message.user_property(prop.DELIVERED_AT_S) or "")
            speed = float(message.user_property(prop.SPEED) or self.swarm.speed)
        except ValueError:
            rung, delivered_at_s, speed = -1, math.nan, math.nan
        if (
            channel not in self.swarm.scenario.channels
            or rung < 0
            or not math.isfinite(delivered_at_s)
            or not speed > 0
        ):
            self._reject(
                "properties",
                message,
                "expected user properties channel (a scenario channel), rung, delivered_at_s "
                f"and speed, got {message.user_properties!r}",
            )
            return None
        received_at_s = delivered_at_s
        sent_at_ns = message.user_property(prop.SENT_AT_NS)
        if sent_at_ns is not None and sent_at_ns.isdigit():
            # The monotonic clock is one per host, so a hop measured here is real even across
            # processes; a publisher elsewhere (or a clock that disagrees) counts as no hop.
            hop_s = (time.monotonic_ns() - int(sent_at_ns)) / 1e9
            if 0.0 < hop_s < 60.0:
                received_at_s += hop_s * speed
        return _Delivery(
            alert.identifier,
            recipient.id,
            channel,
            rung,
            delivered_at_s,
            speed,
            received_at_s,
            alert.info.expires or _NEVER,
        )

    def on_alert(self, message: Message) -> None:
        self._forget_expired()
        d = self._delivery(message)
        if d is None:
            return
        counters = self.swarm.counters
        key = (d.alert_id, d.recipient_id, d.channel, d.rung)
        if key in self.seen:
            counters.duplicates += 1
            state = self.states.get((d.alert_id, d.recipient_id))
            if state is not None and state.acked:
                # Sent again after they answered: the answer may be what was lost.
                self._acknowledge(state, d.alert_id, d.recipient_id, d.channel, True)
            return
        self.seen.add(key)
        self.expires.setdefault(d.alert_id, d.expires)
        counters.received += 1
        behaviour = self.behaviour
        if not behaviour.available(d.recipient_id):
            counters.unavailable += 1
            note = ABSENT_NOTE if d.channel == "door_knock" else ""
            counters.absent += bool(note)
            self._receipt(d, note)
            return
        self._receipt(d, "")
        state = self.states.get((d.alert_id, d.recipient_id))
        if state is None:
            state = self.states[(d.alert_id, d.recipient_id)] = _ResponderState()
        drawn_by = behaviour_key(d.alert_id)
        reaction = behaviour.reaction(drawn_by, d.recipient_id, d.channel)
        if reaction is None:
            counters.missed += 1
            return
        read_s, ack_s = reaction
        now_s = d.received_at_s
        if state.acked:
            # Answered already, and the alert comes again on a later rung: the answer may have
            # been lost, so they answer once more, over this channel (as virtual responders do).
            wait_s = ack_s / d.speed
            asyncio.get_running_loop().call_later(
                wait_s, self._acknowledge, state, d.alert_id, d.recipient_id, d.channel, True
            )
            return
        read_at_s = now_s + read_s
        if state.handle is not None and (now_s >= state.read_at_s or read_at_s >= state.read_at_s):
            return  # already read, or this channel would not be noticed any sooner
        if state.handle is not None:
            state.handle.cancel()
        state.read_at_s = read_at_s
        state.acked_at_s = read_at_s + ack_s
        wait_s = (state.acked_at_s - now_s) / d.speed
        state.handle = asyncio.get_running_loop().call_later(
            wait_s, self._acknowledge, state, d.alert_id, d.recipient_id, d.channel
        )

    def _forget_expired(self) -> None:
        """Drop what is kept of alerts expired a while ago (at most every SWEEP_EVERY_S)."""
        now_mono = time.monotonic()
        if now_mono < self._next_sweep:
            return
        self._next_sweep = now_mono + SWEEP_EVERY_S
        cutoff = datetime.now(UTC) - FORGET_AFTER
        gone = {alert_id for alert_id, expires in self.expires.items() if expires < cutoff}
        if not gone:
            return
        for alert_id in gone:
            del self.expires[alert_id]
        self.seen = {key for key in self.seen if key[0] not in gone}
        for key in [key for key in self.states if key[0] in gone]:
            handle = self.states.pop(key).handle
            if handle is not None:
                handle.cancel()
        self.swarm.counters.forgotten += len(gone)

    def _receipt(self, d: _Delivery, note: str) -> None:
        self.swarm.counters.receipts += 1
        self.send(
            ack_message(
                d.alert_id,
                d.recipient_id,
                d.channel,
                "received",
                note=note,
                received_at_s=d.received_at_s,
            )
        )

    def _acknowledge(
        self,
        state: _ResponderState,
        alert_id: str,
        recipient_id: str,
        channel: str,
        again: bool = False,
    ) -> None:
        state.acked = True
        if again:
            self.swarm.counters.reacknowledged += 1
        else:
            self.swarm.counters.acknowledged += 1
        self.send(
            ack_message(
                alert_id,
                recipient_id,
                channel,
                "acknowledged",
                read_at_s=state.read_at_s,
                acked_at_s=state.acked_at_s,
            )
        )

    async def close(self) -> None:
        for state in self.states.values():
            if state.handle is not None:
                state.handle.cancel()
        if self.sending:
            await asyncio.gather(*self.sending, return_exceptions=True)
        await self.transport.close()


class Swarm:
    """Responders of a city over `transport_factory` connections; this worker's share of them."""

    def __init__(
        self,
        scenario: Scenario,
        city: City,
        transport_factory: Callable[[str], Transport],
        *,
        speed: float = 1.0,
        responders_per_connection: int = 50,
        worker: int = 0,
        workers: int = 1,
        replication: int = 0,
        keyring: Keyring | None = None,
    ) -> None:
        self.keyring = keyring
        # An escalation resends the alert with its first `sent` until it expires: `sent` may lie
        # the alert's whole life (wall seconds at this speed) behind, plus clock slack.
        self.tolerance_s = scenario.alert.expires_s / speed + 30.0
        self.scenario = scenario
        self.speed = speed
        self.replication = replication
        self.counters = SwarmCounters()
        groups = connection_groups(city, responders_per_connection)
        self.connections = [
            _Connection(self, i, transport_factory(connection_client_id(group, i)), group)
            for i, group in enumerate(groups)
            if i % workers == worker
        ]
        self._readers: list[asyncio.Task[None]] = []

    @property
    def responders(self) -> int:
        return sum(len(c.responders) for c in self.connections)

    async def start(self) -> None:
        # Connect in batches: thousands of simultaneous CONNECTs only make the broker queue them.
        batch = 64
        for start in range(0, len(self.connections), batch):
            await asyncio.gather(*(c.start() for c in self.connections[start : start + batch]))
        self._readers = [asyncio.create_task(c.read()) for c in self.connections]
        log.info("swarm_started", connections=len(self.connections), responders=self.responders)

    async def stop(self) -> None:
        for connection in self.connections:
            await connection.close()
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        log.info("swarm_stopped", **self.counters.as_dict())
