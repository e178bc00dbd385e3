"""CAP 1.2 alert and acknowledgement messages, and their JSON wire codec.

The alert model holds the whole OASIS CAP 1.2 vocabulary (see :mod:`dispatcher.wire.capvocab`);
:mod:`dispatcher.wire.capxml` reads and writes it as CAP XML, and this module as compact JSON, a
faithful mapping of the XML (docs/wire-protocol.md). alertsim's own reading of an area: division
codes (6-digit districts, 9-digit towns; CPEAS geocodes in XML), kept sorted so that equal areas
are equal models. Identifiers and recipient ids obey :func:`dispatcher.wire.topics.validate_id`
because they fill topic levels; that is stricter than CAP (64 rather than 128 characters of
``A-Z a-z 0-9 _ . -``), so every valid alert can be acknowledged on its ack topic.

Wire format: compact UTF-8 JSON with CAP's camelCase names (``msgType``, ``areaDesc``, ``alertId``).
Times are normalised to UTC when a model is built, so equal models encode to equal bytes.
Decoding never raises anything but :class:`MessageError`, whose ``reason`` is one of
:data:`MESSAGE_ERROR_REASONS` so that a receiver can count rejected payloads by cause.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal, TypeVar, get_args

from pydantic import AfterValidator, Field, ValidationError, ValidationInfo, field_validator

from dispatcher.errors import AlertsimError
from dispatcher.wire.capvocab import (
    WARNING_LEVEL_PARAMETER,
    Category,
    Certainty,
    Circle,
    DelimitedToken,
    Language,
    MsgType,
    NamedValue,
    Polygon,
    Reference,
    RequiredText,
    Resource,
    ResponseType,
    Scope,
    Sender,
    Severity,
    Status,
    Text,
    Urgency,
    UtcDatetime,
    WireModel,
)
from dispatcher.wire.codec import (
    DuplicateKeyError,
    json_problem,
    loads_strict,
    schema_detail,
    too_deep_at,
)
from dispatcher.wire.topics import IdKind, id_problem

__all__ = [
    "CPEAS_GEOCODE",
    "MAX_NESTING_DEPTH",
    "MAX_PAYLOAD_BYTES",
    "MESSAGE_ERROR_REASONS",
    "Ack",
    "AckStatus",
    "Alert",
    "Area",
    "Category",
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
    "division_of",
    "encode_ack",
    "encode_alert",
    "severity_for_level",
    "urgency_for_level",
]

MAX_PAYLOAD_BYTES: Final = 64 * 1024
# A valid alert nests 6 deep (alert, info, area, polygons, polygon, point); 32 leaves room while
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


def _id_of(kind: IdKind) -> AfterValidator:
    def check(value: str) -> str:
        problem = id_problem(kind, value)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


AlertId = Annotated[str, _id_of("alert_id")]
RecipientId = Annotated[str, _id_of("recipient_id")]
DistrictCode = Annotated[str, _id_of("district")]
TownCode = Annotated[str, _id_of("town")]


# The geocode valueName of China's division codes (12 digits: district, town, village).
CPEAS_GEOCODE: Final = "CPEAS Geographic Code"


class Area(WireModel):
    """Where an alert applies: CAP's areaDesc, polygons, circles, geocodes, altitude and ceiling.

    ``districts`` and ``towns`` are the division codes alertsim targets by (sorted, each once;
    with towns, only those towns of the districts are meant); ``geocodes`` holds every other geocode
    (SAME, FIPS6, CPEAS village codes).
    """

    area_desc: RequiredText
    polygons: tuple[Polygon, ...] = ()
    circles: tuple[Circle, ...] = ()
    geocodes: tuple[NamedValue, ...] = ()
    altitude: float | None = None
    ceiling: float | None = None
    districts: tuple[DistrictCode, ...] = ()
    towns: tuple[TownCode, ...] = ()

    @field_validator("districts", "towns")
    @classmethod
    def _unique_sorted(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for code in codes:
            if code in seen:
                raise ValueError(f"expected each code once, got {code!r} twice")
            seen.add(code)
        return tuple(sorted(codes))

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
        if towns:
            bare = [code for code in districts if not any(t.startswith(code) for t in towns)]
            if bare:
                raise ValueError(
                    f"expected a town of every district when towns are named, got none of "
                    f"{', '.join(bare)}"
                )
        return towns

    @field_validator("geocodes")
    @classmethod
    def _no_division_codes(cls, codes: tuple[NamedValue, ...]) -> tuple[NamedValue, ...]:
        for code in codes:
            if code.value_name == CPEAS_GEOCODE and division_of(code.value) is not None:
                raise ValueError(
                    f"expected district and town codes in districts and towns, got "
                    f"{code.value!r} as a geocode"
                )
        return codes

    @field_validator("ceiling")
    @classmethod
    def _ceiling_over_altitude(cls, ceiling: float | None, info: ValidationInfo) -> float | None:
        altitude: float | None = info.data.get("altitude")
        if ceiling is not None and (altitude is None or ceiling < altitude):
            raise ValueError(f"expected a ceiling with an altitude below it, got {ceiling}")
        return ceiling


def division_of(code: str) -> tuple[str, str] | None:
    """("district", 6 digits) or ("town", 9 digits) of a 6-, 9- or 12-digit division code.

    A 12-digit code names a district when it ends in 000000, a town when it ends in 000; a village
    code, or anything else, gives None.
    """
    if not (code.isascii() and code.isdigit()):
        return None
    if len(code) == 12:
        if code.endswith("000000"):
            return ("district", code[:6])
        return ("town", code[:9]) if code.endswith("000") else None
    if len(code) == 6:
        return ("district", code)
    return ("town", code) if len(code) == 9 else None


class Info(WireModel):
    """What the alert is about and what to do, in one language (CAP's info block)."""

    language: Language = "en-US"
    category: tuple[Category, ...] = Field(default=(Category.MET,), min_length=1)
    event: RequiredText
    response_type: tuple[ResponseType, ...] = ()
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    audience: Text = ""
    event_code: tuple[NamedValue, ...] = ()
    effective: UtcDatetime | None = None
    onset: UtcDatetime | None = None
    expires: UtcDatetime | None = None
    sender_name: Text = ""
    headline: Text = ""
    description: Text = ""
    instruction: Text = ""
    web: Text = ""
    contact: Text = ""
    parameter: tuple[NamedValue, ...] = ()
    # alertsim's national warning level; in XML the parameter WARNING_LEVEL_PARAMETER.
    warning_level: WarningLevel | None = None
    resource: tuple[Resource, ...] = ()
    area: Area
    more_areas: tuple[Area, ...] = ()

    @field_validator("parameter")
    @classmethod
    def _no_level_parameter(cls, parameter: tuple[NamedValue, ...]) -> tuple[NamedValue, ...]:
        if any(item.value_name == WARNING_LEVEL_PARAMETER for item in parameter):
            raise ValueError(
                f"expected the warning level in warningLevel, got a {WARNING_LEVEL_PARAMETER} "
                f"parameter"
            )
        return parameter

    @property
    def areas(self) -> tuple[Area, ...]:
        """Every area of the block, the first one first."""
        return (self.area, *self.more_areas)


class Alert(WireModel):
    """A CAP 1.2 alert message: at least one info block (``info``, then ``more_info``)."""

    identifier: AlertId
    sender: Sender
    sent: UtcDatetime
    status: Status
    msg_type: MsgType
    source: Text = ""
    scope: Scope
    restriction: Text = ""
    addresses: tuple[DelimitedToken, ...] = ()
    code: tuple[Text, ...] = ()
    note: Text = ""
    references: tuple[Reference, ...] = ()
    incidents: tuple[DelimitedToken, ...] = ()
    info: Info
    more_info: tuple[Info, ...] = ()

    @property
    def infos(self) -> tuple[Info, ...]:
        """Every info block, the first one first."""
        return (self.info, *self.more_info)

    @field_validator("references")
    @classmethod
    def _references_fit_msg_type(
        cls, references: tuple[Reference, ...], info: ValidationInfo
    ) -> tuple[Reference, ...]:
        msg_type = info.data.get("msg_type")
        if msg_type is not None and msg_type != MsgType.ALERT and not references:
            raise ValueError(f"expected the earlier messages for msgType {msg_type}, got none")
        identifier = info.data.get("identifier")
        if identifier is not None and any(ref.identifier == identifier for ref in references):
            raise ValueError(
                f"expected earlier alerts, got the alert's own identifier {identifier!r}"
            )
        return references

    @field_validator("info", "more_info")
    @classmethod
    def _expires_after_sent(
        cls, body: Info | tuple[Info, ...], info: ValidationInfo
    ) -> Info | tuple[Info, ...]:
        sent: datetime | None = info.data.get("sent")
        for block in body if isinstance(body, tuple) else (body,):
            if sent is not None and block.expires is not None and block.expires <= sent:
                raise ValueError(
                    f"expected expires after sent ({sent.isoformat()}), "
                    f"got {block.expires.isoformat()}"
                )
        return body


class Ack(WireModel):
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


def _encode(message: WireModel) -> bytes:
    payload = message.model_dump_json(by_alias=True).encode("utf-8")
    if len(payload) > MAX_PAYLOAD_BYTES:
        # Refuse to send what every receiver would reject.
        raise MessageError(
            "oversize",
            f"{type(message).__name__.lower()}: expected at most {MAX_PAYLOAD_BYTES} bytes "
            f"encoded, got {len(payload)}",
        )
    return payload


_M = TypeVar("_M", bound=WireModel)


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
