"""Where every number of a scenario comes from: a list of sources, and an entry per parameter.

A scenario may end with a `provenance` group (docs/scenarios.md, "Provenance"):

    provenance:
      sources: ../config/sources.yaml     # the source list, relative to the scenario file
      parameters:
        tiers.town.processing_s: {assumption: "read, decide, press send; no study measured it"}
        targets.notify_target_s: {source: digital-chongqing-2026, note: "3-minute notification"}

Keys are paths into the scenario as validated, defaults included (dotted, `[i]` for a list
item), to a parameter or to a group of them: an entry on `tiers.town.processing_s` covers its
median and p90. A parameter is every number of the scenario (booleans are not numbers), a list of
numbers counting as one. The loader refuses a path the scenario does not have and a source id the
list does not hold; a parameter no entry covers is reported (`missing`), never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from simulation.scenario.distributions import Frozen

SOURCE_ID = r"^[a-z0-9][a-z0-9.-]{0,63}$"
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

Text = Annotated[str, Field(min_length=1, max_length=2000)]


class Source(Frozen):
    """One publication, dataset or measurement a parameter's value is taken from."""

    id: Annotated[str, Field(pattern=SOURCE_ID)]
    title: Text
    publisher: Text
    year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    measured: Text = Field(description="what the source measured or states, in its own figures")
    note: str = ""


class SourceList(Frozen):
    """The file `provenance.sources` names (config/sources.yaml)."""

    sources: Annotated[list[Source], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> SourceList:
        ids = [s.id for s in self.sources]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"expected each source id once, got repeated {twice!r}")
        return self


class Entry(Frozen):
    """Where one parameter (or group) comes from: a source, an assumption with its reason, or both
    (an assumption informed by a source, such as a value picked inside a sourced range)."""

    source: Annotated[str, Field(pattern=SOURCE_ID)] | None = None
    assumption: Text | None = None
    note: str = ""

    @model_validator(mode="after")
    def _says_something(self) -> Entry:
        if self.source is None and self.assumption is None:
            raise ValueError(
                "expected a source id (source: ...) or the reasoning of an assumption "
                "(assumption: ...), got neither"
            )
        return self

    @property
    def kind(self) -> str:
        """`assumption` when the value rests on reasoning, else `source`."""
        return "assumption" if self.assumption is not None else "source"


class ProvenanceSpec(Frozen):
    """The `provenance` group of a scenario file, as written."""

    sources: Annotated[str, Field(min_length=1, description="source list, relative to the file")]
    parameters: dict[str, Entry] = Field(default_factory=dict)


class ParameterProvenance(Frozen):
    """What the loader attaches to a scenario: its entries, the sources they may cite, and the
    value of every parameter and entry path as the file gave it (to tell a changed value apart)."""

    sources_file: str | None = None
    sources: dict[str, Source] = Field(default_factory=dict)
    entries: dict[str, Entry] = Field(default_factory=dict)
    parameters: tuple[str, ...] = ()
    file_values: dict[str, Any] = Field(default_factory=dict)

    def covering(self, path: str) -> str | None:
        """The entry that covers ``path``: the path itself or its nearest enclosing group."""
        # The keys that cover a path are its prefixes that end where a step does: the longest one
        # in the entries, found by the path's length, not the entries' (every report asks this
        # of every parameter).
        if path in self.entries:
            return path
        for end in range(len(path) - 1, 0, -1):
            if path[end] in ".[" and path[:end] in self.entries:
                return path[:end]
        return None

    @property
    def missing(self) -> list[str]:
        """Parameters no entry covers, in the scenario's order."""
        return [p for p in self.parameters if self.covering(p) is None]


def split_path(path: str) -> list[str | int] | None:
    """`a.b[2].c` -> ['a', 'b', 2, 'c']; None when ``path`` is not written that way."""
    steps: list[str | int] = []
    pos = 0
    while pos < len(path):
        if steps and path[pos] == ".":
            pos += 1
        match = _STEP.match(path, pos)
        if match is None:
            return None
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    return steps or None


def lookup(data: Any, path: str) -> tuple[bool, Any]:
    """(found, value) of ``path`` in the dumped scenario ``data``."""
    steps = split_path(path)
    if steps is None:
        return False, None
    node = data
    for step in steps:
        in_list = isinstance(step, int) and isinstance(node, list) and step < len(node)
        in_dict = isinstance(step, str) and isinstance(node, dict) and step in node
        if not (in_list or in_dict):
            return False, None
        node = node[step]
    return True, node


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def numeric_parameters(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every parameter of the dumped scenario ``data``: (path, value), in the file's order."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from numeric_parameters(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list):
        if any(_is_number(item) for item in data):
            yield prefix, data
        else:
            for i, item in enumerate(data):
                yield from numeric_parameters(item, f"{prefix}[{i}]")
    elif _is_number(data):
        yield prefix, data


def attach(
    spec: ProvenanceSpec | None, sources: SourceList | None, sources_file: str | None, data: Any
) -> tuple[ParameterProvenance, list[str]]:
    """Check ``spec`` against the dumped scenario ``data`` and the source list; the provenance
    to attach and one problem per unknown path or source id (field path first)."""
    parameters = tuple(path for path, _ in numeric_parameters(data))
    values = dict(numeric_parameters(data))
    if spec is None:
        return ParameterProvenance(parameters=parameters, file_values=values), []
    known = {s.id: s for s in sources.sources} if sources is not None else {}
    problems = []
    for key, entry in spec.parameters.items():
        found, value = lookup(data, key)
        if not found:
            problems.append(
                f"scenario.provenance.parameters: expected paths of this scenario's fields "
                f"(such as tiers.town.staff), got unknown {key!r}"
            )
            continue
        values.setdefault(key, value)
        if entry.source is not None and entry.source not in known:
            problems.append(
                f"scenario.provenance.parameters.{key}.source: expected a source id listed in "
                f"{sources_file}, got unknown {entry.source!r}"
            )
    provenance = ParameterProvenance(
        sources_file=sources_file,
        sources=known,
        entries=dict(spec.parameters),
        parameters=parameters,
        file_values=values,
    )
    return provenance, problems


def source_list_problems(where: str, exc: ValidationError) -> list[str]:
    """One line per problem of a source list file: `{where}: sources[3].url: ..., got ...`."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        got = repr(err.get("input"))
        got = got if len(got) <= 80 else got[:77] + "..."
        lines.append(f"{where}: {loc.lstrip('.') or 'sources'}: {message}, got {got}")
    return lines
