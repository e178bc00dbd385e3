"""MQTT topic scheme of alertsim: building and parsing topics, validating ids, wildcard matching.

Topic scheme (version 1). Every topic starts with ``alertsim/v1``; ids fill whole levels.

===========================================================  =======================================
topic                                                        carries
===========================================================  =======================================
``alertsim/v1/alert/{district}/{town}/{recipient_id}``       an alert to one responder
``alertsim/v1/alert/{district}/{town}/all``                  an alert to a town's area terminal and
                                                             all responders of the town (broadcast)
``alertsim/v1/alert/{district}/center``                      an alert to a district center
``alertsim/v1/alert/{district}/{town}/center``               an alert to a town center
``alertsim/v1/ack/{alert_id}/{recipient_id}``                an acknowledgement of an alert
``alertsim/v1/status/{client_id}``                           status and heartbeats of a client
===========================================================  =======================================

Ids:

- ``district`` is a 6-digit division code (``500101``); ``town`` is a 9-digit code that begins with
  its district's code (``500101001``). ASCII digits only.
- ``recipient_id``, ``alert_id`` and ``client_id`` are 1-64 characters of ``A-Z a-z 0-9 _ . -``.
  That excludes the MQTT separators and wildcards (``/ + #``), NUL, whitespace and look-alike
  Unicode (Cyrillic ``а``, fullwidth ``５``), so an id always fills exactly one topic level and two
  ids that look the same are the same.
- ``all`` and ``center`` are reserved words of the scheme and cannot be a ``recipient_id``.

Subscriptions use the MQTT 3.1.1 / 5 wildcards: a responder subscribes to its own alert topic and
its town's ``.../all``; a center collects acknowledgements with ``alertsim/v1/ack/{alert_id}/+``.
:func:`matches` implements the standard's matching rules, which the in-memory transport relies on
to behave like a real broker. Shared subscriptions (``$share/...``) are a broker feature and are
matched literally here.

Every failure raises :class:`TopicError` with a ``reason`` from :data:`TOPIC_ERROR_REASONS`:

- ``empty``: the topic, filter or id is empty, or a level that must hold an id is empty;
- ``bad_level``: a fixed level is wrong (prefix, version, ``center``/``all``), the number of levels
  does not fit the kind, or the string is not a valid MQTT topic name (wildcards, NUL, too long);
- ``bad_id``: an id level is present but is not a valid id of its kind;
- ``unknown_kind``: the third level is not ``alert``, ``ack`` or ``status``;
- ``bad_filter``: a subscription filter breaks the MQTT wildcard rules.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal, Protocol, get_args

from dispatcher.errors import AlertsimError

__all__ = [
    "ACK_FILTER",
    "CENTER_FILTERS",
    "PREFIX",
    "RESERVED_RECIPIENT_IDS",
    "TOPIC_ERROR_REASONS",
    "Addressee",
    "IdKind",
    "ParsedTopic",
    "TopicError",
    "TopicErrorReason",
    "TopicKind",
    "ack_filter",
    "ack_topic",
    "alert_topic",
    "center_topic",
    "district_center_topic",
    "id_problem",
    "matches",
    "parse_topic",
    "status_topic",
    "topic_for",
    "town_broadcast_topic",
    "town_center_topic",
    "validate_filter",
    "validate_id",
]

PREFIX: Final = "alertsim/v1"
RESERVED_RECIPIENT_IDS: Final = frozenset({"all", "center"})

TopicErrorReason = Literal["empty", "bad_level", "bad_id", "unknown_kind", "bad_filter"]
TOPIC_ERROR_REASONS: Final[tuple[TopicErrorReason, ...]] = get_args(TopicErrorReason)

IdKind = Literal["district", "town", "recipient_id", "alert_id", "client_id"]
TopicKind = Literal["alert", "town_broadcast", "district_center", "town_center", "ack", "status"]

_ID_MAX_CHARS: Final = 64
# MQTT strings carry a 2-byte length prefix, so no topic or filter may exceed this.
_MQTT_MAX_BYTES: Final = 65_535
# Explicit ASCII classes: \d and \w would also accept fullwidth digits and Cyrillic letters.
_ID_RE: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_DISTRICT_RE: Final = re.compile(r"[0-9]{6}")
_TOWN_RE: Final = re.compile(r"[0-9]{9}")
_ID_EXPECTED: Final = "1-64 characters of A-Z a-z 0-9 _ . -"
_VALUE_REPR_MAX_CHARS: Final = 80


class TopicError(AlertsimError, ValueError):
    """A topic, filter or id that does not fit the scheme; ``reason`` is one of a fixed set."""

    def __init__(self, reason: TopicErrorReason, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason: TopicErrorReason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    """The kind of a topic and the ids it carries; fields a kind does not use are None."""

    kind: TopicKind
    district: str | None = None
    town: str | None = None
    recipient_id: str | None = None
    alert_id: str | None = None
    client_id: str | None = None

    @property
    def topic(self) -> str:
        """The topic string this parse came from (builders and parse_topic are inverses)."""
        match self.kind:
            case "alert":
                return alert_topic(_need(self.district), _need(self.town), _need(self.recipient_id))
            case "town_broadcast":
                return town_broadcast_topic(_need(self.district), _need(self.town))
            case "district_center":
                return district_center_topic(_need(self.district))
            case "town_center":
                return town_center_topic(_need(self.district), _need(self.town))
            case "ack":
                return ack_topic(_need(self.alert_id), _need(self.recipient_id))
            case "status":
                return status_topic(_need(self.client_id))


def _need(value: str | None) -> str:
    # A None here means a ParsedTopic was built by hand without a field its kind needs.
    if value is None:
        raise TopicError("empty", "parsed topic: expected every id its kind needs, got None")
    return value


def _show(value: str) -> str:
    text = repr(value)
    if len(text) > _VALUE_REPR_MAX_CHARS:
        return f"{text[:_VALUE_REPR_MAX_CHARS]}... ({len(value)} characters)"
    return text


def _first_foreign_char(value: str) -> str:
    for index, char in enumerate(value):
        if not re.fullmatch(r"[A-Za-z0-9_.-]", char):
            name = unicodedata.name(char, "unnamed character")
            return f" ({name} U+{ord(char):04X} at index {index})"
    return ""


def id_problem(kind: IdKind, value: str, *, district: str | None = None) -> str | None:
    """Why ``value`` is not a valid id of ``kind`` ("expected ..., got ..."), or None if it is.

    For ``kind="town"`` with ``district`` given, the town must also begin with that district.
    """
    match kind:
        case "district":
            if _DISTRICT_RE.fullmatch(value):
                return None
            return f"expected 6 ASCII digits, got {_show(value)}"
        case "town":
            if _TOWN_RE.fullmatch(value) and (district is None or value.startswith(district)):
                return None
            if district is None:
                return f"expected 9 ASCII digits, got {_show(value)}"
            return f"expected 9 ASCII digits starting with district {district}, got {_show(value)}"
        case "recipient_id" | "alert_id" | "client_id":
            if kind == "recipient_id" and value in RESERVED_RECIPIENT_IDS:
                return f"expected an id other than the reserved words all and center, got {value!r}"
            if _ID_RE.fullmatch(value):
                return None
            if len(value) > _ID_MAX_CHARS:
                return f"expected {_ID_EXPECTED}, got {len(value)} characters"
            return f"expected {_ID_EXPECTED}, got {_show(value)}{_first_foreign_char(value)}"
    raise ValueError(f"id kind: expected one of {', '.join(get_args(IdKind))}, got {kind!r}")


def validate_id(kind: IdKind, value: str, *, district: str | None = None) -> str:
    """Return ``value`` if it is a valid id of ``kind``; raise TopicError ("empty"/"bad_id")."""
    problem = id_problem(kind, value, district=district)
    if problem is None:
        return value
    raise TopicError("empty" if value == "" else "bad_id", f"{kind}: {problem}")


def alert_topic(district: str, town: str, recipient_id: str) -> str:
    """Topic of an alert to one responder."""
    validate_id("district", district)
    validate_id("town", town, district=district)
    validate_id("recipient_id", recipient_id)
    return f"{PREFIX}/alert/{district}/{town}/{recipient_id}"


def town_broadcast_topic(district: str, town: str) -> str:
    """Topic of an alert to a town's area terminal and every responder of the town."""
    validate_id("district", district)
    validate_id("town", town, district=district)
    return f"{PREFIX}/alert/{district}/{town}/all"


