"""Readable rejection text for the message codec, and the JSON checks json.loads lacks.

:mod:`dispatcher.wire.messages` decodes in steps; this module holds the steps that know nothing of
CAP: a flat nesting-depth scan, strict parsing (no NaN/Infinity, no duplicate fields), and turning a
parser or pydantic error into one ``path: expected ..., got ...`` line."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from dispatcher.errors import AlertsimError

__all__ = [
    "DuplicateKeyError",
    "json_problem",
    "loads_strict",
    "schema_detail",
    "schema_problems",
    "too_deep_at",
]


def too_deep_at(text: str, max_depth: int) -> int | None:
    """Offset of the first [ or { (outside strings) that nests deeper than max_depth, if any.

    A flat scan, so 10,000 opening brackets cost no recursion. Malformed JSON gets some answer;
    the JSON parser that runs next reports the syntax error.
    """
    depth = 0
    in_string = False
    escaped = False
    for offset, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return offset
        elif char in "]}":
            depth -= 1
    return None


class DuplicateKeyError(AlertsimError, ValueError):
    """A JSON object that names the same field twice; ``key`` is that field."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        # Parsers disagree on which duplicate wins; refusing is the only unambiguous answer.
        if key in result:
            raise DuplicateKeyError(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name}, which is not JSON")


def loads_strict(text: str) -> Any:
    """Parse JSON refusing NaN/Infinity and duplicate fields (DuplicateKeyError).

    Other problems raise what :func:`json.loads` raises (ValueError, RecursionError).
    """
    return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)


def json_problem(exc: ValueError | RecursionError) -> str:
    """What was wrong with a payload the JSON parser refused, as the 'got ...' of an error."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc)


_EXPECTED_BY_TYPE: Final[dict[str, str]] = {
    "model_type": "a JSON object",
    "dict_type": "a JSON object",
    "string_type": "a string",
    "float_type": "a number",
    "finite_number": "a finite number",
    "tuple_type": "an array",
    "datetime_type": "an ISO 8601 date-time string",
    "datetime_parsing": "an ISO 8601 date-time string",
    "datetime_from_date_parsing": "an ISO 8601 date-time string",
    "timezone_aware": "a date-time with a UTC offset",
}
_VALUE_REPR_MAX_CHARS: Final = 80


def schema_detail(exc: ValidationError, model: type[BaseModel]) -> str:
    """The first schema error as `path: expected ..., got ...`, with a count of the rest."""
    errors = exc.errors(include_url=False)
    first = _error_text(errors[0], model)
    if len(errors) > 1:
        return f"{first} (and {len(errors) - 1} more)"
    return first


def schema_problems(
    exc: ValidationError,
    model: type[BaseModel],
    path: Callable[[tuple[int | str, ...]], str] | None = None,
) -> list[str]:
    """Every schema error as `path: expected ..., got ...`; ``path`` names a location."""
    return [_error_text(error, model, path or _path) for error in exc.errors(include_url=False)]


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path or "payload"


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    text = repr(value)
    if len(text) > _VALUE_REPR_MAX_CHARS:
        size = len(value) if isinstance(value, str | list) else len(text)
        return f"{text[:_VALUE_REPR_MAX_CHARS]}... ({size} long)"
    return text


def _error_text(
    error: Any,
    model: type[BaseModel],
    path_of: Callable[[tuple[int | str, ...]], str] = _path,
) -> str:
    kind: str = error["type"]
    loc: tuple[int | str, ...] = tuple(error["loc"])
    path = path_of(loc)
    ctx: dict[str, Any] = error.get("ctx") or {}
    found = error.get("input")
    if kind == "value_error":
        return f"{path}: {ctx.get('error', error['msg'])}"
    if kind in ("enum", "literal_error"):
        choices = ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
        return f"{path}: expected one of {choices}, got {_show(found)}"
    if kind == "missing":
        return f"{path}: expected a value, got nothing (field missing)"
    if kind == "extra_forbidden":
        allowed = ", ".join(_field_aliases(model, loc[:-1]))
        return f"{path}: expected only the fields {allowed}, got an unknown field"
    if kind == "too_short":
        minimum = ctx["min_length"]
        plural = "" if minimum == 1 else "s"
        return f"{path}: expected at least {minimum} item{plural}, got {ctx['actual_length']}"
    if kind == "too_long":
        return f"{path}: expected at most {ctx['max_length']} items, got {ctx['actual_length']}"
    if kind == "string_too_long":
        return f"{path}: expected at most {ctx['max_length']} characters, got {len(found)}"
    expected = _EXPECTED_BY_TYPE.get(kind) or str(error["msg"]).removeprefix("Input should be ")
    return f"{path}: expected {expected}, got {_show(found)}"


def _field_aliases(model: type[BaseModel], loc: tuple[int | str, ...]) -> Iterator[str]:
    """Wire names of the fields allowed at ``loc`` (which addresses a nested model)."""
    current: type[BaseModel] = model
    for part in loc:
        if isinstance(part, int):
            continue
        for name, field in current.model_fields.items():
            if (field.alias or name) == part and isinstance(field.annotation, type):
                if issubclass(field.annotation, BaseModel):
                    current = field.annotation
                break
    for name, field in current.model_fields.items():
        yield field.alias or name
