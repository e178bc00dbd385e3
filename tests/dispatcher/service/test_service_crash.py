"""The dispatcher process killed at four points: the replay covers exactly the unfinished set."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from dispatcher.service.crashpoints import CRASH_EXIT_CODE
from dispatcher.service.journal import Journal
from dispatcher.transport.base import Message
from dispatcher.trust.inbox import Inbox
from dispatcher.trust.signing import Verifier, load_keyring, write_key_set
from dispatcher.wire.messages import Ack, encode_ack
from dispatcher.wire.topics import ack_topic
from tests.support.broker import Broker

D1 = "500101"
TOWNS = ["500101001", "500101002"]
RECIPIENTS = [f"{t}-m{i:04d}" for t in TOWNS for i in range(4)]
# Under the responders' subscription, but no alert: marks the end of what was sent before it.
SENTINEL_TOPIC = "alertsim/v1/alert/sentinel"


class Responders:
    """Every recipient on one connection: verify, count, and acknowledge (again on a duplicate)."""

    def __init__(self, broker: Broker, keys: Path) -> None:
        self.broker = broker
        self.inbox = Inbox(Verifier(load_keyring(keys)))
        self.accepted: Counter[str] = Counter()
        self.task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.sentinel = asyncio.Event()

    async def run(self) -> None:
        async with aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            identifier="responders",
            protocol=aiomqtt.ProtocolVersion.V5,
        ) as c:
            await c.subscribe("alertsim/v1/alert/#", qos=1)
            self.ready.set()
            async for m in c.messages:
                if m.topic.value == SENTINEL_TOPIC:
                    self.sentinel.set()
                    continue
                users = getattr(m.properties, "UserProperty", None) or []
                payload = m.payload if isinstance(m.payload, bytes) else b""
                verdict = self.inbox.receive(
                    Message(m.topic.value, payload, user_properties=tuple(users))
                )
                if verdict.alert is None or verdict.outcome == "rejected":
                    continue
                rid = m.topic.value.rsplit("/", 1)[1]
                if verdict.accepted:
                    self.accepted[rid] += 1
                # A duplicate is acknowledged again: the dispatcher may have lost the first ack.
                ack = Ack(
                    alert_id=verdict.alert.identifier,
                    recipient_id=rid,
                    sent=datetime.now(UTC),
                    channel="app_push",
                )
                await c.publish(ack_topic(ack.alert_id, rid), encode_ack(ack), qos=1)

    async def drained(self) -> None:
        """Return once everything published before this call has reached the responders.

        mosquitto forwards to a subscriber in the order it took messages in, so a message
        published now arrives after whatever an earlier (now exited) publisher sent.
        """
        self.sentinel.clear()
        async with aiomqtt.Client(self.broker.host, self.broker.port, identifier="sentinel") as c:
            await c.publish(SENTINEL_TOPIC, b"", qos=1)
        await asyncio.wait_for(self.sentinel.wait(), 10)

    async def __aenter__(self) -> Responders:
        self.task = asyncio.create_task(self.run())
        await asyncio.wait_for(self.ready.wait(), 5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def dispatch(
    broker: Broker, tmp: Path, crash_at: str | None
) -> tuple[int, dict[str, object]]:
    env = dict(os.environ)
    env.pop("ALERTSIM_CRASH_AT", None)
    if crash_at:
        env["ALERTSIM_CRASH_AT"] = crash_at
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dispatcher.service.cli",
        "--plan",
        str(tmp / "plan.json"),
        "--journal",
        str(tmp / "journal.db"),
        "--keys",
        str(tmp / "keys"),
        "--broker",
        broker.url,
        "--deadline-s",
        "5",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    lines = out.decode().strip().splitlines()
    summary = json.loads(lines[-1]) if proc.returncode == 0 else {"stderr": err.decode()[-500:]}
    return proc.returncode, summary


@pytest.fixture
def setup(tmp_path: Path) -> Path:
    write_key_set(tmp_path / "keys", {D1: TOWNS}, now=datetime.now(UTC) - timedelta(days=1))
    plan = {
        "alertId": "crash-1",
        "level": "red",
        "expiresInS": 600,
        "recipients": [
            {"id": r, "tier": "grid", "district": D1, "town": r[:9]} for r in RECIPIENTS
        ],
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    return tmp_path


@pytest.mark.parametrize(
    ("crash_at", "journaled", "unfinished_max"),
    [
        ("before_journal", False, None),
        ("after_journal", True, len(RECIPIENTS)),
        ("after_puback:3", True, len(RECIPIENTS)),
        ("after_ack:4", True, len(RECIPIENTS) - 3),
    ],
)
async def test_crash_then_exact_replay(
    private_mosquitto: Broker,
    setup: Path,
    crash_at: str,
    journaled: bool,
    unfinished_max: int | None,
) -> None:
    async with Responders(private_mosquitto, setup / "keys") as responders:
        code, _ = await dispatch(private_mosquitto, setup, crash_at)
        assert code == CRASH_EXIT_CODE
        journal = Journal(setup / "journal.db")
        alert_id = journal.alert_for_plan("crash-1")
        assert (alert_id is not None) is journaled
        unfinished = [r.recipient_id for r in journal.rows(alert_id, unfinished=True)]
        if unfinished_max is not None:
            assert 1 <= len(unfinished) <= unfinished_max
        if crash_at.startswith("after_ack"):
            # three acks were marked, the fourth arrived and was lost with the process
            assert len(unfinished) == len(RECIPIENTS) - 3
        code, summary = await dispatch(private_mosquitto, setup, None)
        assert code == 0, summary
        # the restart resumed the crashed run (same alert id), or began the first one
        assert summary["alert_id"] == (alert_id or journal.alert_for_plan("crash-1"))
        # Late copies would be counted below as duplicates: wait until none can be on the way.
        await responders.drained()
    if journaled:
        assert summary["replayed"] == unfinished  # exactly the unfinished set, in journal order
    else:
        assert summary["replayed"] == []
        assert summary["published"] == len(RECIPIENTS)
    rows = journal.rows(str(summary["alert_id"]))
    assert [r.recipient_id for r in rows] == RECIPIENTS
    assert {r.state for r in rows} == {"acked"}
    # every recipient accepted the alert exactly once; repeats were duplicates, not new alerts
    assert responders.accepted == Counter(RECIPIENTS)
    assert responders.inbox.counts["accepted"] == len(RECIPIENTS)
    # each replayed copy that reached a recipient who had the first is one counted duplicate
    # (the journal's publish count can trail: the crash may beat the PUBACK's bookkeeping)
    duplicates = responders.inbox.counts["duplicate"]
    assert sum(r.publishes for r in rows) - len(RECIPIENTS) <= duplicates
    assert duplicates <= (len(unfinished) if journaled else 0)
    if crash_at.startswith("after_ack"):  # the 4th recipient had it, its ack died with us
        assert duplicates >= 1
    journal.close()


async def test_unacknowledged_recipients_are_flagged(
    private_mosquitto: Broker, setup: Path
) -> None:
    # nobody answers: every recipient ends flagged with its cause, none lost
    code, summary = await dispatch(private_mosquitto, setup, None)
    assert code == 0
    assert summary["flagged"] == {"unacknowledged": len(RECIPIENTS)}
    journal = Journal(setup / "journal.db")
    assert {(r.state, r.flag) for r in journal.rows()} == {("flagged", "unacknowledged")}
    journal.close()
