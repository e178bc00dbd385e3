"""Alert identifiers the world issues, and the stable key a responder's behaviour is drawn by.

An identifier names the scenario and the run for people reading records
(`chongqing-record-rainfall-r0-001-red`; the run id, `dispatcher.wire.runs`, makes repeated live
runs new alerts to a long-running swarm), but draws must not depend on a name or a run: a
renamed scenario, two variants compared, or a live run beside its virtual twin would lose their
common random numbers. Behaviour is therefore keyed on the alert's sequence number alone.
"""

from __future__ import annotations

__all__ = ["alert_identifier", "behaviour_key"]


def alert_identifier(scenario_name: str, run_id: str, seq: int, level: str) -> str:
    """The identifier of the `seq`-th alert (from 1) run `run_id` of a scenario issues, at
    warning `level`: at most 40 characters of the name, so it stays a valid alert id."""
    return f"{scenario_name[:40]}-{run_id}-{seq:03d}-{level}"


def behaviour_key(alert_id: str) -> str:
    """The stable key of an alert for behaviour draws: its sequence number (`001`).

    Scenario names may hold hyphens, warning levels never do, so the sequence is the second
    field from the right. An alert the world did not issue (a dispatcher plan's own id, say)
    is drawn by its identifier.
    """
    parts = alert_id.rsplit("-", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return parts[1]
    return alert_id
