"""The live dispatcher process: journal, sign, publish, escalate, collect acks, replay on restart.

One run issues one alert plan (``--plan plan.json``: alert id, level, recipients) over a broker.
The decisions are :mod:`dispatcher.core.policy`'s (strategy ``direct``: the service is the municipal
center reaching every recipient at once): the service feeds it events (issued, acknowledged,
timer fired, expired) with the seconds since the run started, and carries out its commands:
``Notify`` publishes the recipient's journaled alert with ``channel``/``rung`` properties,
``StartTimer``/``ExpireAt`` become asyncio timers on the wall clock, ``Flagged`` marks the journal
and escalates (a notice on the recipient's town or district center topic). An unacknowledged
recipient is re-sent on the next rung of the ladder, then flagged ``unreachable``; whoever is
still open when the alert expires is flagged ``expired`` and escalated, and an expired alert is
never published again. Past ``--deadline-s`` the service feeds the policy ``DeadlinePassed``
and it flags the rest ``unacknowledged``.

Run ids: the alert goes on the wire as ``{plan id}-{run id}`` (``dispatcher.wire.runs``), so
receivers that deduplicate by identifier take a new run of the same plan as a new alert. The run
id is given (``--run-id``), or the one the journal last held for the plan (a restart resumes
that run), or fresh.

Journal first: the whole alert is journaled before anything is published. If the journal
already holds the alert, nothing is re-planned: the run replays exactly the recipients the
journal lists as unfinished, with the same identifier. Acknowledgements mark a recipient done
once; repeats are counted as duplicates.

Replays and the replay window: receivers reject an alert whose ``sent`` lies more than their
tolerance (30 s) from their clock, which is what stops an attacker replaying a captured alert.
A journaled alert whose ``sent`` is older than ``restamp_after_s`` (10 s) is therefore restamped
before it is published again, with a fresh ``sent`` and the same identifier and ``expires``:
a receiver that never got it accepts it, one that did counts a duplicate (dedup by identifier),
and the captured old bytes stay rejected as ``replayed``. Quicker replays send the journaled
bytes unchanged (same payload).

Tests end the process at a chosen step with ``ALERTSIM_CRASH_AT``
(:mod:`dispatcher.service.crashpoints`). The command is :mod:`dispatcher.service.cli`.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import structlog

from dispatcher.core.commands import (
    AlertCompleted,
    Command,
    Dispatch,
    ExpireAt,
    Flagged,
    Notify,
    Process,
    StartTimer,
)
from dispatcher.core.events import (
    Acknowledged,
    AlertExpired,
    AlertIssued,
    CenterProcessed,
    DeadlinePassed,
    Delivered,
    Event,
    TimerFired,
)
from dispatcher.core.plan import MUNICIPAL, FlagCause, flag_cause
from dispatcher.core.policy import Policy, PolicySettings
from dispatcher.service.crashpoints import CrashHook
from dispatcher.service.journal import Journal, JournalRow
from dispatcher.service.ladder import DEFAULT_TIMEOUT_S, DIRECT_LADDER
from dispatcher.service.plan_file import DispatchPlan, alert_for, alert_plan
from dispatcher.transport.base import Message, Transport
from dispatcher.trust.signing import Delivery, Signer
from dispatcher.wire import properties as prop
from dispatcher.wire.envelopes import escalation_message
from dispatcher.wire.messages import (
    MessageError,
    decode_ack,
    decode_alert,
    encode_alert,
)
from dispatcher.wire.runs import fresh_run_id, plan_alert_id
from dispatcher.wire.topics import TopicError, ack_filter, parse_topic, topic_for

__all__ = ["DispatchPlan", "DispatchService", "RunSummary"]

log = structlog.get_logger(__name__)


@dataclass
class RunSummary:
    alert_id: str = ""  # on the wire: the plan's id and the run's
    run_id: str = ""
    replayed: list[str] = field(default_factory=list)  # recipients sent again after a restart
    published: int = 0
    acks: Counter[str] = field(default_factory=Counter)  # done, duplicate, unknown, bad, receipt
    flagged: Counter[str] = field(default_factory=Counter)
    escalations: Counter[str] = field(default_factory=Counter)  # re-sends past rung 0, by channel
    escalated: Counter[str] = field(default_factory=Counter)  # flags reported to a center
    restamped: int = 0  # stale journaled alerts re-signed with a fresh `sent`
    suppressed_expired: int = 0  # sends skipped because the alert had expired
    # recipient -> seconds from this run's issue (or replay) to the acknowledgement
    latency_s: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "alert_id": self.alert_id,
            "run_id": self.run_id,
            "replayed": self.replayed,
            "published": self.published,
            "acks": dict(self.acks),
            "flagged": dict(self.flagged),
            "escalations": dict(self.escalations),
            "escalated": dict(self.escalated),
            "restamped": self.restamped,
            "suppressed_expired": self.suppressed_expired,
        }


@dataclass(frozen=True, slots=True)
class _AckArrived:
    """An application-level acknowledgement off the wire, not yet journaled."""

    alert_id: str
    recipient_id: str
    channel: str


class DispatchService:
    """Transport + signer + journal + the pure policy, for one alert plan."""

    def __init__(
        self,
        transport: Transport,
        journal: Journal,
        signer: Signer,
        *,
        crash_at: str | None = None,
        ladder: tuple[str, ...] = DIRECT_LADDER,
        timeout_s: tuple[float, ...] = DEFAULT_TIMEOUT_S,
        restamp_after_s: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.transport = transport
        self.journal = journal
        self.signer = signer
        self.summary = RunSummary()
        self.policy = Policy(PolicySettings("direct", ladder, timeout_s))
        self.restamp_after_s = restamp_after_s
        self.clock = clock
        self._crash = CrashHook(crash_at)
        self._expires: datetime | None = None
        self._rows: dict[str, JournalRow] = {}
        self._events: asyncio.Queue[Event | _AckArrived] = asyncio.Queue()
        self._timers: list[asyncio.TimerHandle] = []
        self._started_s = 0.0
        self._expiry_fed = False
        self._done = asyncio.Event()

    def _now_s(self) -> float:
        """Policy time: wall seconds since this run issued (or replayed) the alert."""
        return asyncio.get_running_loop().time() - self._started_s

    def wire_plan(self, plan: DispatchPlan, run_id: str | None = None) -> DispatchPlan:
        """``plan`` under its alert id on the wire, ``{plan id}-{run id}``: of ``run_id`` when
        given, else of the run the journal last held for this plan (a restart resumes it), else
        of a fresh run."""
        if run_id is None:
            journaled = self.journal.alert_for_plan(plan.alert_id)
            if journaled is not None:
                self.summary.run_id = journaled.rsplit("-", 1)[1]
                return replace(plan, alert_id=journaled)
            run_id = fresh_run_id()
        self.summary.run_id = run_id
        return replace(plan, alert_id=plan_alert_id(plan.alert_id, run_id))

    async def run(
        self, plan: DispatchPlan, *, deadline_s: float, run_id: str | None = None
    ) -> RunSummary:
        plan_id, plan = plan.alert_id, self.wire_plan(plan, run_id)
        self.summary.alert_id = plan.alert_id
        await self.transport.start()
        # Subscribe before publishing, so that no acknowledgement can arrive unheard.
        await self.transport.subscribe(ack_filter(plan.alert_id))
        reader = asyncio.create_task(self._read_acks())
        loop = asyncio.get_running_loop()
        self._started_s = loop.time()
        try:
            if self.journal.has_alert(plan.alert_id):
                unfinished = self.journal.rows(plan.alert_id, unfinished=True)
                self.summary.replayed = [r.recipient_id for r in unfinished]
                log.info("journal_replayed", alert_id=plan.alert_id, unfinished=len(unfinished))
            else:
                self._journal(plan, plan_id)
            rows = self.journal.rows(plan.alert_id)
            self._rows = {r.recipient_id: r for r in rows}
            self._expires = _expires_of(rows[0].payload) if rows else None
            now_s = self._now_s()
            expires_at_s = now_s + (
                (self._expires - self.clock()).total_seconds()
                if self._expires is not None
                else plan.expires_in_s
            )
            commands = self.policy.handle(AlertIssued(alert_plan(plan, now_s, expires_at_s)), now_s)
            self._settle_from_journal(plan.alert_id, rows, now_s)
            self._timers.append(loop.call_later(deadline_s, self._feed_deadline, plan.alert_id))
            await self._execute(commands)
            while not self._done.is_set():
                await self._step(await self._events.get())
        finally:
            for timer in self._timers:
                timer.cancel()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await self.transport.close()
        return self.summary

    def journal_plan(self, plan: DispatchPlan, run_id: str | None = None) -> str:
        """Journal the alert of a new run of ``plan`` for every recipient, publishing nothing
        (run() does this first); returns its alert id on the wire."""
        wired = self.wire_plan(plan, run_id or fresh_run_id())
        self._journal(wired, plan.alert_id)
        return wired.alert_id

    def _journal(self, plan: DispatchPlan, plan_id: str) -> None:
        self._crash.reached("before_journal")
        sent = self.clock()
        rows: list[tuple[str, str, bytes, tuple[tuple[str, str], ...]]] = []
        for r in plan.recipients:
            payload = alert_for(plan, r, sent)
            # Unsigned: the signature binds the channel and rung, known only when it is sent.
            rows.append((r.id, topic_for(r), payload, ((prop.RECIPIENT_ID, r.id),)))
        run_id = plan.alert_id.rsplit("-", 1)[1]
        self.journal.record_alert(plan.alert_id, rows, plan_id=plan_id, run_id=run_id)
        log.info("alert_journaled", alert_id=plan.alert_id, recipients=len(rows))
        self._crash.reached("after_journal")

    def _settle_from_journal(self, alert_id: str, rows: list[JournalRow], now_s: float) -> None:
        """What the journal settled before a restart stays settled: the policy skips it."""
        tracker = self.policy.tracker
        for row in rows:
            state = tracker.get(alert_id, row.recipient_id)
            if state is None or row.state not in ("acked", "flagged"):
                continue
            if row.state == "acked":
                tracker.acknowledge(
                    alert_id,
                    row.recipient_id,
                    channel="journal",
                    rung=0,
                    read_at_s=None,
                    acked_at_s=None,
                    at_s=now_s,
                )
            else:
                tracker.flag(alert_id, state, flag_cause(row.flag or ""), now_s)
        if tracker.pending(alert_id) == 0:
            self._done.set()

    # -- carrying out the policy's commands ------------------------------------------------

    async def _step(self, item: Event | _AckArrived) -> None:
        if isinstance(item, _AckArrived):
            await self._acknowledged(item)
        else:
            await self._execute(self.policy.handle(item, self._now_s()))

    async def _execute(self, commands: list[Command]) -> None:
        loop = asyncio.get_running_loop()
        for command in commands:
            match command:
                case Process(alert_id=alert_id, center=center) if center == MUNICIPAL:
                    # The service is the municipal center; the plan was its processing.
                    processed = CenterProcessed(alert_id, center)
                    await self._execute(self.policy.handle(processed, self._now_s()))
                case Notify():
                    await self._notify(command)
                case StartTimer(alert_id=alert_id, recipient_id=rid, rung=rung, at_s=at_s):
                    fired = TimerFired(alert_id, rid, rung)
                    delay_s = max(0.0, at_s - self._now_s())
                    self._timers.append(loop.call_later(delay_s, self._events.put_nowait, fired))
                case ExpireAt(alert_id=alert_id, at_s=at_s):
                    delay_s = max(0.0, at_s - self._now_s())
                    self._timers.append(loop.call_later(delay_s, self._feed_expiry, alert_id))
                case Flagged():
                    await self._flagged(command.alert_id, command.recipient_id, command.cause)
                case Dispatch():
                    log.info(
                        "responder_dispatched",
                        alert_id=command.alert_id,
                        responder=command.responder_id,
                        risk_points=len(command.risk_points),
                        reassigned=command.reassigned,
                    )
                case AlertCompleted():
                    self._done.set()
                case _:  # Relay and lower-tier Process: never emitted by the direct strategy
                    log.warning("command_ignored", command=type(command).__name__)

    def _feed_expiry(self, alert_id: str) -> None:
        if not self._expiry_fed:
            self._expiry_fed = True
            self._events.put_nowait(AlertExpired(alert_id))

    def _feed_deadline(self, alert_id: str) -> None:
        """--deadline-s passed: the policy flags who is left (expired, if the alert is)."""
        if self._expired():
            self._feed_expiry(alert_id)
        else:
            self._events.put_nowait(DeadlinePassed(alert_id))

    async def _notify(self, command: Notify) -> None:
        if self._expired():
            # Never shown as new: the policy flags whoever is still open as expired.
            self.summary.suppressed_expired += 1
            self._feed_expiry(command.alert_id)
            return
        row = self._fresh(self._rows[command.recipient.id])
        delivery = Delivery(row.recipient_id, command.channel, command.rung)
        await self.transport.publish(
            Message(
                row.topic,
                row.payload,
                user_properties=(
                    *row.properties,
                    (prop.CHANNEL, command.channel),
                    (prop.RUNG, str(command.rung)),
                    *self.signer.properties(row.payload, delivery),
                ),
            )
        )
        await self.transport.flush()  # the broker's PUBACK: published, not done
        self.journal.mark_published(row.alert_id, row.recipient_id)
        self.summary.published += 1
        if command.rung > 0:
            self.summary.escalations[command.channel] += 1
        self._crash.reached("after_puback")

    def _fresh(self, row: JournalRow) -> JournalRow:
        """The row to send now: re-signed with a fresh ``sent`` once the journaled one is stale."""
        try:
            alert = decode_alert(row.payload)
        except MessageError:  # pragma: no cover - the journal holds our own encodings
            return row
        now = self.clock()
        if (now - alert.sent).total_seconds() <= self.restamp_after_s:
            return row
        payload = encode_alert(alert.model_copy(update={"sent": now}))
        self.journal.restamp(row.alert_id, row.recipient_id, payload)
        fresh = replace(row, payload=payload)
        self._rows[row.recipient_id] = fresh
        self.summary.restamped += 1
        log.info("alert_restamped", alert_id=row.alert_id, recipient=row.recipient_id)
        return fresh

    async def _flagged(self, alert_id: str, recipient_id: str, cause: FlagCause) -> None:
        if self.journal.mark_done(alert_id, recipient_id, flag=cause) != "done":
            return
        self.summary.flagged[cause] += 1
        log.warning("recipient_flagged", alert_id=alert_id, recipient=recipient_id, cause=cause)
        # Escalate to the center that can send someone: the recipient's town (or district).
        state = self.policy.tracker.get(alert_id, recipient_id)
        if state is None:
            return
        await self.transport.publish(escalation_message(alert_id, state.recipient, cause))
        self.summary.escalated[cause] += 1

    async def _acknowledged(self, ack: _AckArrived) -> None:
        self._crash.reached("after_ack")
        outcome = self.journal.mark_done(ack.alert_id, ack.recipient_id)
        self.summary.acks[outcome] += 1
        if outcome != "done":
            return
        self.summary.latency_s[ack.recipient_id] = self._now_s()
        state = self.policy.tracker.get(ack.alert_id, ack.recipient_id)
        rung = max(state.rung, 0) if state is not None else 0
        event = Acknowledged(ack.alert_id, ack.recipient_id, ack.channel, rung)
        await self._execute(self.policy.handle(event, self._now_s()))

    def _expired(self) -> bool:
        return self._expires is not None and self.clock() >= self._expires

    async def _read_acks(self) -> None:
        async for message in self.transport.messages():
            try:
                parsed = parse_topic(message.topic)
                ack = decode_ack(message.payload)
            except (TopicError, MessageError) as exc:
                self.summary.acks["bad"] += 1
                log.warning("ack_rejected", topic=message.topic[:200], detail=str(exc)[:200])
                continue
            if parsed.kind != "ack" or (ack.alert_id, ack.recipient_id) != (
                parsed.alert_id,
                parsed.recipient_id,
            ):
                self.summary.acks["bad"] += 1
                continue
            if ack.status != "acknowledged":
                # A delivery receipt: the device has it, the person has not answered.
                self.summary.acks["receipt"] += 1
                self._events.put_nowait(Delivered(ack.alert_id, ack.recipient_id, ack.channel, 0))
                continue
            self._events.put_nowait(_AckArrived(ack.alert_id, ack.recipient_id, ack.channel))


def _expires_of(payload: bytes) -> datetime | None:
    try:
        return datetime.fromisoformat(json.loads(payload)["info"]["expires"])
    except (ValueError, KeyError, TypeError):
        return None
