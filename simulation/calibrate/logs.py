"""Drill logs: read records.csv.gz or the minimal attempts CSV into attempts and center hops.

Two forms are read, told apart by their header:

- **records** (what `alertsim run` writes, one row per recipient per alert): the attempt that was
  acknowledged, the first rung's attempt, and the relay times of the centers. Only the first
  rung is seen whatever its outcome; later rungs are seen only when they were answered, so they
  inform channel delays and the time to acknowledge but not missed shares or failures.
- **attempts** (the minimal CSV a drill can produce, one row per delivery attempt): columns
  ``recipient, tier, channel, sent, delivered, read, acknowledged``; times in seconds (from any
  origin) or ISO 8601 with a time zone; empty for what never happened; the drill is taken to
  have been watched until the last time in the log. Every attempt is seen,
  so every channel's delay, failure and missed share can be fitted; centers are not in it.

Times are kept absolute (seconds); :mod:`simulation.calibrate.hops` turns them into durations.
A row that cannot be used is an error naming the file, the row and the column.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dispatcher.errors import AlertsimError
from simulation.inputs import InputError, read_bounded

__all__ = [
    "ATTEMPT_COLUMNS",
    "Attempt",
    "CenterHop",
    "DrillLog",
    "DrillLogError",
    "read_drill_log",
]

ATTEMPT_COLUMNS: tuple[str, ...] = (
    "recipient",
    "tier",
    "channel",
    "sent",
    "delivered",
    "read",
    "acknowledged",
)
RECORD_COLUMNS: tuple[str, ...] = (
    "alert_id",
    "recipient_id",
    "tier",
    "district",
    "town",
    "issued_at_s",
    "relayed_municipal_at_s",
    "relayed_district_at_s",
    "relayed_town_at_s",
    "notified_at_s",
    "sent_at_s",
    "delivered_at_s",
    "ack_delivered_at_s",
    "read_at_s",
    "acked_at_s",
    "acknowledged_at_s",
    "channel",
    "flag",
    "flagged_at_s",
)
MAX_ROWS = 2_000_000
MAX_LOG_BYTES = 512 * 1024 * 1024  # a city's records.csv.gz is ~10 MB


class DrillLogError(AlertsimError, ValueError):
    """A drill log that cannot be used; the message names the file, row and column."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt, absolute seconds; ``end_s``: the last moment it was watched.

    ``complete`` says the attempt is in the log whatever its outcome, so it may count towards a
    failure or missed share; an attempt seen only because it was answered may not.
    """

    recipient: str
    channel: str
    sent_s: float
    delivered_s: float | None
    read_s: float | None
    acked_s: float | None
    end_s: float
    complete: bool


@dataclass(frozen=True, slots=True)
class CenterHop:
    """A center's processing: from the tier above pressing send to this one pressing send."""

    tier: str
    center: str
    start_s: float
    done_s: float | None
    end_s: float  # the last moment the alert was watched, for a center that never sent


@dataclass(frozen=True, slots=True)
class DrillLog:
    path: Path
    form: str  # "records" or "attempts"
    rows: int
    attempts: tuple[Attempt, ...]
    centers: tuple[CenterHop, ...]
    unavailable: int  # recipients found absent: they tell availability, not reading
    recipients: int


def read_drill_log(path: Path, *, first_rung: str, first_timeout_s: float) -> DrillLog:
    """Read ``path`` in either form; ``first_rung``/``first_timeout_s`` come from the scenario."""
    rows = list(_rows(path))
    if not rows:
        raise DrillLogError(f"{path}: expected a header and at least one row, got none")
    header, body = rows[0], rows[1:]
    if not body:
        raise DrillLogError(f"{path}: expected at least one row after the header, got none")
    if all(c in header for c in RECORD_COLUMNS):
        return _from_records(path, header, body, first_rung, first_timeout_s)
    if all(c in header for c in ATTEMPT_COLUMNS):
        return _from_attempts(path, header, body)
    missing = [c for c in ATTEMPT_COLUMNS if c not in header]
    raise DrillLogError(
        f"{path}: header: expected the records.csv.gz columns or the attempts columns "
        f"({', '.join(ATTEMPT_COLUMNS)}), missing {', '.join(missing)}"
    )


