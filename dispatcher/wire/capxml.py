"""CAP 1.2 XML: read an alert into the :class:`~dispatcher.wire.messages.Alert` model and back.

Reading is defensive: at most :data:`MAX_XML_BYTES`, no DOCTYPE or entity declarations (so no
external entity is fetched and no entity expanded), the CAP 1.2 namespace, then validation against
the official OASIS schema shipped in ``schema/`` (offline), then the model's own rules. Every
problem is one line naming the element path (``alert/info[1]/area[1]/geocode``) and what was
expected; :class:`CapError` carries all of them. Writing follows the schema's element order and
checks its own output against the schema. CAP 1.2 times are whole seconds with a UTC offset, so
sub-second parts are dropped when written. The mapping is in docs/wire-protocol.md.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Final

from lxml import etree
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from dispatcher.errors import AlertsimError
from dispatcher.wire.capvocab import CAP_NAMESPACE, WARNING_LEVEL_PARAMETER
from dispatcher.wire.capxml_read import alert_fields, model_path
from dispatcher.wire.codec import schema_problems
from dispatcher.wire.messages import (
    CPEAS_GEOCODE,
    MAX_PAYLOAD_BYTES,
    Alert,
    Area,
    Info,
    MessageError,
    decode_alert,
)

__all__ = [
    "MAX_XML_BYTES",
    "CapError",
    "decode_cap",
    "decode_payload",
    "encode_cap",
    "is_xml",
    "validate_cap",
]

MAX_XML_BYTES: Final = 1024 * 1024
_NS: Final = "{" + CAP_NAMESPACE + "}"
_REFUSED_RE: Final = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class CapError(AlertsimError, ValueError):
    """A document that is not a valid CAP 1.2 alert; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(*problems)
        self.problems = tuple(problems)

    def __str__(self) -> str:
        more = len(self.problems) - 1
        return self.problems[0] + (f" (and {more} more)" if more else "")


@cache
def _schema() -> etree.XMLSchema:
    text = (files("dispatcher.wire") / "schema" / "CAP-v1.2.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(text, _parser()))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        strip_cdata=True,
        collect_ids=False,
    )


def is_xml(payload: bytes) -> bool:
    """Whether a payload is XML rather than JSON (decided by its first non-blank byte)."""
    return payload.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] == b"<"


def _parse(data: bytes) -> etree._Element:
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"document: expected bytes, got {type(data).__name__}")
    if len(data) > MAX_XML_BYTES:
        raise CapError([f"document: expected at most {MAX_XML_BYTES} bytes, got {len(data)}"])
    if not data.strip():
        raise CapError([f"document: expected a CAP 1.2 XML alert, got {len(data)} blank bytes"])
    if _REFUSED_RE.search(data):
        raise CapError(
            ["document: expected XML without a DOCTYPE or entity declarations, got one (refused)"]
        )
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise CapError(
            [f"document: expected well-formed XML, got {exc.msg} (line {line}, column {column})"]
        ) from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise CapError(["document: expected XML without a DOCTYPE, got one (refused)"])
    if root.tag != _NS + "alert":
        qname = etree.QName(root)
        raise CapError(
            [
                f"{qname.localname}: expected the element alert in namespace {CAP_NAMESPACE} "
                f"(CAP 1.2), got {qname.localname} in {qname.namespace or 'no namespace'}"
            ]
        )
    return root


def _schema_problems(root: etree._Element) -> list[str]:
    schema = _schema()
    if schema.validate(root):
        return []
    tree = root.getroottree()
    problems = []
    for entry in schema.error_log:
        found = tree.xpath(entry.path) if entry.path else []
        where = element_path(found[0]) if isinstance(found, list) and found else "alert"
        message = re.sub(r"\{" + re.escape(CAP_NAMESPACE) + r"\}", "", entry.message)
        message = re.sub(r"^Element '[^']*': ", "", message)
        problems.append(f"{where} (line {entry.line}): {message}")
    return problems


def element_path(element: etree._Element) -> str:
    """``alert/info[2]/area[1]/geocode[3]``: info and area always indexed, others when repeated."""
    parts = []
    current: etree._Element | None = element
    while current is not None:
        name = etree.QName(current).localname
        parent = current.getparent()
        if parent is not None:
            same = [child for child in parent if child.tag == current.tag]
            if name in ("info", "area") or len(same) > 1:
                name = f"{name}[{same.index(current) + 1}]"
        parts.append(name)
        current = parent
    return "/".join(reversed(parts))


def validate_cap(data: bytes) -> list[str]:
    """Every problem that keeps ``data`` from being a CAP 1.2 alert alertsim can use; [] if none."""
    try:
        decode_cap(data)
    except CapError as exc:
        return list(exc.problems)
    return []


def decode_cap(data: bytes) -> Alert:
    """Read a CAP 1.2 XML alert; raise CapError (with every problem) if it is not one."""
    root = _parse(data)
    problems = _schema_problems(root)
    if problems:
        raise CapError(problems)
    fields = alert_fields(root, problems)
    if problems:
        raise CapError(problems)
    try:
        return Alert.model_validate(fields)
    except ValidationError as exc:
        raise CapError(schema_problems(exc, Alert, model_path)) from None


