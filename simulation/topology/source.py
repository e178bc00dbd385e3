"""Topology source data: read and validate a district YAML file into a ``TopologySource``.

The files are ``config/topology/*.yaml``: the city (name, code, population), its totals (grids,
micro-grids, members, risk points), one entry per district and, optionally, ``boundaries``: the
district boundaries file (GeoJSON), relative to the topology file. Every problem raises
``TopologyError`` naming the file, the field, what was found and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import yaml

from dispatcher.errors import AlertsimError
from simulation.inputs import InputError, decode_text, load_yaml, read_bounded, yaml_problem

__all__ = [
    "DISTRICT_KINDS",
    "MAX_TOPOLOGY_BYTES",
    "MAX_TOWNS_PER_DISTRICT",
    "DistrictSource",
    "TopologyError",
    "TopologySource",
    "Totals",
    "load_topology",
]

DISTRICT_KINDS: Final = ("district", "county", "autonomous_county")
MAX_TOPOLOGY_BYTES: Final = 10 * 1024 * 1024
# Town codes append a 3-digit index to the district code.
MAX_TOWNS_PER_DISTRICT: Final = 999


class TopologyError(AlertsimError, ValueError):
    """Bad topology data or arguments; the message names field, value found and value expected."""


@dataclass(frozen=True, slots=True)
class Totals:
    grids: int
    micro_grids: int
    members: int
    risk_points: int


@dataclass(frozen=True, slots=True)
class DistrictSource:
    code: str
    name: str
    name_zh: str
    kind: str
    towns: int
    population: int
    population_estimated: bool
    area_km2: float | None


@dataclass(frozen=True, slots=True)
class TopologySource:
    name: str
    population: int
    totals: Totals
    districts: tuple[DistrictSource, ...]
    # The district boundaries (GeoJSON) the file names, resolved; None when it names none.
    boundaries: Path | None = None


def load_topology(path: Path) -> TopologySource:
    """Read and validate a topology YAML file; problems raise ``TopologyError`` naming the field."""
    try:
        text = decode_text(read_bounded(Path(path), MAX_TOPOLOGY_BYTES), str(path))
    except InputError as exc:
        raise TopologyError(f"{path}: {exc}") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise TopologyError(f"{path}: expected valid YAML, got {yaml_problem(exc)}") from None
    if not isinstance(data, Mapping):
        # only the type: a file that is not a topology (a key, say) must not be quoted
        raise TopologyError(
            f"{path}: expected a mapping of topology fields, got a {type(data).__name__}"
        )
    source = _Reader(str(path)).source(data)
    if isinstance(data, Mapping) and "boundaries" in data:
        boundaries = data["boundaries"]
        if not isinstance(boundaries, str) or not boundaries.strip():
            raise TopologyError(
                f"{path}: boundaries: expected a path to a GeoJSON file (relative to the "
                f"topology file), got {_show(boundaries)}"
            )
        source = replace(source, boundaries=(Path(path).parent / boundaries).resolve())
    return source


class _Reader:
    """Validates the parsed YAML, prefixing every error with the file and the field path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, field: str, expected: str, value: object) -> TopologyError:
        return self.fail_as(field, expected, _show(value))

    def fail_as(self, field: str, expected: str, found: str) -> TopologyError:
        return TopologyError(f"{self.file}: {field}: expected {expected}, got {found}")

    def mapping(
        self, value: object, field: str, keys: Sequence[str], optional: Sequence[str] = ()
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(field, f"a mapping with keys {', '.join(keys)}", value)
        unknown = sorted(str(k) for k in value if k not in keys and k not in optional)
        if unknown:
            raise self.fail_as(
                f"{field}.{unknown[0]}",
                f"only the keys {', '.join([*keys, *optional])}",
                "an unknown key",
            )
        for key in keys:
            if key not in value:
                raise self.fail_as(f"{field}.{key}", "a value", "nothing (the field is missing)")
        return value

    def integer(self, value: object, field: str, minimum: int, maximum: int | None = None) -> int:
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= minimum
            and (maximum is None or value <= maximum)
        ):
            return value
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        if minimum == 0:
            kind = "a non-negative integer"
        raise self.fail(field, kind + (f" <= {maximum}" if maximum is not None else ""), value)

    def text(self, value: object, field: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "a non-empty string", value)
        return value

    def code(self, value: object, field: str) -> str:
        if not isinstance(value, str) or len(value) != 6 or not value.isdigit():
            raise self.fail(field, 'a 6-digit code as a quoted string (e.g. "500101")', value)
        return value

    def source(self, data: object) -> TopologySource:
        top = self.mapping(data, "(top level)", ("city", "totals", "districts"), ("boundaries",))
        city = self.mapping(top["city"], "city", ("name", "code", "population"))
        name = self.text(city["name"], "city.name")
        self.code(city["code"], "city.code")
        population = self.integer(city["population"], "city.population", 1)
        totals = self.totals(top["totals"])
        raw = top["districts"]
        if not isinstance(raw, list) or not raw:
            raise self.fail("districts", "a non-empty list of districts", raw)
        districts = tuple(self.district(item, f"districts[{i}]") for i, item in enumerate(raw))
        seen: dict[str, int] = {}
        for i, d in enumerate(districts):
            if d.code in seen:
                raise self.fail(
                    f"districts[{i}].code",
                    f"a code not used before (districts[{seen[d.code]}])",
                    d.code,
                )
            seen[d.code] = i
        district_sum = sum(d.population for d in districts)
        if district_sum != population:
            raise self.fail(
                "city.population",
                f"the sum of districts[*].population ({district_sum})",
                population,
            )
        return TopologySource(name=name, population=population, totals=totals, districts=districts)

    def totals(self, value: object) -> Totals:
        keys = ("grids", "micro_grids", "members", "risk_points")
        raw = self.mapping(value, "totals", keys)
        grids, micro_grids, members, risk_points = (
            self.integer(raw[k], f"totals.{k}", 0) for k in keys
        )
        if micro_grids < grids:
            raise self.fail("totals.micro_grids", f"at least totals.grids ({grids})", micro_grids)
        return Totals(
            grids=grids, micro_grids=micro_grids, members=members, risk_points=risk_points
        )

    def district(self, value: object, field: str) -> DistrictSource:
        keys = (
            "code",
            "name",
            "name_zh",
            "kind",
            "towns",
            "population",
            "population_estimated",
            "area_km2",
        )
        raw = self.mapping(value, field, keys)
        kind = raw["kind"]
        if kind not in DISTRICT_KINDS:
            raise self.fail(f"{field}.kind", f"one of {', '.join(DISTRICT_KINDS)}", kind)
        estimated = raw["population_estimated"]
        if not isinstance(estimated, bool):
            raise self.fail(f"{field}.population_estimated", "true or false", estimated)
        area = raw["area_km2"]
        valid_area = isinstance(area, int | float) and not isinstance(area, bool) and area > 0
        if area is not None and not (valid_area and math.isfinite(area)):
            raise self.fail(f"{field}.area_km2", "a positive number or null", area)
        return DistrictSource(
            code=self.code(raw["code"], f"{field}.code"),
            name=self.text(raw["name"], f"{field}.name"),
            name_zh=self.text(raw["name_zh"], f"{field}.name_zh"),
            kind=str(kind),
            towns=self.integer(raw["towns"], f"{field}.towns", 1, MAX_TOWNS_PER_DISTRICT),
            population=self.integer(raw["population"], f"{field}.population", 1),
            population_estimated=estimated,
            area_km2=None if area is None else float(area),
        )


def _show(value: object) -> str:
    """A found value as the YAML author would recognise it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
