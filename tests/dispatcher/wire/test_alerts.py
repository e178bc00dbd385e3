"""The shared flood-alert builder: level -> urgency/severity, recipient -> area, a zh-CN and an
en-US info block by default, texts given kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.core.plan import Recipient
from dispatcher.wire.alerts import (
    DEFAULT_INSTRUCTION,
    DEFAULT_INSTRUCTION_ZH,
    InfoText,
    flood_alert,
)
from dispatcher.wire.capxml import decode_cap, decode_payload, encode_cap
from dispatcher.wire.envelopes import flood_alert_bytes
from dispatcher.wire.messages import Severity, Urgency, decode_alert, encode_alert

SENT = datetime(2024, 7, 1, 3, 0, tzinfo=UTC)
EXPIRES = SENT + timedelta(minutes=10)


@pytest.mark.parametrize(
    ("level", "urgency", "severity"),
    [
        ("red", Urgency.IMMEDIATE, Severity.EXTREME),
        ("orange", Urgency.IMMEDIATE, Severity.SEVERE),
        ("yellow", Urgency.EXPECTED, Severity.MODERATE),
        ("blue", Urgency.EXPECTED, Severity.MINOR),
    ],
)
def test_level_sets_urgency_severity_and_default_texts(
    level: str, urgency: Urgency, severity: Severity
) -> None:
    alert = flood_alert("A-1", "cq-municipal", level, SENT, EXPIRES, "500101", "500101001")  # type: ignore[arg-type]

    zh = alert.info
    colour = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}[level]
    assert [(i.language, i.event, i.headline, i.instruction) for i in alert.infos] == [
        ("zh-CN", "暴雨", f"暴雨{colour}预警", DEFAULT_INSTRUCTION_ZH),
        ("en-US", "Flood", f"{level} rainstorm warning", DEFAULT_INSTRUCTION),
    ]
    for info in alert.infos:
        assert (info.urgency, info.severity, info.warning_level) == (urgency, severity, level)
        assert info.expires == EXPIRES
        assert info.area == zh.area
    assert alert.sent == SENT
    assert decode_alert(encode_alert(alert)) == alert
    assert decode_cap(encode_cap(alert)) == alert


def test_area_is_the_town_or_else_the_district() -> None:
    town = flood_alert("A-1", "s", "red", SENT, EXPIRES, "500101", "500101001").info.area
    district = flood_alert("A-1", "s", "red", SENT, EXPIRES, "500101").info.area

    assert (town.area_desc, town.districts, town.towns) == (
        "500101001",
        ("500101",),
        ("500101001",),
    )
    assert (district.area_desc, district.districts, district.towns) == ("500101", ("500101",), ())


def test_texts_given_replace_the_default_ones_in_order() -> None:
    alert = flood_alert(
        "A-1", "s", "red", SENT, EXPIRES, "500101", "500101001",
        texts=(InfoText("en-US", "Flood", "H", "I", "load test"),
               InfoText("fr", "Crue", "T", "", "")),
    )  # fmt: skip

    assert [(i.language, i.headline, i.instruction, i.area.area_desc) for i in alert.infos] == [
        ("en-US", "H", "I", "load test"),
        ("fr", "T", "", "500101001"),  # no area name: the town code
    ]


def test_no_texts_is_refused() -> None:
    with pytest.raises(ValueError, match="A-1: expected at least one info text, got none"):
        flood_alert("A-1", "s", "red", SENT, EXPIRES, "500101", texts=())


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="warning level: expected blue, yellow, orange or red"):
        flood_alert("A-1", "s", "purple", SENT, EXPIRES, "500101")  # type: ignore[arg-type]


@pytest.mark.parametrize("form", ["json", "xml"])
def test_both_payload_forms_carry_both_blocks_and_read_back_equal(form: str) -> None:
    recipient = Recipient("m1", "grid", "500101", "500101001")
    payload = flood_alert_bytes("A-1", "red", "s", recipient, SENT, EXPIRES, form)  # type: ignore[arg-type]
    alert = decode_payload(payload)
    assert [info.language for info in alert.infos] == ["zh-CN", "en-US"]
    assert alert == flood_alert("A-1", "s", "red", SENT, EXPIRES, "500101", "500101001")
    # JSON and XML are one mapping: either form, written as the other, reads back the same
    assert decode_payload(encode_cap(alert, pretty=False)) == decode_payload(encode_alert(alert))
    if form == "json":
        # what a bilingual payload costs: both blocks in UTF-8 JSON (docs/wire-protocol.md)
        assert 1_400 < len(payload) < 1_600
