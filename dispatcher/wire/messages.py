"""CAP 1.2-shaped alert and acknowledgement messages, and their JSON wire codec.

The models follow the vocabulary of OASIS CAP 1.2 (status, msgType, scope, urgency, severity,
certainty, areaDesc, ...) with three simplifications: one ``info`` per alert, an area named by
division codes (6-digit districts, 9-digit towns) with an optional polygon, and ``references`` that
list identifiers only. Identifiers and recipient ids obey :func:`dispatcher.wire.topics.validate_id`
because they fill topic levels; that is stricter than CAP (64 rather than 128 characters of
``A-Z a-z 0-9 _ . -``), so every valid alert can be acknowledged on its ack topic.

Wire format: compact UTF-8 JSON with CAP's camelCase names (``msgType``, ``areaDesc``, ``alertId``).
Times are normalised to UTC when a model is built, so equal models encode to equal bytes.
Decoding never raises anything but :class:`MessageError`, whose ``reason`` is one of
:data:`MESSAGE_ERROR_REASONS` so that a receiver can count rejected payloads by cause.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Final, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from dispatcher.errors import AlertsimError
from dispatcher.wire.codec import (
    DuplicateKeyError,
    json_problem,
    loads_strict,
    schema_detail,
    too_deep_at,
)
from dispatcher.wire.topics import IdKind, id_problem

__all__ = [
    "MAX_NESTING_DEPTH",
    "MAX_PAYLOAD_BYTES",
    "MESSAGE_ERROR_REASONS",
    "Ack",
    "AckStatus",
    "Alert",
    "Area",
    "Certainty",
    "Channel",
    "Info",
    "MessageError",
    "MessageErrorReason",
    "MsgType",
    "Scope",
    "Severity",
    "Status",
    "Urgency",
    "WarningLevel",
    "decode_ack",
    "decode_alert",
    "encode_ack",
    "encode_alert",
    "severity_for_level",
    "urgency_for_level",
]

MAX_PAYLOAD_BYTES: Final = 64 * 1024
# A valid alert nests 5 deep (alert, info, area, polygon, point); 32 leaves room to grow while
# keeping any parser far from its recursion limit.
MAX_NESTING_DEPTH: Final = 32
ACK_NOTE_MAX_CHARS: Final = 280

MessageErrorReason = Literal["empty", "oversize", "not_utf8", "not_json", "too_deep", "schema"]
MESSAGE_ERROR_REASONS: Final[tuple[MessageErrorReason, ...]] = get_args(MessageErrorReason)

WarningLevel = Literal["blue", "yellow", "orange", "red"]
Channel = Literal["app_push", "sms", "voice_call", "area_terminal", "door_knock"]
AckStatus = Literal["received", "read", "acknowledged"]


class MessageError(AlertsimError, ValueError):
    """A payload that cannot be decoded (or encoded) as a message; ``reason`` is a fixed set."""

    def __init__(self, reason: MessageErrorReason, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason: MessageErrorReason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


class Status(StrEnum):
    """CAP status: who the alert is meant for."""

    ACTUAL = "Actual"
    EXERCISE = "Exercise"
    SYSTEM = "System"
    TEST = "Test"
    DRAFT = "Draft"


class MsgType(StrEnum):
    """CAP msgType: what the message does."""

    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"
    ACK = "Ack"
    ERROR = "Error"


class Scope(StrEnum):
    """CAP scope: how widely the alert may be distributed."""

    PUBLIC = "Public"
    RESTRICTED = "Restricted"
    PRIVATE = "Private"


class Urgency(StrEnum):
    """CAP urgency: how soon responsive action should be taken."""

    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"
    PAST = "Past"
    UNKNOWN = "Unknown"


class Severity(StrEnum):
    """CAP severity: how bad the threat to life or property is."""

    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"
    UNKNOWN = "Unknown"


class Certainty(StrEnum):
    """CAP certainty: how sure the sender is of the event."""

    OBSERVED = "Observed"
    LIKELY = "Likely"
    POSSIBLE = "Possible"
    UNLIKELY = "Unlikely"
    UNKNOWN = "Unknown"


_SEVERITY_BY_LEVEL: Final[dict[WarningLevel, Severity]] = {
    "red": Severity.EXTREME,
    "orange": Severity.SEVERE,
    "yellow": Severity.MODERATE,
    "blue": Severity.MINOR,
}


def severity_for_level(level: WarningLevel) -> Severity:
    """CAP severity of a national warning level (red is the highest)."""
    return _SEVERITY_BY_LEVEL[level]


def urgency_for_level(level: WarningLevel) -> Urgency:
    """CAP urgency of a national warning level: act now at orange and red."""
    if level not in _SEVERITY_BY_LEVEL:
        raise ValueError(f"warning level: expected blue, yellow, orange or red, got {level!r}")
    return Urgency.IMMEDIATE if level in ("red", "orange") else Urgency.EXPECTED


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # Raised as ValueError so that pydantic reports it as a schema error, not a crash.
        raise ValueError(f"expected a time representable in UTC, got {value.isoformat()}") from None


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"expected text encodable as UTF-8, got a lone surrogate at index {exc.start}"
        ) from None
    return value


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(f"expected non-blank text, got {value!r}")
    return value


def _id_of(kind: IdKind) -> AfterValidator:
    def check(value: str) -> str:
        problem = id_problem(kind, value)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


_CAP_FORBIDDEN_RE: Final = re.compile(r"[\s,<&]|[^\x20-\U0010ffff]")


def _cap_sender(value: str) -> str:
    found = _CAP_FORBIDDEN_RE.search(value)
    if value == "" or found is not None:
        got = (
            repr(value)
            if found is None
            else f"{value!r} ({found.group()!r} at index {found.start()})"
        )
        raise ValueError(f"expected a non-empty sender without spaces, commas, < or &, got {got}")
    return value


UtcDatetime = Annotated[
    AwareDatetime,
    AfterValidator(_utc),
    # isoformat keeps "+00:00" (CAP forbids the "Z" designator) and microseconds when present.
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
]
Text = Annotated[str, AfterValidator(_encodable)]
RequiredText = Annotated[str, AfterValidator(_encodable), AfterValidator(_non_blank)]
AlertId = Annotated[str, _id_of("alert_id")]
RecipientId = Annotated[str, _id_of("recipient_id")]
DistrictCode = Annotated[str, _id_of("district")]
TownCode = Annotated[str, _id_of("town")]
Sender = Annotated[str, AfterValidator(_encodable), AfterValidator(_cap_sender)]


class _Message(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        allow_inf_nan=False,
    )


class Area(_Message):
    """Where an alert applies: districts, optionally narrowed to towns, optionally a polygon."""

    area_desc: RequiredText
    districts: tuple[DistrictCode, ...] = Field(min_length=1)
    towns: tuple[TownCode, ...] = ()
    # CAP order: (latitude, longitude) in WGS 84, at least 4 points, first == last.
    polygon: tuple[tuple[float, float], ...] | None = None

    @field_validator("districts", "towns")
    @classmethod
    def _unique(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for code in codes:
            if code in seen:
                raise ValueError(f"expected each code once, got {code!r} twice")
            seen.add(code)
        return codes

    @field_validator("towns")
    @classmethod
    def _towns_in_districts(cls, towns: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        districts: tuple[str, ...] | None = info.data.get("districts")
        if districts is None:  # districts already failed; its own error says why
            return towns
        for town in towns:
            if town[:6] not in districts:
                raise ValueError(
                    f"expected towns of the area's districts ({', '.join(districts)}), "
                    f"got {town!r} of district {town[:6]}"
                )
        return towns

    @field_validator("polygon")
    @classmethod
    def _closed_ring(
        cls, polygon: tuple[tuple[float, float], ...] | None
    ) -> tuple[tuple[float, float], ...] | None:
        if polygon is None:
            return None
        if len(polygon) < 4:
            raise ValueError(f"expected at least 4 (lat, lon) points, got {len(polygon)}")
        if polygon[0] != polygon[-1]:
            raise ValueError(
                f"expected the last point to repeat the first {polygon[0]}, got {polygon[-1]}"
            )
        for index, (lat, lon) in enumerate(polygon):
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
                raise ValueError(
                    f"expected latitude in [-90, 90] and longitude in [-180, 180], "
                    f"got ({lat}, {lon}) at index {index}"
                )
        return polygon


class Info(_Message):
    """What the alert is about and what to do."""

    event: RequiredText
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    headline: Text
    instruction: Text
    expires: UtcDatetime
    warning_level: WarningLevel | None = None
    area: Area


class Alert(_Message):
    """A CAP 1.2-shaped alert message with a single info block."""

    identifier: AlertId
    sender: Sender
    sent: UtcDatetime
    status: Status
    msg_type: MsgType
    scope: Scope
    references: tuple[AlertId, ...] = ()
    info: Info

    @field_validator("references")
    @classmethod
    def _references_fit_msg_type(
        cls, references: tuple[str, ...], info: ValidationInfo
    ) -> tuple[str, ...]:
        msg_type = info.data.get("msg_type")
        if msg_type is not None and msg_type != MsgType.ALERT and not references:
            raise ValueError(
                f"expected the identifiers of earlier alerts for msgType {msg_type}, got none"
            )
        identifier = info.data.get("identifier")
        if identifier is not None and identifier in references:
            raise ValueError(
                f"expected earlier alerts, got the alert's own identifier {identifier!r}"
            )
        return references

    @field_validator("info")
    @classmethod
    def _expires_after_sent(cls, body: Info, info: ValidationInfo) -> Info:
        sent: datetime | None = info.data.get("sent")
        if sent is not None and body.expires <= sent:
            raise ValueError(
                f"expected expires after sent ({sent.isoformat()}), got {body.expires.isoformat()}"
            )
        return body


class Ack(_Message):
    """A recipient's acknowledgement of an alert, sent on its ack topic."""

    alert_id: AlertId
    recipient_id: RecipientId
    sent: UtcDatetime
    channel: Channel
    status: AckStatus = "acknowledged"
    note: Text = Field(default="", max_length=ACK_NOTE_MAX_CHARS)


