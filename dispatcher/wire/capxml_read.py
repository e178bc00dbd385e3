"""CAP 1.2 XML elements -> the alert model's fields, and model error locations -> element paths.

Runs on a document that already validates against the OASIS schema, so elements are where the
schema puts them; what is left to check here is the text inside them: space-delimited lists,
references, polygons, circles and division codes. Problems are appended, one line each.
"""

from __future__ import annotations

import re
from typing import Any, Final

from lxml import etree
from pydantic.alias_generators import to_camel

from dispatcher.wire.capvocab import CAP_NAMESPACE, WARNING_LEVEL_PARAMETER
from dispatcher.wire.messages import CPEAS_GEOCODE, division_of

__all__ = ["alert_fields", "model_path"]

_NS: Final = "{" + CAP_NAMESPACE + "}"
_NUMBER: Final = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_POINT_RE: Final = re.compile(rf"({_NUMBER}),({_NUMBER})")
_CIRCLE_RE: Final = re.compile(rf"({_NUMBER}),({_NUMBER})\s+({_NUMBER})")
_TOKEN_RE: Final = re.compile(r'"([^"]*)"|(\S+)')
_ALERT_TEXT: Final = ("identifier", "sender", "sent", "status", "msgType", "source", "scope")
_ALERT_MORE_TEXT: Final = ("restriction", "note")
_INFO_TEXT: Final = (
    "language",
    "event",
    "urgency",
    "severity",
    "certainty",
    "audience",
    "effective",
    "onset",
    "expires",
    "senderName",
    "headline",
    "description",
    "instruction",
    "web",
    "contact",
)


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _text(element: etree._Element) -> str:
    return "".join(element.itertext())


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return element.findall(_NS + name)


def _copy_text(element: etree._Element, names: tuple[str, ...], fields: dict[str, Any]) -> None:
    for name in names:
        child = element.find(_NS + name)
        if child is not None:
            fields[_snake(name)] = _text(child)


def _tokens(text: str) -> list[str]:
    return [quoted if bare == "" else bare for quoted, bare in _TOKEN_RE.findall(text)]


def _pairs(element: etree._Element, name: str) -> list[dict[str, str]]:
    return [
        {
            "value_name": _text(item.find(_NS + "valueName")),  # type: ignore[arg-type]
            "value": _text(item.find(_NS + "value")),  # type: ignore[arg-type]
        }
        for item in _children(element, name)
    ]


def alert_fields(root: etree._Element, problems: list[str]) -> dict[str, Any]:
    """The model fields of a schema-valid ``alert`` element; problems appended to ``problems``."""
    fields: dict[str, Any] = {}
    _copy_text(root, _ALERT_TEXT + _ALERT_MORE_TEXT, fields)
    for name in ("addresses", "incidents"):
        child = root.find(_NS + name)
        if child is not None:
            fields[name] = _tokens(_text(child))
    fields["code"] = [_text(child) for child in _children(root, "code")]
    child = root.find(_NS + "references")
    if child is not None:
        fields["references"] = _references(_text(child), problems)
    infos = [
        _info_fields(block, index, problems)
        for index, block in enumerate(_children(root, "info"), 1)
    ]
    if not infos:
        problems.append("alert: expected at least one info block (alertsim acts on one), got none")
        return fields
    fields["info"], fields["more_info"] = infos[0], infos[1:]
    return fields


def _references(text: str, problems: list[str]) -> list[dict[str, str]]:
    references = []
    for item in text.split():
        parts = item.split(",")
        if len(parts) != 3:
            problems.append(
                f"alert/references: expected sender,identifier,sent triples separated by spaces, "
                f"got {item!r}"
            )
            continue
        references.append(dict(zip(("sender", "identifier", "sent"), parts, strict=True)))
    return references


