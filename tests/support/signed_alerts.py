"""A small CAP alert and the places it is for, shared by the signing, inbox and swarm tests.

Two districts (D1 with towns T1 and T2, D2 with T3) and a fixed NOW; keys made for exercises
sign only Exercise and Test alerts, hence the default status.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatcher.wire.messages import (
    Alert,
    Area,
    Certainty,
    Info,
    MsgType,
    Scope,
    Severity,
    Status,
    Urgency,
)

NOW = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)
D1, D2 = "500101", "500102"
T1, T2, T3 = "500101001", "500101002", "500102001"


def make_alert(
    *,
    identifier: str = "a-1",
    districts: tuple[str, ...] = (D1,),
    towns: tuple[str, ...] = (T1,),
    status: Status = Status.EXERCISE,
    sent: datetime = NOW,
    expires_in_s: float = 3600,
) -> Alert:
    return Alert(
        identifier=identifier,
        sender="alertsim-test",
        sent=sent,
        status=status,
        msg_type=MsgType.ALERT,
        scope=Scope.RESTRICTED,
        info=Info(
            event="Flood",
            urgency=Urgency.IMMEDIATE,
            severity=Severity.EXTREME,
            certainty=Certainty.LIKELY,
            headline="red rainstorm warning",
            instruction="go",
            expires=sent + timedelta(seconds=expires_in_s),
            area=Area(area_desc="x", districts=districts, towns=towns),
        ),
    )
