"""The dispatcher's durable journal: each alert and each recipient's state, in SQLite (WAL).

Written before anything is published: a recipient row holds the exact bytes it is sent (topic,
payload, unsigned user properties), so a replay after a crash sends the same identifier and
receivers recognise it as a duplicate. Signatures are made when a row is sent, since they bind
the channel and rung of that attempt. A recipient is ``done`` only when
its application-level acknowledgement arrived (or it was flagged with a cause); the broker's
PUBACK only moves it to ``published``, which still counts as unfinished. Each alert row names the
plan and the run it belongs to (``plan_id``, ``run_id``), so a restart finds the run it resumes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

__all__ = ["Journal", "JournalRow", "RecipientStateName"]

RecipientStateName = Literal["pending", "published", "acked", "flagged"]
DONE_STATES: Final = ("acked", "flagged")

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    journaled_at_ns INTEGER NOT NULL,
    plan_id TEXT NOT NULL DEFAULT '',
    run_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS recipients (
    alert_id TEXT NOT NULL REFERENCES alerts(alert_id),
    recipient_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    properties TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'published', 'acked', 'flagged')),
    flag TEXT,
    publishes INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    done_at_ns INTEGER,
    PRIMARY KEY (alert_id, recipient_id)
);
"""


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One recipient of one alert as journaled: what to send and where it stands."""

    alert_id: str
    recipient_id: str
    topic: str
    payload: bytes
    properties: tuple[tuple[str, str], ...]
    state: RecipientStateName
    flag: str | None
    publishes: int
    duplicates: int


class Journal:
    """One SQLite file in WAL mode; every write is its own committed transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a transaction that returned is on disk even if the machine, not only the
        # process, goes down right after.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        # A journal written before run ids: its alerts table gains the two columns.
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(alerts)")}
        for column in ("plan_id", "run_id"):
            if column not in columns:
                self._db.execute(f"ALTER TABLE alerts ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        self._db.close()

    def has_alert(self, alert_id: str) -> bool:
        row = self._db.execute("SELECT 1 FROM alerts WHERE alert_id = ?", (alert_id,)).fetchone()
        return row is not None

    def alert_for_plan(self, plan_id: str) -> str | None:
        """The alert id the latest run of plan ``plan_id`` journaled (None: never run here)."""
        row = self._db.execute(
            "SELECT alert_id FROM alerts WHERE plan_id = ? ORDER BY rowid DESC LIMIT 1",
            (plan_id,),
        ).fetchone()
        return None if row is None else str(row[0])

    def record_alert(
        self,
        alert_id: str,
        rows: list[tuple[str, str, bytes, tuple[tuple[str, str], ...]]],
        *,
        plan_id: str = "",
        run_id: str = "",
    ) -> None:
        """Journal an alert (of plan ``plan_id``, run ``run_id``) and its recipients
        (recipient_id, topic, payload, properties)."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO alerts (alert_id, journaled_at_ns, plan_id, run_id) "
                "VALUES (?, ?, ?, ?)",
                (alert_id, time.time_ns(), plan_id, run_id),
            )
            self._db.executemany(
                "INSERT INTO recipients (alert_id, recipient_id, topic, payload, properties, "
                "state) VALUES (?, ?, ?, ?, ?, 'pending')",
                [(alert_id, r, t, p, json.dumps(list(props))) for r, t, p, props in rows],
            )

    def mark_published(self, alert_id: str, recipient_id: str) -> None:
        """The broker acknowledged a publish: counted, but the recipient stays unfinished."""
        self._db.execute(
            "UPDATE recipients SET publishes = publishes + 1, "
            "state = CASE WHEN state = 'pending' THEN 'published' ELSE state END "
            "WHERE alert_id = ? AND recipient_id = ?",
            (alert_id, recipient_id),
        )

    def restamp(self, alert_id: str, recipient_id: str, payload: bytes) -> None:
        """Replace a recipient's bytes with a restamped copy (same identifier, fresh ``sent``)."""
        self._db.execute(
            "UPDATE recipients SET payload = ? WHERE alert_id = ? AND recipient_id = ?",
            (payload, alert_id, recipient_id),
        )

    def mark_done(
        self, alert_id: str, recipient_id: str, *, flag: str | None = None
    ) -> Literal["done", "duplicate", "unknown"]:
        """Acknowledged (or flagged with ``flag``): exactly once; a repeat counts as duplicate."""
        with self._transaction():
            row = self._db.execute(
                "SELECT state FROM recipients WHERE alert_id = ? AND recipient_id = ?",
                (alert_id, recipient_id),
            ).fetchone()
            if row is None:
                return "unknown"
            if row[0] in DONE_STATES:
                self._db.execute(
                    "UPDATE recipients SET duplicates = duplicates + 1 "
                    "WHERE alert_id = ? AND recipient_id = ?",
                    (alert_id, recipient_id),
                )
                return "duplicate"
            self._db.execute(
                "UPDATE recipients SET state = ?, flag = ?, done_at_ns = ? "
                "WHERE alert_id = ? AND recipient_id = ?",
                (
                    "acked" if flag is None else "flagged",
                    flag,
                    time.time_ns(),
                    alert_id,
                    recipient_id,
                ),
            )
            return "done"

    def rows(self, alert_id: str | None = None, *, unfinished: bool = False) -> list[JournalRow]:
        """Journaled recipients (of one alert, or all), in journal order."""
        sql = (
            "SELECT alert_id, recipient_id, topic, payload, properties, state, flag, publishes, "
            "duplicates FROM recipients WHERE 1=1"
        )
        args: list[str] = []
        if alert_id is not None:
            sql += " AND alert_id = ?"
            args.append(alert_id)
        if unfinished:
            sql += " AND state NOT IN ('acked', 'flagged')"
        rows = self._db.execute(sql + " ORDER BY rowid", args).fetchall()
        return [
            JournalRow(a, r, t, bytes(p), tuple((k, v) for k, v in json.loads(props)), s, f, n, d)
            for a, r, t, p, props, s, f, n, d in rows
        ]

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
