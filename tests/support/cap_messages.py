"""CAP message factories and Hypothesis strategies shared by the message and codec tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import strategies as st

from dispatcher.wire.capvocab import Category, Circle, NamedValue, Reference, Resource, ResponseType
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
# What XML 1.0 can hold: no C0 controls but tab, newline and carriage return, no U+FFFE/U+FFFF.
xml_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters="\ufffe\uffff")
    | st.sampled_from("\t\n\r"),
    max_size=40,
)
aware_times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))]),
)
# CAP XML times are whole seconds.
whole_second_times = aware_times.map(lambda moment: moment.replace(microsecond=0))
floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
lats = st.floats(-90, 90, allow_nan=False, allow_infinity=False)
lons = st.floats(-180, 180, allow_nan=False, allow_infinity=False)
words = st.text(ID_ALPHABET + "@:/", min_size=1, max_size=20)
urls = words.map(lambda path: f"https://example.org/{path}")
digits = "0123456789"


def _make(model: Any) -> Any:
    """A constructor by field name (builds() would read the models' camelCase aliases)."""
    return lambda **fields: model(**fields)  # noqa: PLW0108


def named_values(values: st.SearchStrategy[str]) -> st.SearchStrategy[NamedValue]:
    return st.builds(_make(NamedValue), value_name=values, value=values)


@st.composite
def areas(draw: st.DrawFn, xml: bool = False) -> Area:
    words_of = xml_text if xml else text
    districts = draw(
        st.lists(st.text(digits, min_size=6, max_size=6), min_size=0, max_size=3, unique=True)
    )
    towns: list[str] = []
    if districts and draw(st.booleans()):
        for district in districts:  # every district gets a town when towns are named
            suffixes = draw(
                st.lists(
                    st.text(digits, min_size=3, max_size=3), min_size=1, max_size=1, unique=True
                )
            )
            towns += [district + suffix for suffix in suffixes]
    rings = draw(st.lists(st.lists(st.tuples(lats, lons), min_size=3, max_size=4), max_size=1))
    altitude = draw(st.none() | floats)
    return Area(
        area_desc=draw(words_of.filter(str.strip)),
        districts=districts,
        towns=towns,
        polygons=[(*ring, ring[0]) for ring in rings],
        circles=draw(
            st.lists(
                st.builds(
                    _make(Circle), latitude=lats, longitude=lons, radius_km=st.floats(0, 1e4)
                ),
                max_size=1,
            )
        ),
        geocodes=draw(st.lists(named_values(words), max_size=1)),
        altitude=altitude,
        ceiling=None if altitude is None else draw(st.none() | st.just(altitude + 10.0)),
    )


@st.composite
def infos(draw: st.DrawFn, sent: datetime, xml: bool = False) -> Info:
    words_of = xml_text if xml else text
    times = whole_second_times if xml else aware_times
    return Info(
        language=draw(st.sampled_from(["en-US", "zh-CN", "es-US"])),
        category=draw(st.lists(st.sampled_from(Category), min_size=1, max_size=2)),
        event=draw(words_of.filter(str.strip)),
        response_type=draw(st.lists(st.sampled_from(ResponseType), max_size=1)),
        urgency=draw(st.sampled_from(Urgency)),
        severity=draw(st.sampled_from(Severity)),
        certainty=draw(st.sampled_from(Certainty)),
        audience=draw(words_of),
        event_code=draw(st.lists(named_values(words), max_size=1)),
        effective=draw(st.none() | times),
        onset=draw(st.none() | times),
        expires=draw(
            st.none()
            | st.timedeltas(timedelta(seconds=1), timedelta(days=30)).map(
                lambda delta: sent + timedelta(seconds=int(delta.total_seconds()))
            )
        ),
        sender_name=draw(words_of),
        headline=draw(words_of),
        description=draw(words_of),
        instruction=draw(words_of),
        web=draw(st.just("") | urls),
        contact=draw(words_of),
        parameter=draw(st.lists(named_values(words), max_size=1)),
        warning_level=draw(st.sampled_from([None, "blue", "yellow", "orange", "red"])),
        resource=draw(
            st.lists(
                st.builds(
                    _make(Resource),
                    resource_desc=words,
                    mime_type=words,
                    size=st.none() | st.integers(0, 10**9),
                    uri=urls,
                    digest=words,
                ),
                max_size=1,
            )
        ),
        area=draw(areas(xml)),
        more_areas=draw(st.lists(areas(xml), max_size=1)),
    )


@st.composite
def alerts(draw: st.DrawFn, xml: bool = False) -> Alert:
    sent = draw(whole_second_times if xml else aware_times)
    msg_type = draw(st.sampled_from(MsgType))
    identifier = draw(alert_ids)
    references = draw(
        st.lists(
            st.builds(
                _make(Reference),
                sender=words,
                identifier=alert_ids.filter(lambda ref: ref != identifier),
                sent=whole_second_times,
            ),
            min_size=msg_type != MsgType.ALERT,
            max_size=3,
        )
    )
    tokens = st.lists(words | words.map(lambda word: f"{word} {word}"), max_size=3)
    return Alert(
        identifier=identifier,
        sender=draw(st.text(ID_ALPHABET + "@:", min_size=1, max_size=30)),
        sent=sent,
        status=draw(st.sampled_from(Status)),
        msg_type=msg_type,
        source=draw(xml_text if xml else text),
        scope=draw(st.sampled_from(Scope)),
        restriction=draw(xml_text if xml else text),
        addresses=draw(tokens),
        code=draw(st.lists(words, max_size=1)),
        note=draw(xml_text if xml else text),
        references=references,
        incidents=draw(tokens),
        info=draw(infos(sent, xml)),
        more_info=draw(st.lists(infos(sent, xml), max_size=1)),
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


# --- a CMA-style warning's life for a Chongqing district (Yubei, 500112) -------------------------

CMA_SENDER = "cq-yubei-met"


def _cma_info(
    language: str, headline: str, level: str, severity: str, towns: tuple[str, ...]
) -> str:
    urgency, response = ("Past", "AllClear") if severity == "Minor" else ("Immediate", "Evacuate")
    geocodes = "".join(
        f"<geocode><valueName>CPEAS Geographic Code</valueName><value>{town}000</value></geocode>"
        for town in towns
    )
    zh = language == "zh-CN"
    event, area = ("暴雨", "渝北区") if zh else ("Rainstorm", "Yubei")
    observatory = "渝北区气象台" if zh else "Yubei Meteorological Observatory"
    return (
        f"<info><language>{language}</language><category>Met</category><event>{event}</event>"
        f"<responseType>{response}</responseType><urgency>{urgency}</urgency>"
        f"<severity>{severity}</severity><certainty>Likely</certainty>"
        "<expires>2025-07-20T14:00:00+08:00</expires>"
        f"<senderName>{observatory}</senderName><headline>{headline}</headline>"
        "<parameter><valueName>alertsim:warningLevel</valueName>"
        f"<value>{level}</value></parameter>"
        f"<area><areaDesc>{area}</areaDesc>{geocodes}</area></info>"
    )


def cma_message(
    number: int,
    msg_type: str,
    sent: str,
    level: str,
    towns: tuple[str, ...],
    references: tuple[tuple[int, str], ...] = (),
) -> bytes:
    """The ``number``-th message of a Yubei rainstorm warning as the CMA system sends it: a
    zh-CN and an en-US info block, 12-digit CPEAS geocodes, references to earlier numbers."""
    cancel = msg_type == "Cancel"
    severity = "Minor" if cancel else {"red": "Extreme", "orange": "Severe"}.get(level, "Moderate")
    colour = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}[level]
    zh = f"解除渝北区暴雨{colour}预警" if cancel else f"渝北区暴雨{colour}预警"
    en = f"Rainstorm warning for Yubei {'cancelled' if cancel else 'at ' + level}"
    refs = " ".join(f"{CMA_SENDER},cq-500112-20250720-rainstorm-{n},{at}" for n, at in references)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        f"<identifier>cq-500112-20250720-rainstorm-{number}</identifier>"
        f"<sender>{CMA_SENDER}</sender><sent>{sent}</sent><status>Exercise</status>"
        f"<msgType>{msg_type}</msgType><scope>Public</scope>"
        + (f"<references>{refs}</references>" if refs else "")
        + _cma_info("zh-CN", zh, level, severity, towns)
        + _cma_info("en-US", en, level, severity, towns)
        + "</alert>"
    ).encode()


CMA_ALERT_SENT = "2025-07-20T08:00:00+08:00"
CMA_UPDATE_SENT = "2025-07-20T08:30:00+08:00"
CMA_TOWNS = ("500112001", "500112002")


def cma_episode() -> tuple[bytes, bytes, bytes]:
    """An orange Alert for two Yubei towns, a red Update 30 min later adding a third, and the
    Cancel of the episode 4 h after the alert."""
    return (
        cma_message(1, "Alert", CMA_ALERT_SENT, "orange", CMA_TOWNS),
        cma_message(
            2, "Update", CMA_UPDATE_SENT, "red", (*CMA_TOWNS, "500112003"), ((1, CMA_ALERT_SENT),)
        ),
        cma_message(
            3,
            "Cancel",
            "2025-07-20T12:00:00+08:00",
            "red",
            (*CMA_TOWNS, "500112003"),
            ((1, CMA_ALERT_SENT), (2, CMA_UPDATE_SENT)),
        ),
    )
