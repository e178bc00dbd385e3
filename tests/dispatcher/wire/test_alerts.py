"""The shared flood-alert builder: level -> urgency/severity, recipient -> area, overrides kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.wire.alerts import DEFAULT_INSTRUCTION, flood_alert
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

    assert (alert.info.event, alert.info.urgency, alert.info.severity) == (
        "Flood",
        urgency,
        severity,
    )
    assert alert.info.warning_level == level
    assert alert.info.headline == f"{level} rainstorm warning"
    assert alert.info.instruction == DEFAULT_INSTRUCTION
    assert (alert.sent, alert.info.expires) == (SENT, EXPIRES)
    assert decode_alert(encode_alert(alert)) == alert


def test_area_is_the_town_or_else_the_district() -> None:
    town = flood_alert("A-1", "s", "red", SENT, EXPIRES, "500101", "500101001").info.area
    district = flood_alert("A-1", "s", "red", SENT, EXPIRES, "500101").info.area

    assert (town.area_desc, town.districts, town.towns) == (
        "500101001",
        ("500101",),
        ("500101001",),
    )
    assert (district.area_desc, district.districts, district.towns) == ("500101", ("500101",), ())


def test_overrides_replace_the_default_texts() -> None:
    alert = flood_alert(
        "A-1", "s", "red", SENT, EXPIRES, "500101", "500101001",
        headline="H", instruction="I", area_desc="load test",
    )  # fmt: skip

    assert (alert.info.headline, alert.info.instruction, alert.info.area.area_desc) == (
        "H",
        "I",
        "load test",
    )


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="warning level: expected blue, yellow, orange or red"):
        flood_alert("A-1", "s", "purple", SENT, EXPIRES, "500101")  # type: ignore[arg-type]
