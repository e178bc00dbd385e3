"""CAP message factories and Hypothesis strategies shared by the message and codec tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import strategies as st

from dispatcher.wire.messages import (
    MESSAGE_ERROR_REASONS,
    Ack,
    Alert,
    Area,
    Certainty,
    Info,
    MessageError,
    MsgType,
    Scope,
    Severity,
    Status,
    Urgency,
    decode_alert,
    encode_alert,
)

SENT = datetime(2025, 7, 20, 8, 0, tzinfo=UTC)


def make_area(**overrides: Any) -> Area:
    fields: dict[str, Any] = {
        "area_desc": "Wanzhou, Gaosun town",
        "districts": ("500101",),
        "towns": ("500101001",),
    }
    return Area(**(fields | overrides))


def make_info(**overrides: Any) -> Info:
    fields: dict[str, Any] = {
        "event": "Rainstorm",
        "urgency": Urgency.IMMEDIATE,
        "severity": Severity.EXTREME,
        "certainty": Certainty.OBSERVED,
        "headline": "红色暴雨预警",
        "instruction": "Leave low ground now.",
        "expires": SENT + timedelta(hours=6),
        "warning_level": "red",
        "area": make_area(),
    }
    return Info(**(fields | overrides))


def make_alert(**overrides: Any) -> Alert:
    fields: dict[str, Any] = {
        "identifier": "cq-2025.07.20-0001",
        "sender": "municipal@cq.gov.cn",
        "sent": SENT,
        "status": Status.ACTUAL,
        "msg_type": MsgType.ALERT,
        "scope": Scope.PUBLIC,
        "info": make_info(),
    }
    return Alert(**(fields | overrides))


def make_ack(**overrides: Any) -> Ack:
    fields: dict[str, Any] = {
        "alert_id": "cq-2025.07.20-0001",
        "recipient_id": "m-000042",
        "sent": SENT + timedelta(seconds=73, microseconds=250_000),
        "channel": "app_push",
    }
    return Ack(**(fields | overrides))


def edited(message: bytes, edit: Any) -> bytes:
    """The payload with one edit applied to its parsed JSON (edit mutates the dict)."""
    document = json.loads(message)
    edit(document)
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def rejection(payload: bytes) -> MessageError:
    with pytest.raises(MessageError) as caught:
        decode_alert(payload)
    assert caught.value.reason in MESSAGE_ERROR_REASONS
    return caught.value


# --- strategies ----------------------------------------------------------------------------------

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
alert_ids = st.text(ID_ALPHABET, min_size=1, max_size=64)
text = st.text(st.characters(codec="utf-8"), max_size=40)
aware_times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))]),
)


@st.composite
def areas(draw: st.DrawFn) -> Area:
    districts = draw(
        st.lists(st.text("0123456789", min_size=6, max_size=6), min_size=1, max_size=3, unique=True)
    )
    towns = draw(
        st.lists(
            st.tuples(
                st.sampled_from(districts), st.text("0123456789", min_size=3, max_size=3)
            ).map("".join),
            max_size=4,
            unique=True,
        )
    )
    polygon = None
    if draw(st.booleans()):
        points = draw(
            st.lists(
                st.tuples(
                    st.floats(-90, 90, allow_nan=False, allow_infinity=False),
                    st.floats(-180, 180, allow_nan=False, allow_infinity=False),
                ),
                min_size=3,
                max_size=6,
            )
        )
        polygon = (*points, points[0])
    area_desc = draw(text.filter(str.strip))
    return Area(area_desc=area_desc, districts=districts, towns=towns, polygon=polygon)


@st.composite
def alerts(draw: st.DrawFn) -> Alert:
    sent = draw(aware_times)
    msg_type = draw(st.sampled_from(MsgType))
    identifier = draw(alert_ids)
    references = draw(
        st.lists(
            alert_ids.filter(lambda ref: ref != identifier),
            min_size=msg_type != MsgType.ALERT,
            max_size=3,
        )
    )
    info = Info(
        event=draw(text.filter(str.strip)),
        urgency=draw(st.sampled_from(Urgency)),
        severity=draw(st.sampled_from(Severity)),
        certainty=draw(st.sampled_from(Certainty)),
        headline=draw(text),
        instruction=draw(text),
        expires=sent + draw(st.timedeltas(timedelta(microseconds=1), timedelta(days=30))),
        warning_level=draw(st.sampled_from([None, "blue", "yellow", "orange", "red"])),
        area=draw(areas()),
    )
    return Alert(
        identifier=identifier,
        sender=draw(st.text(ID_ALPHABET + "@:", min_size=1, max_size=30)),
        sent=sent,
        status=draw(st.sampled_from(Status)),
        msg_type=msg_type,
        scope=draw(st.sampled_from(Scope)),
        references=references,
        info=info,
    )


acks = st.fixed_dictionaries(
    {
        "alert_id": alert_ids,
        "recipient_id": alert_ids.filter(lambda value: value not in ("all", "center")),
        "sent": aware_times,
        "channel": st.sampled_from(
            ["app_push", "sms", "voice_call", "area_terminal", "door_knock"]
        ),
        "status": st.sampled_from(["received", "read", "acknowledged"]),
        "note": st.text(st.characters(codec="utf-8"), max_size=280),
    }
).map(lambda fields: Ack(**fields))


# A valid alert's bytes, the starting point of edits and mutations.
VALID = encode_alert(make_alert())
