"""Municipality topology: load the district data and generate towns, grids, members, risk points.

Two steps. ``load_topology`` reads and validates the YAML data (``config/topology/*.yaml``) into a
``TopologySource``. ``generate_city`` turns a source into a ``City`` with a seeded generator:

1. The city totals (grids, micro-grids, members, risk points), multiplied by ``scale`` and rounded,
   are apportioned over *all* districts in proportion to population (largest remainder, so sums are
   exact). Subsets are taken afterwards, so a district's figures never depend on which other
   districts were kept.
2. Town populations within a district are drawn from gamma-distributed weights (shape 2) and
   apportioned so they sum to the district's population exactly.
3. Each district's figures are apportioned over its towns in proportion to town population.

Floors: when the scaled members total is at least the number of towns in the source, every town
gets at least 1 grid, 1 micro-grid and 1 member. This may lift the grid (and micro-grid) total
above the scaled figure at small scales (at scale 0.01: 1,031 grids rather than 620), because a
town whose members belong to no grid makes no sense to the model. Micro-grids are apportioned as
"the town's grids plus a share of the surplus", so ``micro_grids >= grids`` holds for every town.
Below that threshold counts may be zero, never negative. Risk points have no floor.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

__all__ = [
    "City",
    "District",
    "DistrictSource",
    "TopologyError",
    "TopologySource",
    "Totals",
    "Town",
    "district_team_id",
    "district_totals",
    "generate_city",
    "load_topology",
    "member_id",
    "risk_point_id",
    "town_team_id",
]

DISTRICT_KINDS: Final = ("district", "county", "autonomous_county")
# Town codes append a 3-digit index to the district code.
MAX_TOWNS_PER_DISTRICT: Final = 999
# Gamma shape 2 gives towns of visibly unequal size without many near-empty ones.
TOWN_WEIGHT_SHAPE: Final = 2.0
# Gamma weights are turned into integers so that apportionment is exact integer arithmetic.
_WEIGHT_RESOLUTION: Final = 1_000_000


class TopologyError(ValueError):
    """Bad topology data or arguments; the message names field, value found and value expected."""


# --------------------------------------------------------------------------- generated city


@dataclass(frozen=True, slots=True)
class Town:
    code: str  # 9 digits: district code + 3-digit index from 001
    name: str
    district: str  # 6-digit district code
    population: int
    grids: int
    micro_grids: int
    members: int  # grid members (responders)
    risk_points: int
    team_size: int  # town duty team size


@dataclass(frozen=True, slots=True)
class District:
    code: str
    name: str
    name_zh: str
    # The district's real population; equals the sum over towns unless towns_per_district cut them.
    population: int
    team_size: int  # district duty team size
    towns: tuple[Town, ...]

    @property
    def grids(self) -> int:
        return sum(t.grids for t in self.towns)

    @property
    def micro_grids(self) -> int:
        return sum(t.micro_grids for t in self.towns)

    @property
    def members(self) -> int:
        return sum(t.members for t in self.towns)

    @property
    def risk_points(self) -> int:
        return sum(t.risk_points for t in self.towns)


@dataclass(frozen=True, slots=True)
class City:
    name: str
    districts: tuple[District, ...]

    @property
    def towns(self) -> tuple[Town, ...]:
        return tuple(t for d in self.districts for t in d.towns)

    @property
    def grids(self) -> int:
        return sum(d.grids for d in self.districts)

    @property
    def micro_grids(self) -> int:
        return sum(d.micro_grids for d in self.districts)

    @property
    def members(self) -> int:
        return sum(d.members for d in self.districts)

    @property
    def risk_points(self) -> int:
        return sum(d.risk_points for d in self.districts)

    @property
    def population(self) -> int:
        """People living in the towns simulated (sum over towns)."""
        return sum(t.population for d in self.districts for t in d.towns)

    def district(self, code: str) -> District:
        for d in self.districts:
            if d.code == code:
                return d
        raise KeyError(
            f"{self.name}: unknown district code {code!r}; "
            f"expected one of {_brief_codes([d.code for d in self.districts])}"
        )


# --------------------------------------------------------------------------- source data


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


# --------------------------------------------------------------------------- ids


def member_id(town_code: str, index: int) -> str:
    """Id of grid member ``index`` (0-based) of a town: ``500101001-m0042``."""
    return f"{_checked_code(town_code, 9, 'town_code')}-m{_checked_index(index):04d}"


def district_team_id(district_code: str, index: int) -> str:
    """Id of duty-team member ``index`` (0-based) of a district: ``500101-d01``."""
    return f"{_checked_code(district_code, 6, 'district_code')}-d{_checked_index(index):02d}"


def town_team_id(town_code: str, index: int) -> str:
    """Id of duty-team member ``index`` (0-based) of a town: ``500101001-t01``."""
    return f"{_checked_code(town_code, 9, 'town_code')}-t{_checked_index(index):02d}"


def risk_point_id(town_code: str, index: int) -> str:
    """Id of risk point ``index`` (0-based) of a town: ``500101001-r0042``."""
    return f"{_checked_code(town_code, 9, 'town_code')}-r{_checked_index(index):04d}"


def _checked_code(code: str, digits: int, what: str) -> str:
    if len(code) != digits or not code.isdigit():
        raise ValueError(f"{what}: expected a {digits}-digit code, got {code!r}")
    return code


def _checked_index(index: int) -> int:
    if index < 0:
        raise ValueError(f"index: expected a non-negative integer, got {index}")
    return index


# --------------------------------------------------------------------------- loading


def load_topology(path: Path) -> TopologySource:
    """Read and validate a topology YAML file; problems raise ``TopologyError`` naming the field."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TopologyError(f"{path}: cannot read the topology file: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TopologyError(f"{path}: not valid YAML: {exc}") from exc
    return _Reader(str(path)).source(data)


