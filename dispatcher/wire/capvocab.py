"""CAP 1.2 vocabulary shared by the alert model and both of its codecs (JSON and XML).

The enumerations are OASIS CAP 1.2's (status, msgType, scope, category, responseType, urgency,
severity, certainty); the small models are its repeated structures (valueName/value pairs,
resources, circles, references). Text types check that a value is UTF-8 encodable; times carry a
UTC offset and are normalised to UTC, so equal models encode to equal bytes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

__all__ = [
    "CAP_NAMESPACE",
    "WARNING_LEVEL_PARAMETER",
    "Category",
    "Certainty",
    "Circle",
    "DelimitedToken",
    "Language",
    "MsgType",
    "NamedValue",
    "Point",
    "Polygon",
    "Reference",
    "RequiredText",
    "Resource",
    "ResponseType",
    "Scope",
    "Sender",
    "Severity",
    "Status",
    "Text",
    "Urgency",
    "UtcDatetime",
    "WireModel",
]

CAP_NAMESPACE: Final = "urn:oasis:names:tc:emergency:cap:1.2"
# The parameter valueName that carries alertsim's national warning level in CAP XML.
WARNING_LEVEL_PARAMETER: Final = "alertsim:warningLevel"


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


class Category(StrEnum):
    """CAP category of the subject event."""

    GEO = "Geo"
    MET = "Met"
    SAFETY = "Safety"
    SECURITY = "Security"
    RESCUE = "Rescue"
    FIRE = "Fire"
    HEALTH = "Health"
    ENV = "Env"
    TRANSPORT = "Transport"
    INFRA = "Infra"
    CBRNE = "CBRNE"
    OTHER = "Other"


class ResponseType(StrEnum):
    """CAP responseType: the action recommended to the audience."""

    SHELTER = "Shelter"
    EVACUATE = "Evacuate"
    PREPARE = "Prepare"
    EXECUTE = "Execute"
    AVOID = "Avoid"
    MONITOR = "Monitor"
    ASSESS = "Assess"
    ALL_CLEAR = "AllClear"
    NONE = "None"


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


# Control characters as [\x00-\x1f], not [^\x20-\U0010ffff] (the same characters in a str):
# the complement of a range that wide took 7 ms to compile at every import.
_CAP_FORBIDDEN_RE: Final = re.compile(r"[\s,<&\x00-\x1f]")


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


def _token(value: str) -> str:
    # An item of a CAP space-delimited list (addresses, incidents): quoted when it holds spaces.
    if value == "" or '"' in value or not value.strip():
        raise ValueError(f"expected non-blank text without double quotes, got {value!r}")
    return value


_LANGUAGE_RE: Final = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")


def _language(value: str) -> str:
    if _LANGUAGE_RE.fullmatch(value) is None:
        raise ValueError(f"expected an RFC 3066 language tag such as zh-CN or en-US, got {value!r}")
    return value


UtcDatetime = Annotated[
    AwareDatetime,
    AfterValidator(_utc),
    # isoformat keeps "+00:00" (CAP forbids the "Z" designator) and microseconds when present.
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
]
Text = Annotated[str, AfterValidator(_encodable)]
RequiredText = Annotated[str, AfterValidator(_encodable), AfterValidator(_non_blank)]
Sender = Annotated[str, AfterValidator(_encodable), AfterValidator(_cap_sender)]
DelimitedToken = Annotated[str, AfterValidator(_encodable), AfterValidator(_token)]
Language = Annotated[str, AfterValidator(_language)]
# CAP order: (latitude, longitude) in WGS 84.
Point = tuple[float, float]


def _check_point(lat: float, lon: float, where: str) -> None:
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(
            "expected latitude in [-90, 90] and longitude in [-180, 180], "
            f"got ({lat}, {lon}){where}"
        )


def _closed_ring(polygon: tuple[Point, ...]) -> tuple[Point, ...]:
    if len(polygon) < 4:
        raise ValueError(f"expected at least 4 (lat, lon) points, got {len(polygon)}")
    if polygon[0] != polygon[-1]:
        raise ValueError(
            f"expected the last point to repeat the first {polygon[0]}, got {polygon[-1]}"
        )
    for index, (lat, lon) in enumerate(polygon):
        _check_point(lat, lon, f" at index {index}")
    return polygon


# A closed ring: at least 4 points, the last repeating the first.
Polygon = Annotated[tuple[Point, ...], AfterValidator(_closed_ring)]


class WireModel(BaseModel):
    """The base of every wire model: frozen, strict about fields, CAP's camelCase names."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        allow_inf_nan=False,
    )


class NamedValue(WireModel):
    """A CAP valueName/value pair: an eventCode, a parameter or a geocode."""

    value_name: Text
    value: Text


class Resource(WireModel):
    """A CAP resource: a file that supplements the info block (an image, an audio file)."""

    resource_desc: Text
    mime_type: Text
    size: int | None = Field(default=None, ge=0)
    uri: Text = ""
    deref_uri: Text = ""
    digest: Text = ""


class Circle(WireModel):
    """A CAP circle: a centre point and a radius in kilometres."""

    latitude: float
    longitude: float
    radius_km: float = Field(ge=0)

    @field_validator("longitude")
    @classmethod
    def _on_earth(cls, longitude: float, info: ValidationInfo) -> float:
        latitude: float | None = info.data.get("latitude")
        if latitude is not None:
            _check_point(latitude, longitude, "")
        return longitude


class Reference(WireModel):
    """An earlier message a CAP message refers to: its sender, identifier and sent time."""

    sender: Sender
    identifier: Sender  # same rule as a sender: no spaces, commas, < or &
    sent: UtcDatetime
