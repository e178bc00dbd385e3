"""Variants of one scenario: read, set and scale values at dotted paths, and validate the result.

What sensitivity analysis and the optimizer share. A path is the dotted path of `--set`
(`tiers.municipal.processing_s.median`, `escalation.timeout_s.0`); a variant keeps the scenario's
seed and topology, so every variant draws from the same random streams (common random numbers).
Scaling a distribution scales every one of its values (a lognormal's median and p90 together), so
its shape is kept and only its scale moves. A levers or params file (a list of entries, each
at a path) is read entry by entry with :func:`read_entries`, every problem listed alike.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from simulation.scenario import LoadedScenario, Scenario, ScenarioError, format_validation_error

__all__ = [
    "PathError",
    "build_variant",
    "file_lines",
    "get_path",
    "is_number",
    "read_entries",
    "scale_value",
    "set_path",
]

# The keys of each distribution kind that carry its scale (seconds, metres, m/s).
_SCALE_KEYS = {
    "constant": ("value",),
    "uniform": ("low", "high"),
    "exponential": ("mean",),
    "lognormal": ("median", "p90"),
    "empirical": ("values",),
}


class PathError(ScenarioError):
    """A dotted path that does not name a value of the scenario."""


class _Entry(Protocol):
    @property
    def path(self) -> str: ...


class _Named(Protocol):
    @property
    def name(self) -> str: ...


E = TypeVar("E", bound=_Entry)
N = TypeVar("N", bound=_Named)


def is_number(value: object) -> bool:
    """An int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _step(node: Any, key: str, walked: str) -> Any:
    if isinstance(node, dict) and key in node:
        return node[key]
    if isinstance(node, list) and key.isdigit() and int(key) < len(node):
        return node[int(key)]
    raise PathError([f"{walked}: expected a field or index {key!r}, got none"])


def get_path(data: dict[str, Any], path: Sequence[str]) -> Any:
    """The value at `path` in the scenario data; PathError naming where the walk stopped."""
    node: Any = data
    walked = "scenario"
    for key in path:
        node = _step(node, key, walked)
        walked += f".{key}"
    return node


def set_path(data: dict[str, Any], path: Sequence[str], value: Any) -> dict[str, Any]:
    """A copy of the scenario data with the value at an existing `path` replaced."""
    out = copy.deepcopy(data)
    parent = get_path(out, path[:-1])
    last = path[-1]
    if isinstance(parent, dict) and last in parent:
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        parent[int(last)] = copy.deepcopy(value)
    else:
        where = ".".join(("scenario", *path[:-1]))
        raise PathError([f"{where}: expected a field or index {last!r}, got none"])
    return out


def scale_value(value: Any, factor: float, where: str) -> Any:
    """`value` times `factor`: a number, or every scale value of a distribution."""
    if is_number(value):
        scaled = value * factor
        return round(scaled) if isinstance(value, int) else round(scaled, 9)
    if isinstance(value, dict) and value.get("kind") in _SCALE_KEYS:
        out = dict(value)
        for key in _SCALE_KEYS[value["kind"]]:
            if isinstance(out[key], list):
                out[key] = [round(v * factor, 9) for v in out[key]]
            else:
                out[key] = round(out[key] * factor, 9)
        return out
    raise PathError(
        [f"{where}: expected a number or a distribution to scale, got {type(value).__name__}"]
    )


def build_variant(loaded: LoadedScenario, data: dict[str, Any], where: str) -> LoadedScenario:
    """The scenario with `data` for its fields, validated; seed and topology must be unchanged."""
    base = loaded.scenario
    if data.get("seed") != base.seed:
        raise ScenarioError([f"{where}: scenario.seed: expected it unchanged, got a new value"])
    if data.get("topology", {}).get("path") != base.topology.path:
        raise ScenarioError(
            [f"{where}: scenario.topology.path: expected it unchanged, got a new value"]
        )
    context = {"district_codes": {d.code for d in loaded.topology.districts}}
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(where, exc)) from exc
    return loaded.model_copy(update={"scenario": scenario})


def file_lines(where: str, name: str, exc: ValidationError) -> list[str]:
    """One line per problem of a levers or params file: `{where}: {name}{loc}: {message}`."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {name}{loc}: {message[:1].lower()}{message[1:]}")
    return lines


def read_entries(
    where: str,
    name: str,
    entries: Sequence[E],
    data: dict[str, Any],
    make: Callable[[E, Any, str], N | None],
) -> list[N]:
    """``make(entry, value at its path, at)`` for each entry, None left out; at most one per path.

    ``at`` (`{where}: {name}[3] (its.path)`) starts every problem line: ScenarioError raised
    by ``make`` or by the path's walk, with ``at`` put before each line that does not already
    name the file. One ScenarioError lists every problem of every entry.
    """
    out: list[N] = []
    problems: list[str] = []
    for i, entry in enumerate(entries):
        at = f"{where}: {name}[{i}] ({entry.path})"
        try:
            made = make(entry, get_path(data, entry.path.split(".")), at)
        except ScenarioError as exc:
            problems.extend(
                line if line.startswith(where) else f"{at}: {line}" for line in exc.errors
            )
            continue
        if made is not None:
            out.append(made)
    names = [item.name for item in out]
    if len(set(names)) != len(names):
        problems.append(f"{where}: {name}: expected each path once, got {names}")
    if problems:
        raise ScenarioError(problems)
    return out
