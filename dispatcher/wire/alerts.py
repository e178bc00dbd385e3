"""The CAP flood alerts alertsim issues: event, urgency and severity from the warning level.

``flood_alert`` is the alert one recipient gets, one builder for every sender (the live
dispatcher's plans, the broker load test), so what a responder receives has one shape whoever
sent it. ``warning_alert`` is the alert a warning issues as a whole, one info block per language
(a scenario's ``alert.text``: ``zh-CN`` and ``en-US`` by default), as a run writes it into its
folder (``alerts/*.xml``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from dispatcher.wire.capvocab import Category
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

__all__ = [
    "DEFAULT_INSTRUCTION",
    "DEFAULT_INSTRUCTION_ZH",
    "InfoText",
    "colour_zh",
    "flood_alert",
    "warning_alert",
]

DEFAULT_INSTRUCTION: Final = "Acknowledge, then go to your risk points."
DEFAULT_INSTRUCTION_ZH: Final = "请确认收到，然后前往你的风险点位。"
# The national signal colours as the warnings name them (暴雨红色预警: a red rainstorm warning).
_COLOUR_ZH: Final[dict[WarningLevel, str]] = {
    "blue": "蓝色",
    "yellow": "黄色",
    "orange": "橙色",
    "red": "红色",
}


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


@dataclass(frozen=True, slots=True)
class InfoText:
    """The words of one info block: its language, event, headline, instruction and area name."""

    language: str
    event: str
    headline: str
    instruction: str
    area_desc: str


def colour_zh(level: WarningLevel) -> str:
    """The signal colour of a level as Chinese warnings name it (红色 for red)."""
    return _COLOUR_ZH[level]


def warning_alert(
    identifier: str,
    sender: str,
    level: WarningLevel,
    sent: datetime,
    expires: datetime,
    districts: Sequence[str],
    texts: Sequence[InfoText],
) -> Alert:
    """An exercise flood alert for whole districts: one info block per text, in order.

    Every block has the same level, area codes and expiry; ``texts`` must not be empty.
    """

    def block(text: InfoText) -> Info:
        return Info(
            language=text.language,
            category=(Category.MET,),
            event=text.event,
            urgency=urgency_for_level(level),
            severity=severity_for_level(level),
            certainty=Certainty.LIKELY,
            expires=expires,
            headline=text.headline,
            instruction=text.instruction,
            warning_level=level,
            area=Area(area_desc=text.area_desc, districts=tuple(districts)),
        )

    first, *others = texts
    return Alert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=Status.EXERCISE,
        msg_type=MsgType.ALERT,
        scope=Scope.RESTRICTED,
        info=block(first),
        more_info=tuple(block(text) for text in others),
    )