def district_center_topic(district: str) -> str:
    """Topic of an alert to a district center."""
    validate_id("district", district)
    return f"{PREFIX}/alert/{district}/center"


def town_center_topic(district: str, town: str) -> str:
    """Topic of an alert to a town center."""
    validate_id("district", district)
    validate_id("town", town, district=district)
    return f"{PREFIX}/alert/{district}/{town}/center"


def ack_topic(alert_id: str, recipient_id: str) -> str:
    """Topic of a recipient's acknowledgement of an alert."""
    validate_id("alert_id", alert_id)
    validate_id("recipient_id", recipient_id)
    return f"{PREFIX}/ack/{alert_id}/{recipient_id}"


class Addressee(Protocol):
    """Whom an alert is for, as the topic scheme needs it (``dispatcher.core.plan.Recipient``)."""

    @property
    def id(self) -> str: ...
    @property
    def district(self) -> str: ...
    @property
    def town(self) -> str: ...


def topic_for(recipient: Addressee) -> str:
    """The alert topic of one recipient: their own, or their district center's for a district
    duty team (no town), who are then named by the ``recipient_id`` user property."""
    if recipient.town:
        return alert_topic(recipient.district, recipient.town, recipient.id)
    return district_center_topic(recipient.district)


def center_topic(district: str, town: str = "") -> str:
    """The topic of a town center (with ``town``) or of a district center (without)."""
    return town_center_topic(district, town) if town else district_center_topic(district)


