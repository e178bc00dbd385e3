"""Notification latency per message and per warning episode (first alert to last acknowledgement).

A district's episode is its warning's life: the Alert that opened it, the Updates that raised it
and the Cancel that ended it, in issue order (report.json's ``alerts`` rows, with their
``msg_type`` and ``district_codes``). An Alert always opens a new episode, so with
``alert.lifecycle: separate`` every alert is an episode of its own. Pure: computed from the frozen
records after the run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import groupby
from operator import attrgetter
from typing import Any

from dispatcher.core.tracker import RecipientRecord
from simulation.metrics import DIGITS, latency_summary, share_within

__all__ = ["episodes", "messages"]

_RECIPIENT, _ACKNOWLEDGED = attrgetter("recipient_id"), attrgetter("acknowledged_at_s")
_ALERT, _ALERT_DISTRICT = attrgetter("alert_id"), attrgetter("alert_id", "district")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def messages(
    alerts: Sequence[dict[str, Any]], records: Sequence[RecipientRecord], target_s: float
) -> list[dict[str, Any]]:
    """Each message's outcomes: targeted = acknowledged + superseded + cancelled + flagged.

    Latency is from the message's own issue; the target share leaves out the superseded, who
    are counted in the newer message instead.
    """
    rows: dict[str, list[RecipientRecord]] = defaultdict(list)
    for alert_id, run in groupby(records, _ALERT):  # an alert's records come together
        rows[alert_id].extend(run)
    out = []
    for alert in alerts:
        mine = rows.get(alert["id"], [])
        latencies = [r.latency_s for r in mine if r.latency_s is not None]
        superseded = sum(1 for r in mine if r.flag == "superseded")
        cancelled = sum(1 for r in mine if r.flag == "cancelled")
        out.append(
            {
                "id": alert["id"],
                "msg_type": alert.get("msg_type", "Alert"),
                "level": alert["level"],
                "issued_at_s": alert["issued_at_s"],
                "references": alert.get("references", []),
                "targeted": len(mine),
                "acknowledged": len(latencies),
                "superseded": superseded,
                "cancelled": cancelled,
                "flagged": len(mine) - len(latencies) - superseded - cancelled,
                "acknowledged_share": _share(len(latencies), len(mine)),
                "latency_s": latency_summary(latencies),
                "within_target_share": share_within(latencies, target_s, len(mine) - superseded),
            }
        )
    return out


def _chains(alerts: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(district, its messages) per episode, in the order the episodes opened."""
    open_: dict[str, list[dict[str, Any]]] = {}
    chains: list[tuple[str, list[dict[str, Any]]]] = []
    for alert in sorted(alerts, key=lambda a: a["issued_at_s"]):
        kind = alert.get("msg_type", "Alert")
        for district in alert.get("district_codes", []):
            chain = open_.get(district)
            if chain is None or kind == "Alert":
                chain = open_[district] = []
                chains.append((district, chain))
            chain.append(alert)
            if kind == "Cancel":
                del open_[district]
    return chains


def episodes(
    alerts: Sequence[dict[str, Any]], records: Sequence[RecipientRecord]
) -> list[dict[str, Any]]:
    """Every district's episodes: its timeline (share of the district's recipients of each
    message who acknowledged it) and its latency, first message to last acknowledgement."""
    rows: dict[tuple[str, str], list[RecipientRecord]] = defaultdict(list)
    for key, run in groupby(records, _ALERT_DISTRICT):  # and so do a district's in each
        rows[key].extend(run)
    out = []
    for district, chain in _chains(alerts):
        timeline: list[dict[str, Any]] = []
        people: set[str] = set()
        acknowledged: set[str] = set()
        last_ack_s: float | None = None
        for alert in chain:
            mine = rows.get((alert["id"], district), [])
            acked = [r for r in mine if r.acknowledged_at_s is not None]
            people.update(map(_RECIPIENT, mine))
            acknowledged.update(map(_RECIPIENT, acked))
            if acked:
                latest = max(map(_ACKNOWLEDGED, acked))
                last_ack_s = latest if last_ack_s is None else max(last_ack_s, latest)
            timeline.append(
                {
                    "id": alert["id"],
                    "msg_type": alert.get("msg_type", "Alert"),
                    "level": alert["level"],
                    "at_s": alert["issued_at_s"],
                    "targeted": len(mine),
                    "acknowledged": len(acked),
                    "acknowledged_share": _share(len(acked), len(mine)),
                }
            )
        first_s = chain[0]["issued_at_s"]
        cancelled = [m["at_s"] for m in timeline if m["msg_type"] == "Cancel"]
        out.append(
            {
                "district": district,
                "first_issued_at_s": first_s,
                "cancelled_at_s": cancelled[0] if cancelled else None,
                "recipients": len(people),
                "acknowledged": len(acknowledged),
                "acknowledged_share": _share(len(acknowledged), len(people)),
                "last_acknowledged_at_s": None if last_ack_s is None else round(last_ack_s, DIGITS),
                "latency_s": None if last_ack_s is None else round(last_ack_s - first_s, DIGITS),
                "messages": timeline,
            }
        )
    return out