def _rows(path: Path) -> Iterator[list[str]]:
    try:  # a regular file of bounded size, as every file a user names (simulation/inputs.py)
        raw = read_bounded(path, MAX_LOG_BYTES)
    except InputError as exc:
        raise DrillLogError(f"{path}: {exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DrillLogError(f"{path}: expected gzip-compressed CSV, got {exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DrillLogError(f"{path}: expected UTF-8 CSV text, got {exc.reason}") from None
    for n, row in enumerate(csv.reader(io.StringIO(text))):
        if n > MAX_ROWS:
            raise DrillLogError(f"{path}: expected at most {MAX_ROWS:,} rows")
        if row:
            yield [cell.strip() for cell in row]


class _Cells:
    """One row's cells by column name, with errors that say where."""

    def __init__(self, path: Path, row: int, header: list[str], cells: list[str]) -> None:
        if len(cells) != len(header):
            raise DrillLogError(
                f"{path}: row {row}: expected {len(header)} cells, got {len(cells)}"
            )
        self.where = f"{path}: row {row}"
        self.by_name = dict(zip(header, cells, strict=True))

    def text(self, column: str) -> str:
        value = self.by_name[column]
        if not value:
            raise DrillLogError(f"{self.where}, column {column!r}: expected a value, got none")
        return value

    def time(self, column: str) -> float | None:
        value = self.by_name[column]
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                stamp = datetime.fromisoformat(value)
            except ValueError:
                raise DrillLogError(
                    f"{self.where}, column {column!r}: expected seconds or an ISO 8601 time, "
                    f"got {value[:40]!r}"
                ) from None
            if stamp.tzinfo is None:
                raise DrillLogError(
                    f"{self.where}, column {column!r}: expected a time zone on {value[:40]!r}"
                ) from None
            return stamp.timestamp()
        if not math.isfinite(seconds):
            raise DrillLogError(f"{self.where}, column {column!r}: expected a finite time")
        return seconds


def _ordered(cells: _Cells, pairs: list[tuple[str, float | None, str, float | None]]) -> None:
    for early_name, early, late_name, late in pairs:
        if early is not None and late is not None and late < early:
            raise DrillLogError(
                f"{cells.where}, column {late_name!r}: expected a time at or after "
                f"{early_name!r} ({early:g}), got {late:g}"
            )


def _from_attempts(path: Path, header: list[str], body: list[list[str]]) -> DrillLog:
    parsed: list[tuple[str, str, float, float | None, float | None, float | None]] = []
    for n, cells_list in enumerate(body, start=2):
        cells = _Cells(path, n, header, cells_list)
        sent = cells.time("sent")
        if sent is None:
            raise DrillLogError(f"{cells.where}, column 'sent': expected a time, got none")
        delivered, read, acked = (
            cells.time("delivered"),
            cells.time("read"),
            cells.time("acknowledged"),
        )
        _ordered(
            cells,
            [
                ("sent", sent, "delivered", delivered),
                ("delivered", delivered, "read", read),
                ("read", read, "acknowledged", acked),
            ],
        )
        if read is not None and delivered is None:
            raise DrillLogError(
                f"{cells.where}, column 'delivered': expected a time when 'read' is given"
            )
        parsed.append(
            (cells.text("recipient"), cells.text("channel"), sent, delivered, read, acked)
        )
    # Watched until the recipient first read any attempt; one who read nothing, until the log ends.
    first_read: dict[str, float] = {}
    recipients: set[str] = set()
    log_end = 0.0
    for recipient, _, sent, delivered, read, acked in parsed:
        recipients.add(recipient)
        log_end = max(log_end, *(t for t in (sent, delivered, read, acked) if t is not None))
        if read is not None:
            first_read[recipient] = min(first_read.get(recipient, read), read)
    attempts = tuple(
        Attempt(
            recipient=recipient,
            channel=channel,
            sent_s=sent,
            delivered_s=delivered,
            read_s=read,
            acked_s=acked,
            end_s=first_read.get(recipient, log_end),
            complete=True,
        )
        for recipient, channel, sent, delivered, read, acked in parsed
    )
    return DrillLog(
        path=path,
        form="attempts",
        rows=len(body),
        attempts=attempts,
        centers=(),
        unavailable=0,
        recipients=len(recipients),
    )


def _record_attempts(cells: _Cells, first_rung: str, first_timeout_s: float) -> list[Attempt]:
    t = cells.time
    recipient = cells.text("recipient_id")
    channel = cells.by_name["channel"]
    notified, sent, delivered = t("notified_at_s"), t("sent_at_s"), t("delivered_at_s")
    ack_delivered, read, acked = t("ack_delivered_at_s"), t("read_at_s"), t("acked_at_s")
    known = [v for v in (t("acknowledged_at_s"), t("flagged_at_s"), acked, read) if v is not None]
    if notified is None:
        return []
    end = read if read is not None else max(known, default=notified)
    out: list[Attempt] = []
    answered = False
    if channel and sent is not None and ack_delivered is not None:
        _ordered(cells, [("sent_at_s", sent, "ack_delivered_at_s", ack_delivered)])
        complete = channel == first_rung
        out.append(Attempt(recipient, channel, sent, ack_delivered, read, acked, end, complete))
        answered = complete
    if not answered:
        # The first rung, unanswered: delivered if anything arrived before the second rung left.
        first = (
            delivered if delivered is not None and delivered < notified + first_timeout_s else None
        )
        out.append(Attempt(recipient, first_rung, notified, first, None, None, end, True))
    return out


def _from_records(
    path: Path, header: list[str], body: list[list[str]], first_rung: str, first_timeout_s: float
) -> DrillLog:
    attempts: list[Attempt] = []
    starts: dict[tuple[str, str, str], float] = {}
    done: dict[tuple[str, str, str], float | None] = {}
    alert_end: dict[str, float] = defaultdict(float)
    unavailable, recipients = 0, 0
    for n, cells_list in enumerate(body, start=2):
        cells = _Cells(path, n, header, cells_list)
        recipients += 1
        alert = cells.text("alert_id")
        times = [cells.time(c) for c in RECORD_COLUMNS if c.endswith("_at_s")]
        alert_end[alert] = max(alert_end[alert], *(v for v in times if v is not None))
        if cells.by_name["flag"] == "unavailable":
            unavailable += 1
        else:
            attempts.extend(_record_attempts(cells, first_rung, first_timeout_s))
        _center_times(cells, alert, starts, done)
    centers = tuple(
        CenterHop(tier, center, start, done.get(key), alert_end[key[0]])
        for key, start in sorted(starts.items())
        for _, tier, center in [key]
    )
    return DrillLog(
        path=path,
        form="records",
        rows=len(body),
        attempts=tuple(attempts),
        centers=centers,
        unavailable=unavailable,
        recipients=recipients,
    )


def _center_times(
    cells: _Cells,
    alert: str,
    starts: dict[tuple[str, str, str], float],
    done: dict[tuple[str, str, str], float | None],
) -> None:
    """Each center once per alert: who sent to it and when, and when it sent on."""
    t = cells.time
    issued = t("issued_at_s")
    municipal, district, town = (
        t("relayed_municipal_at_s"),
        t("relayed_district_at_s"),
        t("relayed_town_at_s"),
    )
    chain: Mapping[str, tuple[str, float | None, float | None]] = {
        "municipal": ("municipal", issued, municipal),
        "district": (cells.by_name["district"], municipal, district),
        "town": (cells.by_name["town"], district, town),
    }
    for tier, (center, start, finish) in chain.items():
        if start is None or not center:
            continue
        key = (alert, tier, center)
        starts.setdefault(key, start)
        if finish is not None:
            done[key] = finish
