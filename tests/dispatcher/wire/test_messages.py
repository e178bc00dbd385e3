"""Tests of the alert and ack models and their codec: round trips, determinism, every rejection."""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from dispatcher.wire.capvocab import Reference
from dispatcher.wire.messages import (
    MAX_NESTING_DEPTH,
    MAX_PAYLOAD_BYTES,
    Ack,
    Alert,
    MessageError,
    MsgType,
    Severity,
    Urgency,
    decode_ack,
    decode_alert,
    encode_ack,
    encode_alert,
    severity_for_level,
    urgency_for_level,
)
from tests.support.cap_messages import (
    SENT,
    VALID,
    acks,
    alerts,
    edited,
    make_ack,
    make_alert,
    make_info,
    rejection,
)

# --- round trips and determinism -----------------------------------------------------------------


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alerts())
def test_alert_round_trips_through_the_codec(alert: Alert) -> None:
    payload = encode_alert(alert)
    decoded = decode_alert(payload)
    assert decoded == alert
    assert encode_alert(decoded) == payload


@given(acks)
def test_ack_round_trips_through_the_codec(ack: Ack) -> None:
    payload = encode_ack(ack)
    assert decode_ack(payload) == ack
    assert encode_ack(decode_ack(payload)) == payload


def test_equal_alerts_encode_to_the_same_bytes_whatever_their_time_zone() -> None:
    in_chongqing = make_alert(sent=SENT.astimezone(timezone(timedelta(hours=8))))
    assert in_chongqing == make_alert()
    assert encode_alert(in_chongqing) == encode_alert(make_alert())


def test_wire_format_is_compact_camel_case_utf8_json() -> None:
    earlier = Reference(sender="municipal@cq.gov.cn", identifier="cq-0", sent=SENT)
    payload = encode_alert(make_alert(msg_type=MsgType.UPDATE, references=(earlier,)))
    document = json.loads(payload)
    compact = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    assert payload == compact.encode("utf-8")
    assert "红色暴雨预警".encode() in payload
    assert list(document) == [
        "identifier",
        "sender",
        "sent",
        "status",
        "msgType",
        "source",
        "scope",
        "restriction",
        "addresses",
        "code",
        "note",
        "references",
        "incidents",
        "info",
        "moreInfo",
    ]
    assert document["references"] == [
        {"sender": "municipal@cq.gov.cn", "identifier": "cq-0", "sent": "2025-07-20T08:00:00+00:00"}
    ]
    assert document["msgType"] == "Update"
    assert document["sent"] == "2025-07-20T08:00:00+00:00"
    assert set(document["info"]) >= {"warningLevel", "expires", "area"}
    assert list(document["info"]["area"]) == [
        "areaDesc",
        "polygons",
        "circles",
        "geocodes",
        "altitude",
        "ceiling",
        "districts",
        "towns",
    ]
    ack_document = json.loads(encode_ack(make_ack()))
    assert ack_document == {
        "alertId": "cq-2025.07.20-0001",
        "recipientId": "m-000042",
        "sent": "2025-07-20T08:01:13.250000+00:00",
        "channel": "app_push",
        "status": "acknowledged",
        "note": "",
    }


def test_models_accept_python_names_and_are_frozen() -> None:
    alert = make_alert()
    with pytest.raises(ValidationError):
        alert.identifier = "other"  # type: ignore[misc]
    assert Alert.model_validate(alert.model_dump()) == alert


def test_nesting_inside_strings_does_not_count_as_depth() -> None:
    alert = make_alert(
        info=make_info(
            headline="[{" * 200, instruction='quote "' + "[" * 40 + '" and a backslash \\'
        )
    )
    assert decode_alert(encode_alert(alert)) == alert


# --- warning levels ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "severity", "urgency"),
    [
        ("red", Severity.EXTREME, Urgency.IMMEDIATE),
        ("orange", Severity.SEVERE, Urgency.IMMEDIATE),
        ("yellow", Severity.MODERATE, Urgency.EXPECTED),
        ("blue", Severity.MINOR, Urgency.EXPECTED),
    ],
)
def test_warning_levels_map_to_cap_severity_and_urgency(
    level: Any, severity: Severity, urgency: Urgency
) -> None:
    assert severity_for_level(level) is severity
    assert urgency_for_level(level) is urgency