def encode_alert(alert: Alert) -> bytes:
    """Compact, deterministic UTF-8 JSON of an alert; MessageError "oversize" past the limit."""
    return _encode(alert)


def encode_ack(ack: Ack) -> bytes:
    """Compact, deterministic UTF-8 JSON of an acknowledgement."""
    return _encode(ack)


def decode_alert(payload: bytes) -> Alert:
    """Decode an alert; raise MessageError, and only MessageError, for any bad payload."""
    return _decode(payload, Alert)


def decode_ack(payload: bytes) -> Ack:
    """Decode an acknowledgement; raise MessageError, and only MessageError, for any bad payload."""
    return _decode(payload, Ack)


def _encode(message: _Message) -> bytes:
    payload = message.model_dump_json(by_alias=True).encode("utf-8")
    if len(payload) > MAX_PAYLOAD_BYTES:
        # Refuse to send what every receiver would reject.
        raise MessageError(
            "oversize",
            f"{type(message).__name__.lower()}: expected at most {MAX_PAYLOAD_BYTES} bytes "
            f"encoded, got {len(payload)}",
        )
    return payload


_M = TypeVar("_M", bound=_Message)


def _decode(payload: bytes, model: type[_M]) -> _M:
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError(f"payload: expected bytes, got {type(payload).__name__}")
    size_bytes = len(payload)
    if size_bytes == 0:
        raise MessageError("empty", "payload: expected a JSON object, got 0 bytes")
    if size_bytes > MAX_PAYLOAD_BYTES:
        raise MessageError(
            "oversize", f"payload: expected at most {MAX_PAYLOAD_BYTES} bytes, got {size_bytes}"
        )
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = bytes(payload)[exc.start]
        raise MessageError(
            "not_utf8", f"payload: expected UTF-8, got byte 0x{bad:02x} at offset {exc.start}"
        ) from None
    offset = too_deep_at(text, MAX_NESTING_DEPTH)
    if offset is not None:
        raise MessageError(
            "too_deep",
            f"payload: expected JSON nested at most {MAX_NESTING_DEPTH} deep, "
            f"got deeper than that at offset {offset}",
        )
    try:
        loads_strict(text)
    except DuplicateKeyError as exc:
        raise MessageError(
            "schema", f"payload: expected each field once, got {exc.key!r} twice"
        ) from None
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, NaN/Infinity and ints beyond Python's digit limit.
        raise MessageError("not_json", f"payload: expected JSON, got {json_problem(exc)}") from None
    try:
        return model.model_validate_json(text, strict=True, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise MessageError("schema", schema_detail(exc, model)) from None
