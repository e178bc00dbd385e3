"""The CAP flood alert one recipient gets: event, urgency and severity from the warning level.

One builder for every sender (the live dispatcher's plans, the broker load test), so what a
responder receives has one shape whoever sent it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from dispatcher.wire.messages import (
    Alert,
    Area,
    Certainty,
    Info,
    MsgType,
    Scope,
    Status,
    WarningLevel,
    severity_for_level,
    urgency_for_level,
)

__all__ = ["DEFAULT_INSTRUCTION", "flood_alert"]

DEFAULT_INSTRUCTION: Final = "Acknowledge, then go to your risk points."


def flood_alert(
    identifier: str,
    sender: str,
    level: WarningLevel,
    sent: datetime,
    expires: datetime,
    district: str,
    town: str = "",
    *,
    headline: str | None = None,
    instruction: str = DEFAULT_INSTRUCTION,
    area_desc: str | None = None,
) -> Alert:
    """An exercise flood alert for a town's recipient (or a district's, when ``town`` is empty).

    ``headline`` defaults to "{level} rainstorm warning" and ``area_desc`` to the town (else the
    district) code; a level outside blue..red raises ValueError.
    """
    return Alert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=Status.EXERCISE,
        msg_type=MsgType.ALERT,
        scope=Scope.RESTRICTED,
        info=Info(
            event="Flood",
            urgency=urgency_for_level(level),
            severity=severity_for_level(level),
            certainty=Certainty.LIKELY,
            headline=f"{level} rainstorm warning" if headline is None else headline,
            instruction=instruction,
            expires=expires,
            warning_level=level,
            area=Area(
                area_desc=area_desc if area_desc is not None else (town or district),
                districts=(district,),
                towns=(town,) if town else (),
            ),
        ),
    )