# --- each decode failure has its reason ----------------------------------------------------------


def test_zero_bytes_are_empty() -> None:
    assert rejection(b"").reason == "empty"


def test_one_byte_over_the_limit_is_oversize_and_the_limit_itself_is_not() -> None:
    base = encode_alert(make_alert(info=make_info(instruction="")))
    padding = MAX_PAYLOAD_BYTES - len(base)
    at_limit = make_alert(info=make_info(instruction="x" * padding))
    payload = encode_alert(at_limit)
    assert len(payload) == MAX_PAYLOAD_BYTES
    assert decode_alert(payload) == at_limit
    # Trailing whitespace keeps it valid JSON, so only the size is wrong.
    error = rejection(payload + b" ")
    assert error.reason == "oversize"
    assert (
        error.detail
        == f"payload: expected at most {MAX_PAYLOAD_BYTES} bytes, got {MAX_PAYLOAD_BYTES + 1}"
    )


def test_encoding_past_the_limit_is_refused() -> None:
    with pytest.raises(MessageError) as caught:
        encode_alert(make_alert(info=make_info(instruction="x" * MAX_PAYLOAD_BYTES)))
    assert caught.value.reason == "oversize"


@pytest.mark.parametrize(
    "payload", [b"\xff", b'{"identifier":"\xc3"}', b"\xed\xa0\x80", b'{"a":"\xc0\xaf"}']
)
def test_invalid_utf8_is_not_utf8(payload: bytes) -> None:
    assert rejection(payload).reason == "not_utf8"


def test_invalid_byte_inside_a_valid_alert_is_located() -> None:
    payload = encode_alert(make_alert())
    offset = payload.index(b"Leave")
    error = rejection(payload[:offset] + b"\xfe" + payload[offset:])
    assert error.reason == "not_utf8"
    assert error.detail == f"payload: expected UTF-8, got byte 0xfe at offset {offset}"


@pytest.mark.parametrize("cut", [1, 2, 10, 100])
def test_truncated_json_is_not_json(cut: int) -> None:
    payload = encode_alert(make_alert())
    assert rejection(payload[:-cut]).reason == "not_json"


@pytest.mark.parametrize(
    "payload",
    [
        b"{",
        b"nul",
        b"{'identifier': 'x'}",
        b'{"identifier": NaN}',
        b"[Infinity]",
        b"\xef\xbb\xbf{}",
        b"1" * 5000,
    ],
)
def test_malformed_or_non_standard_json_is_not_json(payload: bytes) -> None:
    assert rejection(payload).reason == "not_json"


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b"[" * 10_000,
        b"[" * (MAX_NESTING_DEPTH + 1) + b"]" * (MAX_NESTING_DEPTH + 1),
    ],
)
def test_deep_nesting_is_too_deep(payload: bytes) -> None:
    assert rejection(payload).reason == "too_deep"


def test_nesting_at_the_limit_is_judged_by_its_schema() -> None:
    payload = b"[" * MAX_NESTING_DEPTH + b"]" * MAX_NESTING_DEPTH
    assert rejection(payload).reason == "schema"