class _Reader:
    """Validates the parsed YAML, prefixing every error with the file and the field path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, field: str, expected: str, value: object) -> TopologyError:
        return self.fail_as(field, expected, _show(value))

    def fail_as(self, field: str, expected: str, found: str) -> TopologyError:
        return TopologyError(f"{self.file}: {field}: expected {expected}, got {found}")

    def mapping(self, value: object, field: str, keys: Sequence[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(field, f"a mapping with keys {', '.join(keys)}", value)
        unknown = sorted(str(k) for k in value if k not in keys)
        if unknown:
            raise self.fail_as(
                f"{field}.{unknown[0]}", f"only the keys {', '.join(keys)}", "an unknown key"
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
        top = self.mapping(data, "(top level)", ("city", "totals", "districts"))
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


def _brief_codes(codes: Sequence[str]) -> str:
    if len(codes) <= 6:
        return ", ".join(codes)
    return f"{', '.join(codes[:4])}, ..., {codes[-1]} ({len(codes)} codes)"


# --------------------------------------------------------------------------- generation


def district_totals(source: TopologySource, *, scale: float = 1.0) -> dict[str, Totals]:
    """Step 1: the scaled city totals apportioned over every district, by population.

    ``generate_city`` spreads exactly these figures over each district's towns.
    """
    _check_scale(scale)
    grids, micro_grids, members, risk_points, floors = _scaled_totals(source, scale)
    weights = [d.population for d in source.districts]
    minimums = [d.towns if floors else 0 for d in source.districts]
    zeros = [0] * len(weights)
    g = _apportion(grids, weights, minimums)
    extra = _apportion(micro_grids - grids, weights, zeros)
    m = _apportion(members, weights, minimums)
    r = _apportion(risk_points, weights, zeros)
    return {
        d.code: Totals(grids=g[i], micro_grids=g[i] + extra[i], members=m[i], risk_points=r[i])
        for i, d in enumerate(source.districts)
    }


def generate_city(
    source: TopologySource,
    *,
    seed: int,
    scale: float = 1.0,
    districts: Sequence[str] | None = None,
    towns_per_district: int | None = None,
    district_team_size: int = 4,
    town_team_size: int = 3,
) -> City:
    """Generate the city (or the chosen districts of it) from ``source``; same inputs, same city.

    ``districts`` keeps those codes in the given order and ``towns_per_district`` keeps the first N
    towns of each; neither changes any kept district's or town's figures.
    """
    _check_scale(scale)
    kept = _kept_districts(source, districts)
    if towns_per_district is not None and (
        isinstance(towns_per_district, bool) or towns_per_district < 1
    ):
        raise TopologyError(
            f"towns_per_district: expected a positive integer or None, got {towns_per_district!r}"
        )
    for field, size in (
        ("district_team_size", district_team_size),
        ("town_team_size", town_team_size),
    ):
        if isinstance(size, bool) or size < 0:
            raise TopologyError(f"{field}: expected a non-negative integer, got {size!r}")

    # Draw every district's town weights in source order, kept or not, so that a district's towns
    # are the same whichever subset is asked for.
    rng = random.Random(f"{seed}:topology")
    town_weights = {
        d.code: [
            int(rng.gammavariate(TOWN_WEIGHT_SHAPE, 1.0) * _WEIGHT_RESOLUTION) + 1
            for _ in range(d.towns)
        ]
        for d in source.districts
    }
    shares = district_totals(source, scale=scale)
    floors = _scaled_totals(source, scale)[4]
    by_code = {d.code: d for d in source.districts}
    built = tuple(
        _generate_district(
            by_code[code],
            shares[code],
            town_weights[code],
            floors=floors,
            keep_towns=towns_per_district,
            district_team_size=district_team_size,
            town_team_size=town_team_size,
        )
        for code in kept
    )
    return City(name=source.name, districts=built)


def _generate_district(
    d: DistrictSource,
    share: Totals,
    weights: list[int],
    *,
    floors: bool,
    keep_towns: int | None,
    district_team_size: int,
    town_team_size: int,
) -> District:
    n = d.towns
    zeros = [0] * n
    populations = _apportion(d.population, weights, [1] * n if d.population >= n else zeros)
    ones = [1] * n if floors else zeros
    grids = _apportion(share.grids, populations, ones)
    extra = _apportion(share.micro_grids - share.grids, populations, zeros)
    members = _apportion(share.members, populations, ones)
    risk_points = _apportion(share.risk_points, populations, zeros)
    count = n if keep_towns is None else min(n, keep_towns)
    towns = tuple(
        Town(
            code=f"{d.code}{i + 1:03d}",
            name=f"{d.name} town {i + 1:03d}",
            district=d.code,
            population=populations[i],
            grids=grids[i],
            micro_grids=grids[i] + extra[i],
            members=members[i],
            risk_points=risk_points[i],
            team_size=town_team_size,
        )
        for i in range(count)
    )
    return District(
        code=d.code,
        name=d.name,
        name_zh=d.name_zh,
        population=d.population,
        team_size=district_team_size,
        towns=towns,
    )


def _check_scale(scale: float) -> None:
    if not (isinstance(scale, int | float) and 0 < scale <= 1):
        raise TopologyError(f"scale: expected a number with 0 < scale <= 1, got {scale!r}")


def _scaled_totals(source: TopologySource, scale: float) -> tuple[int, int, int, int, bool]:
    """Scaled (grids, micro_grids, members, risk_points) and whether per-town floors apply."""
    t = source.totals
    grids, micro_grids, members, risk_points = (
        math.floor(x * scale + 0.5) for x in (t.grids, t.micro_grids, t.members, t.risk_points)
    )
    towns = sum(d.towns for d in source.districts)
    floors = members >= towns
    if floors:
        grids = max(grids, towns)
        micro_grids = max(micro_grids, grids)
    return grids, micro_grids, members, risk_points, floors


def _apportion(total: int, weights: Sequence[int], minimums: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights``, each part at least its minimum; sums exactly.

    Largest-remainder method in exact integer arithmetic; ties go to the earlier unit. Units whose
    proportional quota falls below their minimum are fixed at the minimum and the rest is
    apportioned again among the others, so the floors distort only the units they lift.
    """
    n = len(weights)
    if n == 0:
        if total:
            raise ValueError(f"cannot apportion {total} over no units")
        return []
    if total < sum(minimums):
        raise ValueError(f"cannot apportion {total} with minimums summing to {sum(minimums)}")
    parts = [0] * n
    free = list(range(n))
    remaining = total
    while True:
        weight = sum(weights[i] for i in free)
        eff = [weights[i] if weight > 0 else 1 for i in free]
        weight = weight if weight > 0 else len(free)
        lifted = [i for i, w in zip(free, eff, strict=True) if remaining * w < minimums[i] * weight]
        if not lifted:
            break
        for i in lifted:
            parts[i] = minimums[i]
            remaining -= minimums[i]
        lifted_set = set(lifted)
        free = [i for i in free if i not in lifted_set]
    floors = [remaining * w // weight for w in eff]
    leftover = remaining - sum(floors)
    by_remainder = sorted(range(len(free)), key=lambda k: (-(remaining * eff[k] % weight), k))
    for k in by_remainder[:leftover]:
        floors[k] += 1
    for k, i in enumerate(free):
        parts[i] = floors[k]
    return parts


def _kept_districts(source: TopologySource, codes: Sequence[str] | None) -> list[str]:
    valid = [d.code for d in source.districts]
    if codes is None:
        return valid
    if isinstance(codes, str):
        raise TopologyError(
            f"districts: expected a sequence of district codes, got the string {codes!r}"
        )
    if not codes:
        raise TopologyError(
            "districts: expected at least one district code (or None for all), got none"
        )
    known = set(valid)
    seen: set[str] = set()
    for i, code in enumerate(codes):
        if code not in known:
            raise TopologyError(
                f"districts[{i}]: unknown district code {code!r}; "
                f"expected one of the {len(valid)} codes of {source.name}: {_brief_codes(valid)}"
            )
        if code in seen:
            raise TopologyError(f"districts[{i}]: district code {code!r} is listed twice")
        seen.add(code)
    return list(codes)
