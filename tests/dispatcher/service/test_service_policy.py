"""The dispatcher service carries out the pure policy: escalation, expiry, re-signed replays."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dispatcher.core.plan import Recipient
from dispatcher.service.dispatch import DispatchPlan, DispatchService
from dispatcher.service.journal import Journal
from dispatcher.transport.base import Message
from dispatcher.transport.memory import MemoryBroker, MemoryTransport
from dispatcher.trust.inbox import Inbox
from dispatcher.trust.signing import Delivery, Verifier, load_keyring, load_signer, write_key_set
from dispatcher.wire.messages import Ack, encode_ack
from dispatcher.wire.topics import ack_topic
from tests.support.waiting import eventually

D1 = "500101"
TOWNS = ["500101001", "500101002"]
RECIPIENTS = [f"{t}-m{i:04d}" for t in TOWNS for i in range(3)]
LADDER = ("app_push", "sms")
FAST_S = (0.2, 0.2)
# Timeouts no prompt answer can miss, however loaded the machine: for tests about something
# other than escalation, whose counts an escalated copy would change.
CALM_S = (60.0, 60.0)


class Responders:
    """Every recipient on one memory connection: verify, then acknowledge when `answer` says so."""

    def __init__(
        self, broker: MemoryBroker, keys: Path, answer: Callable[[str, int], bool]
    ) -> None:
        self.transport = MemoryTransport(broker)
        self.inbox = Inbox(Verifier(load_keyring(keys)))
        self.answer = answer
        self.accepted: Counter[str] = Counter()
        self.rungs: Counter[int] = Counter()
        self.escalations: list[dict[str, str]] = []
        self.alerts: list[Message] = []  # every alert message as it came off the wire
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Responders:
        await self.transport.start()
        await self.transport.subscribe("alertsim/v1/alert/#")
        self.task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.transport.close()

    async def _run(self) -> None:
        async for message in self.transport.messages():
            if message.user_property("kind") == "escalation":
                self.escalations.append(json.loads(message.payload))
                continue
            self.alerts.append(message)
            verdict = self.inbox.receive(message)
            if verdict.alert is None or verdict.outcome == "rejected":
                continue
            rid = message.topic.rsplit("/", 1)[1]
            rung = int(message.user_property("rung") or "0")
            self.rungs[rung] += 1
            if verdict.accepted:
                self.accepted[rid] += 1
            if self.answer(rid, rung):
                ack = Ack(
                    alert_id=verdict.alert.identifier,
                    recipient_id=rid,
                    sent=datetime.now(UTC),
                    channel=message.user_property("channel") or "app_push",
                )
                await self.transport.publish(Message(ack_topic(ack.alert_id, rid), encode_ack(ack)))


async def escalations_in(responders: Responders, count: int) -> None:
    await eventually(
        lambda: len(responders.escalations) >= count,
        f"{count} escalation notices to reach the centers' topics",
        state=lambda: len(responders.escalations),
    )


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    write_key_set(tmp_path / "keys", {D1: TOWNS}, now=datetime.now(UTC) - timedelta(days=1))
    return tmp_path / "keys"


def plan(expires_in_s: float = 600.0) -> DispatchPlan:
    return DispatchPlan(
        alert_id="policy-1",
        level="red",
        recipients=tuple(Recipient(r, "grid", D1, r[:9]) for r in RECIPIENTS),
        expires_in_s=expires_in_s,
    )


def service(
    broker: MemoryBroker,
    tmp_path: Path,
    keys: Path,
    timeout_s: tuple[float, ...] = FAST_S,
    **kwargs: object,
) -> DispatchService:
    return DispatchService(
        MemoryTransport(broker),
        Journal(tmp_path / "journal.db"),
        load_signer(keys, "municipal"),
        ladder=LADDER,
        timeout_s=timeout_s,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_unanswered_push_escalates_to_sms_and_is_acknowledged_once(
    tmp_path: Path, keys: Path
) -> None:
    broker = MemoryBroker()
    # Nobody notices the push; everyone answers the SMS, which waits calmly for them: on a
    # loaded machine an answer can take longer than 0.2 s, and would then come too late.
    async with Responders(broker, keys, lambda _rid, rung: rung == 1) as responders:
        escalating = service(broker, tmp_path, keys, timeout_s=(FAST_S[0], CALM_S[1]))
        summary = await escalating.run(plan(), deadline_s=5)
    assert summary.acks == Counter(done=len(RECIPIENTS))
    assert summary.escalations == Counter(sms=len(RECIPIENTS))
    assert summary.published == 2 * len(RECIPIENTS)
    assert not summary.flagged
    assert responders.rungs == Counter({0: len(RECIPIENTS), 1: len(RECIPIENTS)})
    # the SMS carried the same identifier: a duplicate on the device, not a second alert
    assert responders.accepted == Counter(RECIPIENTS)
    assert responders.inbox.counts["duplicate"] == len(RECIPIENTS)
    journal = Journal(tmp_path / "journal.db")
    assert {r.state for r in journal.rows()} == {"acked"}
    assert {r.publishes for r in journal.rows()} == {2}


async def test_nobody_answers_everyone_flagged_unreachable_and_escalated(
    tmp_path: Path, keys: Path
) -> None:
    broker = MemoryBroker()
    async with Responders(broker, keys, lambda _rid, _rung: False) as responders:
        summary = await service(broker, tmp_path, keys).run(plan(), deadline_s=5)
        await escalations_in(responders, len(RECIPIENTS))
    assert summary.flagged == Counter(unreachable=len(RECIPIENTS))
    assert summary.escalated == Counter(unreachable=len(RECIPIENTS))
    assert sorted(e["recipientId"] for e in responders.escalations) == sorted(RECIPIENTS)
    journal = Journal(tmp_path / "journal.db")
    assert {(r.state, r.flag) for r in journal.rows()} == {("flagged", "unreachable")}


async def test_alert_expired_during_an_outage_is_flagged_never_shown_as_new(
    tmp_path: Path, keys: Path
) -> None:
    broker = MemoryBroker()
    past = datetime.now(UTC) - timedelta(minutes=5)
    # Journaled five minutes ago with a two-minute expiry: the dispatcher was down meanwhile.
    first = service(broker, tmp_path, keys, clock=lambda: past)
    first.journal_plan(plan(expires_in_s=120))
    first.journal.close()
    async with Responders(broker, keys, lambda _rid, _rung: True) as responders:
        summary = await service(broker, tmp_path, keys).run(plan(), deadline_s=5)
        # The service escalates after it has (not) sent the alerts, over the same in-order
        # memory route: once every escalation is in, any alert sent would be in too.
        await escalations_in(responders, len(RECIPIENTS))
    assert summary.replayed == RECIPIENTS
    assert summary.published == 0
    assert summary.suppressed_expired >= 1
    assert summary.flagged == Counter(expired=len(RECIPIENTS))
    assert summary.escalated == Counter(expired=len(RECIPIENTS))
    assert sum(responders.inbox.counts.values()) == 0  # no alert reached any device
    assert len(responders.escalations) == len(RECIPIENTS)


async def test_replay_after_a_long_outage_is_re_signed_and_accepted_once(
    tmp_path: Path, keys: Path
) -> None:
    broker = MemoryBroker()
    past = datetime.now(UTC) - timedelta(minutes=2)  # beyond the receivers' 30 s window
    first = service(broker, tmp_path, keys, clock=lambda: past)
    alert_id = first.journal_plan(plan(expires_in_s=3600))
    # The first push as the center sent it two minutes ago, captured by an attacker.
    signer = load_signer(keys, "municipal")
    captured = [
        Message(
            row.topic,
            row.payload,
            user_properties=(
                *row.properties,
                ("channel", "app_push"),
                ("rung", "0"),
                *signer.properties(row.payload, Delivery(row.recipient_id, "app_push", 0)),
            ),
        )
        for row in Journal(tmp_path / "journal.db").rows(alert_id)
    ]
    first.journal.close()
    async with Responders(broker, keys, lambda _rid, _rung: True) as responders:
        # Calm timeouts: an escalated SMS copy (an answer slower than 0.2 s on a loaded
        # machine) would be one more duplicate, and one more replayed below.
        restarted = service(broker, tmp_path, keys, timeout_s=CALM_S)
        summary = await restarted.run(plan(), deadline_s=5)
        await eventually(
            lambda: responders.accepted == Counter(RECIPIENTS),
            "every device to show the re-signed alert before the attacker replays it",
            state=lambda: responders.accepted,
        )
        received = sum(responders.inbox.counts.values())
        attacker = MemoryTransport(broker)
        await attacker.start()
        for message in captured:
            await attacker.publish(message)
        # ...and the re-signed copies captured on the wire and sent again within the window.
        fresh = list(responders.alerts)
        for message in fresh:
            await attacker.publish(message)
        await attacker.flush()
        await eventually(
            lambda: sum(responders.inbox.counts.values()) == received + len(captured) + len(fresh),
            "the devices to judge every replayed copy",
            state=lambda: responders.inbox.counts,
        )
        await attacker.close()
    assert summary.restamped == len(RECIPIENTS)
    assert summary.acks["done"] == len(RECIPIENTS)
    assert not summary.flagged
    assert responders.accepted == Counter(RECIPIENTS)  # each shown exactly once
    assert responders.inbox.counts["replayed"] == len(RECIPIENTS)  # the old captured bytes
    assert responders.inbox.counts["duplicate"] == len(RECIPIENTS)  # the re-sent fresh ones
    assert {r.payload for r in fresh}.isdisjoint({r.payload for r in captured})
    assert summary.alert_id == alert_id  # the restart resumed the journaled run
    assert all(f'"identifier":"{alert_id}"'.encode() in r.payload for r in fresh)


async def test_quick_replay_sends_the_journaled_bytes_unchanged(tmp_path: Path, keys: Path) -> None:
    broker = MemoryBroker()
    first = service(broker, tmp_path, keys)
    alert_id = first.journal_plan(plan())
    before = Journal(tmp_path / "journal.db").rows(alert_id)
    first.journal.close()
    async with Responders(broker, keys, lambda _rid, _rung: True):
        summary = await service(broker, tmp_path, keys).run(plan(), deadline_s=5)
    assert summary.restamped == 0
    assert summary.acks["done"] == len(RECIPIENTS)
    after = Journal(tmp_path / "journal.db").rows(alert_id)
    assert [r.payload for r in after] == [r.payload for r in before]


async def test_each_run_of_a_plan_is_a_new_alert_and_a_restart_resumes_its_run(
    tmp_path: Path, keys: Path
) -> None:
    """Run ids: two runs of one plan against the same deduplicating receivers are each shown;
    a restart without --run-id resumes the journaled run, with --run-id it is that run."""
    broker = MemoryBroker()
    for folder in "abc":
        (tmp_path / folder).mkdir()
    async with Responders(broker, keys, lambda _rid, _rung: True) as responders:
        first = await service(broker, tmp_path / "a", keys).run(plan(), deadline_s=5)
        second = await service(broker, tmp_path / "b", keys).run(plan(), deadline_s=5)
        named = await service(broker, tmp_path / "c", keys).run(plan(), deadline_s=5, run_id="x7")
        resumed = await service(broker, tmp_path / "c", keys).run(plan(), deadline_s=5)
    assert first.alert_id.startswith("policy-1-")
    assert second.alert_id.startswith("policy-1-")
    assert first.alert_id != second.alert_id
    assert (named.alert_id, named.run_id) == ("policy-1-x7", "x7")
    assert (resumed.alert_id, resumed.replayed, resumed.published) == ("policy-1-x7", [], 0)
    for summary in (first, second, named):
        assert summary.acks["done"] == len(RECIPIENTS)
    # every run's alert was shown to every recipient: no run was taken for a repeat
    assert responders.accepted == Counter(dict.fromkeys(RECIPIENTS, 3))