def _info_fields(block: etree._Element, index: int, problems: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    _copy_text(block, _INFO_TEXT, fields)
    fields["category"] = [_text(c) for c in _children(block, "category")]
    fields["response_type"] = [_text(c) for c in _children(block, "responseType")]
    fields["event_code"] = _pairs(block, "eventCode")
    parameters = _pairs(block, "parameter")
    levels = [p["value"] for p in parameters if p["value_name"] == WARNING_LEVEL_PARAMETER]
    if len(levels) > 1:
        problems.append(
            f"alert/info[{index}]/parameter: expected one {WARNING_LEVEL_PARAMETER}, "
            f"got {len(levels)}"
        )
    if levels:
        fields["warning_level"] = levels[0]
    fields["parameter"] = [p for p in parameters if p["value_name"] != WARNING_LEVEL_PARAMETER]
    fields["resource"] = [_resource_fields(item) for item in _children(block, "resource")]
    areas = [
        _area_fields(area, f"alert/info[{index}]/area[{n}]", problems)
        for n, area in enumerate(_children(block, "area"), 1)
    ]
    if not areas:
        problems.append(
            f"alert/info[{index}]: expected at least one area (alertsim targets by area), got none"
        )
        return fields
    fields["area"], fields["more_areas"] = areas[0], areas[1:]
    return fields


def _resource_fields(item: etree._Element) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    _copy_text(item, ("resourceDesc", "mimeType", "uri", "derefUri", "digest"), fields)
    size = item.find(_NS + "size")
    if size is not None:
        fields["size"] = int(_text(size))
    return fields


def _area_fields(area: etree._Element, path: str, problems: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {"area_desc": _text(area.find(_NS + "areaDesc"))}  # type: ignore[arg-type]
    fields["polygons"] = [
        _polygon(_text(p), f"{path}/polygon[{n}]", problems)
        for n, p in enumerate(_children(area, "polygon"), 1)
    ]
    circles = []
    for n, item in enumerate(_children(area, "circle"), 1):
        found = _CIRCLE_RE.fullmatch(_text(item).strip())
        if found is None:
            problems.append(
                f"{path}/circle[{n}]: expected 'lat,lon radius_km', got {_text(item)!r}"
            )
            continue
        lat, lon, radius = (float(group) for group in found.groups())
        circles.append({"latitude": lat, "longitude": lon, "radius_km": radius})
    fields["circles"] = circles
    _geocodes(area, path, fields, problems)
    for name in ("altitude", "ceiling"):
        child = area.find(_NS + name)
        if child is not None:
            fields[name] = float(_text(child))
    return fields


def _polygon(text: str, path: str, problems: list[str]) -> list[tuple[float, float]]:
    points = []
    for pair in text.split():
        found = _POINT_RE.fullmatch(pair)
        if found is None:
            problems.append(f"{path}: expected 'lat,lon' pairs separated by spaces, got {pair!r}")
            return []
        points.append((float(found.group(1)), float(found.group(2))))
    return points


def _geocodes(area: etree._Element, path: str, fields: dict[str, Any], problems: list[str]) -> None:
    whole: set[str] = set()
    towns: set[str] = set()
    others = []
    for n, pair in enumerate(_pairs(area, "geocode"), 1):
        value = pair["value"].strip()
        if pair["value_name"] != CPEAS_GEOCODE:
            others.append(pair)
            continue
        division = division_of(value)
        if division is None and len(value) == 12 and value.isascii() and value.isdigit():
            others.append({"value_name": CPEAS_GEOCODE, "value": value})  # a village
        elif division is None:
            problems.append(
                f"{path}/geocode[{n}]/value: expected a 6-, 9- or 12-digit division "
                f"code, got {pair['value']!r}"
            )
        elif division[0] == "district":
            whole.add(division[1])
        else:
            towns.add(division[1])
    towns = {town for town in towns if town[:6] not in whole}
    districts = whole | {town[:6] for town in towns}
    if whole and towns:
        problems.append(
            f"{path}/geocode: expected whole districts or towns, got both (districts "
            f"{', '.join(sorted(whole))}; towns {', '.join(sorted(towns))}); name the towns instead"
        )
    fields.update(districts=sorted(districts), towns=sorted(towns), geocodes=others)


_XML_NAMES: Final = {
    "info": "info[1]",
    "area": "area[1]",
    "polygons": "polygon",
    "circles": "circle",
    "geocodes": "geocode",
    "districts": "geocode",
    "towns": "geocode",
    "warning_level": "parameter",
}


def model_path(loc: tuple[int | str, ...]) -> str:
    """The element path of a model error location: ("more_info", 0, "headline") -> info[2]/..."""
    parts = ["alert"]
    items = list(loc)
    while items:
        part = items.pop(0)
        if isinstance(part, int):
            continue
        if part in ("more_info", "more_areas"):
            index = items.pop(0) if items and isinstance(items[0], int) else 0
            parts.append(f"{part.removeprefix('more_')[:4]}[{int(index) + 2}]")
        elif part in ("polygons", "circles", "event_code", "parameter", "resource", "code") and (
            items and isinstance(items[0], int)
        ):
            parts.append(f"{_XML_NAMES.get(part, to_camel(part))}[{int(items.pop(0)) + 1}]")
        else:
            parts.append(_XML_NAMES.get(part, to_camel(part)))
    return "/".join(parts)
