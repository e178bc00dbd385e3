"""`alertsim dispatch` SIGKILLed at seeded moments, then restarted: nobody who acknowledged ends
flagged, nobody is counted twice.

Four plans (each its own alert id, journal and persistent session) go to 30 recipients who
answer after a seeded delay of up to half a second, so that acknowledgements are on their way
when the process dies. Each plan's dispatcher is killed five times in a row (20 SIGKILLs), each
restart resuming the run the journal holds, then run to the end. The moment is a condition,
drawn per kill: right after the process starts (before or while it journals), after the n-th
recipient was shown the alert, or after the n-th acknowledgement was sent. Acknowledgements
sent while it was down come from its persistent session; responders answer replays again.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dispatcher.service.journal import Journal
from dispatcher.trust.signing import write_key_set
from tests.support.broker import Broker
from tests.support.responders import MqttResponders
from tests.support.waiting import eventually

D1 = "500101"
TOWNS = ["500101001", "500101002"]
RECIPIENTS = [f"{t}-m{i:04d}" for t in TOWNS for i in range(15)]
PLANS = 4
KILLS_PER_PLAN = 5  # 20 SIGKILLs in all
SEED = 20251201


def _command(broker: Broker, tmp: Path, plan: int) -> list[str]:
    return [
        sys.executable, "-m", "dispatcher.service.cli",
        "--plan", str(tmp / f"plan-{plan}.json"),
        "--journal", str(tmp / f"journal-{plan}.db"),
        "--keys", str(tmp / "keys"),
        "--broker", broker.url,
        "--deadline-s", "20",
    ]  # fmt: skip


def _write_plan(tmp: Path, plan: int) -> str:
    plan_id = f"kill-{plan}"
    data = {
        "alertId": plan_id,
        "level": "red",
        "expiresInS": 600,
        "recipients": [
            {"id": r, "tier": "grid", "district": D1, "town": r[:9]} for r in RECIPIENTS
        ],
    }
    (tmp / f"plan-{plan}.json").write_text(json.dumps(data))
    return plan_id


def _count(counter: dict[tuple[str, str], int], plan_id: str) -> int:
    return sum(n > 0 for (alert, _rid), n in counter.items() if alert.startswith(plan_id + "-"))


async def _kill_at(
    proc: asyncio.subprocess.Process,
    responders: MqttResponders,
    plan_id: str,
    moment: tuple[str, int],
) -> None:
    kind, n = moment
    if kind != "start":
        counter = responders.shown if kind == "shown" else responders.answered
        done = proc.wait()  # a run that ends before the moment is not killed
        reached = eventually(
            lambda: _count(counter, plan_id) >= n or proc.returncode is not None,
            f"{n} recipients {kind} for {plan_id}",
            timeout_s=30,
        )
        await asyncio.wait({asyncio.ensure_future(reached), asyncio.ensure_future(done)},
                           return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
    if proc.returncode is None:
        proc.kill()
    await proc.wait()


def _unfinished(journal: Journal, plan_id: str) -> tuple[str | None, set[str]]:
    """The plan's journaled alert id (None: not journaled) and its unfinished recipients."""
    alert_id = journal.alert_for_plan(plan_id)
    if alert_id is None:
        return None, set(RECIPIENTS)
    return alert_id, {r.recipient_id for r in journal.rows(alert_id, unfinished=True)}


@pytest.mark.slow
async def test_sigkill_at_seeded_moments_loses_no_acknowledgement(
    private_mosquitto: Broker, tmp_path: Path
) -> None:
    write_key_set(tmp_path / "keys", {D1: TOWNS}, now=datetime.now(UTC) - timedelta(days=1))
    rng = random.Random(SEED)
    delays = {r: rng.uniform(0.0, 0.5) for r in RECIPIENTS}
    env = {k: v for k, v in os.environ.items() if k != "ALERTSIM_CRASH_AT"}
    kills = 0
    async with MqttResponders(
        private_mosquitto.host, private_mosquitto.port, tmp_path / "keys",
        answer_delay_s=delays.__getitem__,
    ) as responders:  # fmt: skip
        for plan in range(PLANS):
            plan_id = _write_plan(tmp_path, plan)
            journal = Journal(tmp_path / f"journal-{plan}.db")
            # Killed again and again: each restart resumes the run the last one journaled.
            for _trial in range(KILLS_PER_PLAN):
                moment = rng.choice(
                    [("start", 0), ("shown", rng.randint(1, 30)), ("answered", rng.randint(0, 29))]
                )
                before = _unfinished(journal, plan_id)
                proc = await asyncio.create_subprocess_exec(
                    *_command(private_mosquitto, tmp_path, plan),
                    env=env,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                await _kill_at(proc, responders, plan_id, moment)
                kills += proc.returncode != 0
                after = _unfinished(journal, plan_id)
                # one run throughout; nobody marked done is ever open again
                assert before[0] is None or after[0] == before[0], (plan, moment)
                assert after[1] <= before[1], (plan, moment)
            alert_id, unfinished = _unfinished(journal, plan_id)
            final = await asyncio.create_subprocess_exec(
                *_command(private_mosquitto, tmp_path, plan),
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(final.communicate(), 60)
            assert final.returncode == 0, (plan, err.decode()[-400:])
            summary = json.loads(out.decode().strip().splitlines()[-1])
            # the restart resumed the killed run, if one was journaled
            assert alert_id is None or summary["alert_id"] == alert_id, summary
            rows = journal.rows(summary["alert_id"])
            assert [r.recipient_id for r in rows] == RECIPIENTS, summary
            # everyone answered, so everyone ends acknowledged: none flagged, none lost
            assert {r.state for r in rows} == {"acked"}, summary
            assert summary["flagged"] == {}, summary
            # each unfinished recipient was marked done exactly once by the last run
            assert summary["acks"].get("done", 0) == len(unfinished), summary
            # and shown the alert once: every replay was a duplicate, not a new alert
            shown = {rid: n for (a, rid), n in responders.shown.items() if a == rows[0].alert_id}
            assert shown == dict.fromkeys(RECIPIENTS, 1), summary
            journal.close()
    # the seeded moments killed processes (a run may end before its moment comes)
    assert kills >= (PLANS * KILLS_PER_PLAN) // 2