@pytest.mark.parametrize(
    ("edit", "detail"),
    [
        (
            lambda d: d["info"].update(severity="Huge"),
            "info.severity: expected one of Extreme, Severe, Moderate, Minor, Unknown, got 'Huge'",
        ),
        (lambda d: d["info"].update(severity=5), "info.severity: expected one of"),
        (lambda d: d.update(identifier=7), "identifier: expected a string, got 7"),
        (
            lambda d: d.update(msgType="alert"),
            "msgType: expected one of Alert, Update, Cancel, Ack, Error",
        ),
        (
            lambda d: d["info"]["area"].update(districts="500101"),
            "info.area.districts: expected an array",
        ),
        (
            lambda d: d["info"]["area"]["districts"].append(500102),
            "info.area.districts[1]: expected a string, got",
        ),
        (
            lambda d: d.update(sent=1753000000),
            "sent: expected an ISO 8601 date-time string, got 1753000000",
        ),
        (
            lambda d: d.update(sent="2025-07-20T08:00:00"),
            "sent: expected a date-time with a UTC offset",
        ),
        (
            lambda d: d.update(sent="yesterday"),
            "sent: expected an ISO 8601 date-time string, got 'yesterday'",
        ),
        (
            lambda d: d.update(sent="0001-01-01T00:00:00+08:00"),
            "sent: expected a time representable in UTC",
        ),
        (lambda d: d.pop("info"), "info: expected a value, got nothing (field missing)"),
        (lambda d: d["info"].pop("event"), "info.event: expected a value, got nothing"),
        (
            lambda d: d.update(colour="red"),
            "colour: expected only the fields identifier, sender, sent,",
        ),
        (
            lambda d: d["info"]["area"].update(colour="red"),
            "info.area.colour: expected only the fields areaDesc,",
        ),
        (lambda d: d.update(msg_type=d.pop("msgType")), "msgType: expected a value, got nothing"),
        (
            lambda d: d.update(identifier="cq/1"),
            "identifier: expected 1-64 characters of A-Z a-z 0-9 _ . -",
        ),
        (lambda d: d.update(identifier="cq+1"), "identifier: expected 1-64 characters"),
        (lambda d: d.update(identifier="cq#1"), "identifier: expected 1-64 characters"),
        (lambda d: d.update(identifier="cq\x001"), "identifier: expected 1-64 characters"),
        (lambda d: d.update(identifier=""), "identifier: expected 1-64 characters"),
        (lambda d: d.update(identifier="cq\u0430"), "CYRILLIC SMALL LETTER A"),
        (
            lambda d: d.update(identifier="x" * 129),
            "identifier: expected 1-64 characters of A-Z a-z 0-9 _ . -, got 129",
        ),
        (
            lambda d: d.update(sender="cq gov"),
            "sender: expected a non-empty sender without spaces, commas, < or &",
        ),
        (lambda d: d.update(sender="a,b"), "sender: expected a non-empty sender"),
        (lambda d: d.update(sender=""), "sender: expected a non-empty sender"),
        (
            lambda d: d.update(msgType="Cancel"),
            "references: expected the earlier messages",
        ),
        (
            lambda d: d.update(
                references=[{"sender": "s", "identifier": d["identifier"], "sent": d["sent"]}]
            ),
            "references: expected earlier alerts",
        ),
        (lambda d: d["info"].update(expires=d["sent"]), "info: expected expires after sent"),
        (lambda d: d["info"].update(event="  "), "info.event: expected non-blank text"),
        (
            lambda d: d["info"].update(warningLevel="purple"),
            "info.warningLevel: expected one of blue, yellow, orange, red",
        ),
        (
            lambda d: d["info"]["area"].update(districts=["500101", "500102"]),
            "info.area.towns: expected a town of every district when towns are named, got none "
            "of 500102",
        ),
        (
            lambda d: d["info"]["area"].update(
                geocodes=[{"valueName": "CPEAS Geographic Code", "value": "500101000000"}]
            ),
            "info.area.geocodes: expected district and town codes in districts and towns",
        ),
        (
            lambda d: d["info"].update(
                parameter=[{"valueName": "alertsim:warningLevel", "value": "red"}]
            ),
            "info.parameter: expected the warning level in warningLevel",
        ),
        (lambda d: d["info"].update(language="zh_CN"), "info.language: expected an RFC 3066"),
        (lambda d: d["info"].update(category=[]), "info.category: expected at least 1 item"),
        (lambda d: d.update(addresses=['a"b']), "addresses[0]: expected non-blank text"),
        (
            lambda d: d["info"]["area"].update(districts=["50010"]),
            "info.area.districts[0]: expected 6 ASCII digits",
        ),
        (
            lambda d: d["info"]["area"].update(districts=["５00101"]),
            "info.area.districts[0]: expected 6 ASCII digits",
        ),
        (
            lambda d: d["info"]["area"].update(towns=["500102001"]),
            "info.area.towns: expected towns of the area's districts (500101), got '500102001'",
        ),
        (
            lambda d: d["info"]["area"].update(towns=["500101001", "500101001"]),
            "info.area.towns: expected each code once",
        ),
        (
            lambda d: d["info"]["area"].update(polygons=[[[29, 108]] * 3]),
            "info.area.polygons[0]: expected at least 4",
        ),
        (
            lambda d: d["info"]["area"].update(
                polygons=[[[29, 108], [29, 109], [30, 109], [30, 108]]]
            ),
            "expected the last point to repeat the first",
        ),
        (
            lambda d: d["info"]["area"].update(
                polygons=[[[108, 29], [108, 30], [109, 30], [108, 29]]]
            ),
            "expected latitude in [-90, 90]",
        ),
        (
            lambda d: d["info"]["area"].update(polygons=[[[29, "108"]] * 4]),
            "info.area.polygons[0][0][1]: expected a number, got '108'",
        ),
    ],
)
def test_schema_violations_name_the_field_the_value_and_the_expectation(
    edit: Any, detail: str
) -> None:
    error = rejection(edited(VALID, edit))
    assert error.reason == "schema"
    assert error.detail.startswith(detail) or detail in error.detail, error.detail


