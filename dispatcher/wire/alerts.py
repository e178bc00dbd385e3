"""The CAP flood alerts alertsim issues: event, urgency and severity from the warning level.

``flood_alert`` is the alert one recipient gets, one builder for every sender (the live
driver, the dispatcher service's plans, the broker load test), so what a responder receives has
one shape whoever sent it: a ``zh-CN`` and an ``en-US`` info block unless told otherwise.
``warning_alert`` is the alert a warning issues as a whole, one info block per language (a
scenario's ``alert.text``: ``zh-CN`` and ``en-US`` by default), as a run writes it into its folder
(``alerts/*.xml``).
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
    "default_texts",
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
    colour = _COLOUR_ZH.get(level)
    if colour is None:
        raise ValueError(f"warning level: expected blue, yellow, orange or red, got {level!r}")
    return colour


def default_texts(level: WarningLevel, area_desc: str = "") -> tuple[InfoText, ...]:
    """The default words of a level's alert: a ``zh-CN`` block, then an ``en-US`` one.

    They are a scenario's default ``alert.text`` filled in (暴雨红色预警 / red rainstorm warning).
    """
    return (
        InfoText("zh-CN", "暴雨", f"暴雨{colour_zh(level)}预警", DEFAULT_INSTRUCTION_ZH, area_desc),
        InfoText("en-US", "Flood", f"{level} rainstorm warning", DEFAULT_INSTRUCTION, area_desc),
    )


def flood_alert(
    identifier: str,
    sender: str,
    level: WarningLevel,
    sent: datetime,
    expires: datetime,
    district: str,
    town: str = "",
    *,
    texts: Sequence[InfoText] | None = None,
) -> Alert:
    """An exercise flood alert for a town's recipient (or a district's, when ``town`` is empty).

    One info block per text, in order (default :func:`default_texts`: ``zh-CN``, then ``en-US``);
    a text without an ``area_desc`` names the area by the town (else the district) code. A level
    outside blue..red raises ValueError.
    """
    towns = (town,) if town else ()
    blocks = [
        _info(
            text,
            level,
            expires,
            Area(area_desc=text.area_desc or town or district, districts=(district,), towns=towns),
        )
        for text in (default_texts(level) if texts is None else texts)
    ]
    return _alert(identifier, sender, sent, blocks)


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

    blocks = [
        _info(text, level, expires, Area(area_desc=text.area_desc, districts=tuple(districts)))
        for text in texts
    ]
    return _alert(identifier, sender, sent, blocks)


def _info(text: InfoText, level: WarningLevel, expires: datetime, area: Area) -> Info:
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
        area=area,
    )


def _alert(identifier: str, sender: str, sent: datetime, blocks: list[Info]) -> Alert:
    if not blocks:
        raise ValueError(f"{identifier}: expected at least one info text, got none")
    first, *others = blocks
    return Alert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=Status.EXERCISE,
        msg_type=MsgType.ALERT,
        scope=Scope.RESTRICTED,
        info=first,
        more_info=tuple(others),
    )
