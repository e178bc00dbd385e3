"""The live dispatcher process: journal, sign, publish, collect acks, replay after a crash.

One run issues one alert plan (``--plan plan.json``: alert id, level, recipients) over a broker.
If the journal already holds the alert, nothing is re-planned: the run replays exactly the
recipients the journal lists as unfinished, with the bytes it journaled (same identifier, same
signature). Acknowledgements mark a recipient done once; repeats are counted as duplicates.
Recipients without an acknowledgement by the deadline are flagged ``unacknowledged``, or
``expired`` once the alert's ``expires`` has passed (an expired alert is never sent again).

Crash points for tests (``ALERTSIM_CRASH_AT=<point>[:<n>]``, the n-th time the point is reached,
default 1): ``before_journal``, ``after_journal`` (before any publish), ``after_puback`` (the
broker acknowledged a publish, the recipient has not), ``after_ack`` (an acknowledgement arrived,
not yet marked). The process ends with ``os._exit(70)`` there, as abruptly as a SIGKILL.

Not here yet: the escalation ladder of :mod:`dispatcher.policy` (retry on the next channel); a
run sends app-push once per recipient and replays only after a restart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import structlog

from dispatcher.journal import Journal
from dispatcher.messages import (
    Alert,
    Area,
    Certainty,
    Info,
    MessageError,
    MsgType,
    Scope,
    Status,
    decode_ack,
    encode_alert,
    severity_for_level,
    urgency_for_level,
)
from dispatcher.plan import Recipient
from dispatcher.signing import Signer, load_signer
from dispatcher.topics import PREFIX, TopicError, alert_topic, district_center_topic, parse_topic
from dispatcher.transport.base import Message, Transport

__all__ = ["CRASH_POINTS", "DispatchPlan", "DispatchService", "RunSummary", "main"]

log = structlog.get_logger(__name__)

CRASH_POINTS: Final = ("before_journal", "after_journal", "after_puback", "after_ack")
CRASH_ENV: Final = "ALERTSIM_CRASH_AT"
CRASH_EXIT_CODE: Final = 70


@dataclass(frozen=True, slots=True)
class DispatchPlan:
    alert_id: str
    level: str
    recipients: tuple[Recipient, ...]
    expires_in_s: float = 600.0
    sender: str = "alertsim-dispatcher"

    @classmethod
    def load(cls, path: Path) -> DispatchPlan:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                alert_id=data["alertId"],
                level=data["level"],
                recipients=tuple(
                    Recipient(r["id"], r["tier"], r["district"], r.get("town", ""))
                    for r in data["recipients"]
                ),
                expires_in_s=float(data.get("expiresInS", 600.0)),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SystemExit(
                f"{path}: expected a plan with alertId, level and recipients "
                f"[{{id, tier, district, town}}], got {exc!r}"
            ) from None


@dataclass
class RunSummary:
    replayed: list[str] = field(default_factory=list)  # recipients sent again after a restart
    published: int = 0
    acks: Counter[str] = field(default_factory=Counter)  # done, duplicate, unknown, bad
    flagged: Counter[str] = field(default_factory=Counter)


class _CrashHook:
    def __init__(self, spec: str | None) -> None:
        self.point, self.remaining = None, 0
        if spec:
            point, _, count = spec.partition(":")
            if point not in CRASH_POINTS:
                raise SystemExit(
                    f"{CRASH_ENV}: expected one of {', '.join(CRASH_POINTS)}, got {point!r}"
                )
            self.point, self.remaining = point, int(count or "1")

    def reached(self, point: str) -> None:
        if point != self.point:
            return
        self.remaining -= 1
        if self.remaining <= 0:
            log.warning("dispatcher_crashed_on_purpose", point=point)
            sys.stdout.flush()
            os._exit(CRASH_EXIT_CODE)


def _alert_for(plan: DispatchPlan, recipient: Recipient, sent: datetime) -> bytes:
    level = plan.level
    alert = Alert(
        identifier=plan.alert_id,
        sender=plan.sender,
        sent=sent,
        status=Status.EXERCISE,
        msg_type=MsgType.ALERT,
        scope=Scope.RESTRICTED,
        info=Info(
            event="Flood",
            urgency=urgency_for_level(level),  # type: ignore[arg-type]
            severity=severity_for_level(level),  # type: ignore[arg-type]
            certainty=Certainty.LIKELY,
            headline=f"{level} rainstorm warning",
            instruction="Acknowledge, then go to your risk points.",
            expires=sent + timedelta(seconds=plan.expires_in_s),
            warning_level=level,  # type: ignore[arg-type]
            area=Area(
                area_desc=recipient.town or recipient.district,
                districts=(recipient.district,),
                towns=(recipient.town,) if recipient.town else (),
            ),
        ),
    )
    return encode_alert(alert)


class DispatchService:
    """Transport + signer + journal for one alert plan."""

    def __init__(
        self,
        transport: Transport,
        journal: Journal,
        signer: Signer,
        *,
        crash_at: str | None = None,
    ) -> None:
        self.transport = transport
        self.journal = journal
        self.signer = signer
        self.summary = RunSummary()
        self._crash = _CrashHook(crash_at)
        self._expires: datetime | None = None

    async def run(self, plan: DispatchPlan, *, deadline_s: float) -> RunSummary:
        await self.transport.start()
        # Subscribe before publishing, so that no acknowledgement can arrive unheard.
        await self.transport.subscribe(f"{PREFIX}/ack/{plan.alert_id}/+")
        reader = asyncio.create_task(self._read_acks(plan.alert_id))
        try:
            if self.journal.has_alert(plan.alert_id):
                rows = self.journal.rows(plan.alert_id, unfinished=True)
                self.summary.replayed = [r.recipient_id for r in rows]
                log.info("journal_replayed", alert_id=plan.alert_id, unfinished=len(rows))
            else:
                self._journal(plan)
                rows = self.journal.rows(plan.alert_id)
            self._expires = _expires_of(rows[0].payload) if rows else None
            for row in rows:
                if self._expired():
                    break
                await self.transport.publish(
                    Message(row.topic, row.payload, user_properties=row.properties)
                )
                await self.transport.flush()  # the broker's PUBACK: published, not done
                self.journal.mark_published(row.alert_id, row.recipient_id)
                self.summary.published += 1
                self._crash.reached("after_puback")
            await self._wait_until_done(plan.alert_id, deadline_s)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await self.transport.close()
        return self.summary

    def _journal(self, plan: DispatchPlan) -> None:
        self._crash.reached("before_journal")
        sent = datetime.now(UTC)
        rows = []
        for r in plan.recipients:
            payload = _alert_for(plan, r, sent)
            topic = (
                alert_topic(r.district, r.town, r.id)
                if r.town
                else district_center_topic(r.district)
            )
            props = (("recipient_id", r.id), *self.signer.properties(payload))
            rows.append((r.id, topic, payload, props))
        self.journal.record_alert(plan.alert_id, rows)
        log.info("alert_journaled", alert_id=plan.alert_id, recipients=len(rows))
        self._crash.reached("after_journal")

    def _expired(self) -> bool:
        return self._expires is not None and datetime.now(UTC) >= self._expires

    async def _wait_until_done(self, alert_id: str, deadline_s: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_s
        while self.journal.rows(alert_id, unfinished=True) and loop.time() < end:
            if self._expired():
                break
            await asyncio.sleep(0.05)
        cause = "expired" if self._expired() else "unacknowledged"
        for row in self.journal.rows(alert_id, unfinished=True):
            if self.journal.mark_done(alert_id, row.recipient_id, flag=cause) == "done":
                self.summary.flagged[cause] += 1
                log.warning(
                    "recipient_flagged", alert_id=alert_id, recipient=row.recipient_id, cause=cause
                )

    async def _read_acks(self, alert_id: str) -> None:
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
            self._crash.reached("after_ack")
            outcome = self.journal.mark_done(ack.alert_id, ack.recipient_id)
            self.summary.acks[outcome] += 1


def _expires_of(payload: bytes) -> datetime | None:
    try:
        return datetime.fromisoformat(json.loads(payload)["info"]["expires"])
    except (ValueError, KeyError, TypeError):
        return None


def main(argv: list[str] | None = None) -> int:
    """``alertsim dispatch`` / ``python -m dispatcher.service``: run one plan, print a summary."""
    parser = argparse.ArgumentParser(prog="alertsim dispatch", description=__doc__.splitlines()[0])
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    parser.add_argument("--keys", type=Path, required=True, help="folder of `alertsim keys init`")
    parser.add_argument("--key-id", default="municipal")
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--username")
    parser.add_argument("--password-env", default="ALERTSIM_MQTT_PASSWORD")
    parser.add_argument("--ca-file", type=Path)
    parser.add_argument("--deadline-s", type=float, default=30.0)
    parser.add_argument("--crash-at", default=os.environ.get(CRASH_ENV))
    args = parser.parse_args(argv)
    plan = DispatchPlan.load(args.plan)
    transport: Transport
    if args.username:
        from dispatcher.transport.secure import SecureMqttTransport

        transport = SecureMqttTransport(
            args.broker,
            client_id=args.username,
            username=args.username,
            password=os.environ.get(args.password_env, ""),
            ca_file=args.ca_file,
        )
    else:
        from dispatcher.transport.mqtt import MqttTransport

        transport = MqttTransport(args.broker, client_id=f"dispatcher-{os.getpid()}")
    journal = Journal(args.journal)
    service = DispatchService(
        transport, journal, load_signer(args.keys, args.key_id), crash_at=args.crash_at
    )
    summary = asyncio.run(service.run(plan, deadline_s=args.deadline_s))
    print(
        json.dumps(
            {
                "replayed": summary.replayed,
                "published": summary.published,
                "acks": dict(summary.acks),
                "flagged": dict(summary.flagged),
            }
        )
    )
    journal.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