def ack_filter(alert_id: str) -> str:
    """The subscription that collects every acknowledgement of one alert."""
    validate_id("alert_id", alert_id)
    return f"{PREFIX}/ack/{alert_id}/+"


# Every acknowledgement of every alert, and every center's inbox (relays, escalation notices).
ACK_FILTER: Final = f"{PREFIX}/ack/+/+"
CENTER_FILTERS: Final = (f"{PREFIX}/alert/+/center", f"{PREFIX}/alert/+/+/center")


def status_topic(client_id: str) -> str:
    """Topic of a client's status reports and heartbeats."""
    validate_id("client_id", client_id)
    return f"{PREFIX}/status/{client_id}"


_SCHEME: Final = (
    f"{PREFIX}/alert/{{district}}/{{town}}/{{recipient_id|all|center}}, "
    f"{PREFIX}/alert/{{district}}/center, "
    f"{PREFIX}/ack/{{alert_id}}/{{recipient_id}} or "
    f"{PREFIX}/status/{{client_id}}"
)


def _mqtt_string_problem(value: str) -> str | None:
    if "\x00" in value:
        return f"expected no NUL character, got one at index {value.index(chr(0))}"
    try:
        size_bytes = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        return f"expected valid UTF-8, got a lone surrogate at index {exc.start}"
    if size_bytes > _MQTT_MAX_BYTES:
        return f"expected at most {_MQTT_MAX_BYTES} bytes of UTF-8, got {size_bytes}"
    return None


def _check_topic_name(topic: str) -> None:
    if topic == "":
        raise TopicError("empty", "topic: expected a topic name, got ''")
    problem = _mqtt_string_problem(topic)
    if problem is None and ("+" in topic or "#" in topic):
        problem = f"expected no wildcard (+ or #) in a topic name, got {_show(topic)}"
    if problem is not None:
        raise TopicError("bad_level", f"topic: {problem}")