def decode_payload(payload: bytes) -> Alert:
    """An alert from an MQTT payload, CAP XML or CAP JSON by its content; MessageError only.

    XML is held to the JSON payload's size limit; any problem with it is a ``schema`` error.
    """
    if not is_xml(payload):
        return decode_alert(payload)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MessageError(
            "oversize", f"payload: expected at most {MAX_PAYLOAD_BYTES} bytes, got {len(payload)}"
        )
    try:
        return decode_cap(bytes(payload))
    except CapError as exc:
        raise MessageError("schema", str(exc)) from None


# --- writing -------------------------------------------------------------------------------------


def _time(value: datetime) -> str:
    utc = value.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}+00:00"
    )


def _number(value: float) -> str:
    # Plain decimal notation (xs:decimal has no exponent) that reads back as the same float.
    return format(Decimal(repr(value)), "f")


def _quoted(items: tuple[str, ...]) -> str:
    return " ".join(f'"{item}"' if re.search(r"\s", item) else item for item in items)


def _leaf(parent: etree._Element, name: str, text: str, *, optional: bool = True) -> None:
    if optional and text == "":
        return
    child = etree.SubElement(parent, _NS + name)
    try:
        child.text = text
    except ValueError:
        raise CapError(
            [f"{element_path(child)}: expected text XML can hold, got {text[:40]!r}"]
        ) from None


def _pairs(parent: etree._Element, name: str, pairs: list[tuple[str, str]]) -> None:
    for value_name, value in pairs:
        element = etree.SubElement(parent, _NS + name)
        _leaf(element, "valueName", value_name, optional=False)
        _leaf(element, "value", value, optional=False)


def _write_area(parent: etree._Element, area: Area) -> None:
    element = etree.SubElement(parent, _NS + "area")
    _leaf(element, "areaDesc", area.area_desc, optional=False)
    for polygon in area.polygons:
        _leaf(element, "polygon", " ".join(f"{_number(a)},{_number(b)}" for a, b in polygon))
    for circle in area.circles:
        text = f"{_number(circle.latitude)},{_number(circle.longitude)} {_number(circle.radius_km)}"
        _leaf(element, "circle", text)
    # 12-digit CPEAS form; a town numbered 000 keeps its 9 digits (12 would read as its district).
    codes = [t if t.endswith("000") else t + "000" for t in area.towns] or [
        d + "000000" for d in area.districts
    ]
    _pairs(element, "geocode", [(CPEAS_GEOCODE, code) for code in codes])
    _pairs(element, "geocode", [(g.value_name, g.value) for g in area.geocodes])
    if area.altitude is not None:
        _leaf(element, "altitude", _number(area.altitude))
    if area.ceiling is not None:
        _leaf(element, "ceiling", _number(area.ceiling))


def _write_info(parent: etree._Element, info: Info) -> None:
    element = etree.SubElement(parent, _NS + "info")
    _leaf(element, "language", info.language)
    for category in info.category:
        _leaf(element, "category", category.value)
    _leaf(element, "event", info.event, optional=False)
    for response in info.response_type:
        _leaf(element, "responseType", response.value)
    _leaf(element, "urgency", info.urgency.value)
    _leaf(element, "severity", info.severity.value)
    _leaf(element, "certainty", info.certainty.value)
    _leaf(element, "audience", info.audience)
    _pairs(element, "eventCode", [(c.value_name, c.value) for c in info.event_code])
    for name in ("effective", "onset", "expires"):
        moment: datetime | None = getattr(info, name)
        if moment is not None:
            _leaf(element, name, _time(moment))
    for name in ("sender_name", "headline", "description", "instruction", "web", "contact"):
        _leaf(element, to_camel(name), getattr(info, name))
    parameters = [(p.value_name, p.value) for p in info.parameter]
    if info.warning_level is not None:
        parameters.append((WARNING_LEVEL_PARAMETER, info.warning_level))
    _pairs(element, "parameter", parameters)
    for resource in info.resource:
        item = etree.SubElement(element, _NS + "resource")
        _leaf(item, "resourceDesc", resource.resource_desc, optional=False)
        _leaf(item, "mimeType", resource.mime_type, optional=False)
        if resource.size is not None:
            _leaf(item, "size", str(resource.size))
        for name in ("uri", "deref_uri", "digest"):
            _leaf(item, to_camel(name), getattr(resource, name))
    for area in info.areas:
        _write_area(element, area)


def encode_cap(alert: Alert, *, pretty: bool = True) -> bytes:
    """The alert as CAP 1.2 XML (UTF-8, indented unless not ``pretty``); CapError if invalid."""
    root = etree.Element(_NS + "alert", nsmap={None: CAP_NAMESPACE})
    _leaf(root, "identifier", alert.identifier, optional=False)
    _leaf(root, "sender", alert.sender, optional=False)
    _leaf(root, "sent", _time(alert.sent))
    _leaf(root, "status", alert.status.value)
    _leaf(root, "msgType", alert.msg_type.value)
    _leaf(root, "source", alert.source)
    _leaf(root, "scope", alert.scope.value)
    _leaf(root, "restriction", alert.restriction)
    _leaf(root, "addresses", _quoted(alert.addresses))
    for code in alert.code:
        _leaf(root, "code", code, optional=False)
    _leaf(root, "note", alert.note)
    references = [f"{r.sender},{r.identifier},{_time(r.sent)}" for r in alert.references]
    _leaf(root, "references", " ".join(references))
    _leaf(root, "incidents", _quoted(alert.incidents))
    for info in alert.infos:
        _write_info(root, info)
    problems = _schema_problems(root)
    if problems:
        raise CapError(problems)
    payload: bytes = etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=pretty
    )
    return payload