@pytest.mark.parametrize("payload", [b"[1]", b"1", b'"alert"', b"null", b"true"])
def test_a_payload_that_is_not_an_object_is_a_schema_error(payload: bytes) -> None:
    error = rejection(payload)
    assert error.reason == "schema"
    assert error.detail.startswith("payload: expected a JSON object, got")


def test_duplicate_fields_are_refused_rather_than_one_silently_winning() -> None:
    payload = VALID[:-1] + b',"identifier":"other"}'
    error = rejection(payload)
    assert (error.reason, error.detail) == (
        "schema",
        "payload: expected each field once, got 'identifier' twice",
    )


def test_large_number_becoming_infinity_is_a_schema_error() -> None:
    payload = edited(VALID, lambda d: d["info"]["area"].update(polygons=[[[29, 108]] * 4])).replace(
        b"[29, 108]", b"[1e999, 108]", 1
    )
    error = rejection(payload)
    assert error.reason == "schema"
    assert error.detail.startswith("info.area.polygons[0][0][0]: expected a finite number")


def test_several_problems_report_the_first_and_count_the_rest() -> None:
    payload = edited(VALID, lambda d: d.update(status="Real", scope="Everyone", identifier="a b"))
    assert rejection(payload).detail.endswith("(and 2 more)")


def test_ack_decoding_rejects_bad_channel_reserved_recipient_and_long_note() -> None:
    ack = encode_ack(make_ack())
    for edit, detail in [
        (
            lambda d: d.update(channel="fax"),
            "channel: expected one of app_push, sms, voice_call, area_terminal, door_knock, "
            "got 'fax'",
        ),
        (
            lambda d: d.update(recipientId="all"),
            "recipientId: expected an id other than the reserved words",
        ),
        (lambda d: d.update(note="x" * 281), "note: expected at most 280 characters, got 281"),
        (
            lambda d: d.update(status="seen"),
            "status: expected one of received, read, acknowledged, got 'seen'",
        ),
        (lambda d: d.pop("alertId"), "alertId: expected a value"),
    ]:
        with pytest.raises(MessageError) as caught:
            decode_ack(edited(ack, edit))
        assert caught.value.reason == "schema"
        assert caught.value.detail.startswith(detail), caught.value.detail
    assert decode_ack(edited(ack, lambda d: d.update(note="x" * 280))).note == "x" * 280


def test_an_ack_is_not_an_alert() -> None:
    assert rejection(encode_ack(make_ack())).reason == "schema"


def test_str_of_the_error_leads_with_its_reason() -> None:
    assert str(rejection(b"")) == "empty: payload: expected a JSON object, got 0 bytes"