def _id_level(kind: IdKind, value: str, topic: str, *, district: str | None = None) -> str:
    problem = id_problem(kind, value, district=district)
    if problem is None:
        return value
    reason: TopicErrorReason = "empty" if value == "" else "bad_id"
    raise TopicError(reason, f"{_show(topic)}: {kind}: {problem}")


def parse_topic(topic: str) -> ParsedTopic:
    """Parse a topic of the scheme; raise TopicError for anything else."""
    _check_topic_name(topic)
    levels = topic.split("/")
    if len(levels) < 3 or levels[0] != "alertsim" or levels[1] != "v1":
        raise TopicError("bad_level", f"topic: expected {_SCHEME}, got {_show(topic)}")
    kind, rest = levels[2], levels[3:]
    if kind == "alert":
        return _parse_alert(topic, rest)
    if kind == "ack" and len(rest) == 2:
        return ParsedTopic(
            kind="ack",
            alert_id=_id_level("alert_id", rest[0], topic),
            recipient_id=_id_level("recipient_id", rest[1], topic),
        )
    if kind == "status" and len(rest) == 1:
        return ParsedTopic(kind="status", client_id=_id_level("client_id", rest[0], topic))
    if kind in ("ack", "status"):
        raise TopicError("bad_level", f"topic: expected {_SCHEME}, got {_show(topic)}")
    raise TopicError(
        "unknown_kind", f"{_show(topic)}: level 3: expected alert, ack or status, got {_show(kind)}"
    )


def _parse_alert(topic: str, rest: list[str]) -> ParsedTopic:
    if len(rest) == 2 and rest[1] == "center":
        return ParsedTopic(kind="district_center", district=_id_level("district", rest[0], topic))
    if len(rest) != 3:
        raise TopicError("bad_level", f"topic: expected {_SCHEME}, got {_show(topic)}")
    district = _id_level("district", rest[0], topic)
    town = _id_level("town", rest[1], topic, district=district)
    last = rest[2]
    if last == "all":
        return ParsedTopic(kind="town_broadcast", district=district, town=town)
    if last == "center":
        return ParsedTopic(kind="town_center", district=district, town=town)
    recipient_id = _id_level("recipient_id", last, topic)
    return ParsedTopic(kind="alert", district=district, town=town, recipient_id=recipient_id)


def validate_filter(topic_filter: str) -> str:
    """Return ``topic_filter`` if it is a valid MQTT subscription filter; raise TopicError."""
    if topic_filter == "":
        raise TopicError("empty", "filter: expected a topic filter, got ''")
    problem = _mqtt_string_problem(topic_filter)
    if problem is not None:
        raise TopicError("bad_filter", f"filter: {problem}")
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if level == "#" and index != len(levels) - 1:
            raise TopicError(
                "bad_filter",
                f"filter {_show(topic_filter)}: level {index + 1}: "
                "expected # only as the last level, got # before the end",
            )
        if level not in ("#", "+") and ("#" in level or "+" in level):
            raise TopicError(
                "bad_filter",
                f"filter {_show(topic_filter)}: level {index + 1}: "
                f"expected a wildcard to fill a whole level, got {_show(level)}",
            )
    return topic_filter


def matches(topic_filter: str, topic: str) -> bool:
    """Whether an MQTT subscription filter matches a topic name (MQTT 3.1.1 / 5, section 4.7).

    ``+`` matches exactly one level (which may be empty), ``#`` matches the rest including the
    parent level (``sport/#`` matches ``sport``), and a topic whose first level starts with ``$``
    is not matched by a filter starting with a wildcard. Raises TopicError for a malformed filter
    or topic name rather than answering a question that has no answer.
    """
    validate_filter(topic_filter)
    _check_topic_name(topic)
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    if topic.startswith("$") and filter_levels[0] in ("+", "#"):
        return False
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)
