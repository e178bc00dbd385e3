"""The CAP flood alerts alertsim issues: event, urgency and severity from the warning level.

``flood_alert`` is the alert one recipient gets, one builder for every sender (the live
dispatcher's plans, the broker load test), so what a responder receives has one shape whoever
sent it. ``warning_alert`` is the alert a warning issues as a whole, with a ``zh-CN`` and an
``en-US`` info block, as a run writes it into its folder (``alerts/*.xml``).
"""

from __future__ import annotations

from collections.abc import Sequence
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

__all__ = ["DEFAULT_INSTRUCTION", "DEFAULT_INSTRUCTION_ZH", "flood_alert", "warning_alert"]

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


def warning_alert(
    identifier: str,
    sender: str,
    level: WarningLevel,
    sent: datetime,
    expires: datetime,
    districts: Sequence[tuple[str, str, str]],
) -> Alert:
    """An exercise flood alert for whole districts, given as (code, English name, Chinese name).

    Two info blocks: ``zh-CN`` (headline 暴雨{colour}预警) and ``en-US`` ("{level} rainstorm
    warning"), with the same level, area codes and expiry.
    """
    codes = tuple(code for code, _, _ in districts)

    def block(language: str, event: str, headline: str, instruction: str, desc: str) -> Info:
        return Info(
            language=language,
            category=(Category.MET,),
            event=event,
            urgency=urgency_for_level(level),
            severity=severity_for_level(level),
            certainty=Certainty.LIKELY,
            expires=expires,
            headline=headline,
            instruction=instruction,
            warning_level=level,
            area=Area(area_desc=desc, districts=codes),
        )

    return Alert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=Status.EXERCISE,
        msg_type=MsgType.ALERT,
        scope=Scope.RESTRICTED,
        info=block(
            "zh-CN",
            "暴雨",
            f"暴雨{_COLOUR_ZH[level]}预警",
            DEFAULT_INSTRUCTION_ZH,
            "、".join(zh or code for code, _, zh in districts),
        ),
        more_info=(
            block(
                "en-US",
                "Flood",
                f"{level} rainstorm warning",
                DEFAULT_INSTRUCTION,
                ", ".join(en or code for code, en, _ in districts),
            ),
        ),
    )
