"""Municipality topology: generate a city's towns, grids, members and risk points, and their ids.

``generate_city`` turns a ``TopologySource`` (read and validated by
:func:`simulation.topology.source.load_topology`) into a ``City`` with a seeded generator:

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from simulation.topology.source import DistrictSource, TopologyError, TopologySource, Totals

__all__ = [
    "City",
    "District",
    "Town",
    "WalkingLegs",
    "district_team_id",
    "district_totals",
    "generate_city",
    "member_id",
    "risk_point_id",
    "town_team_id",
]

# Gamma shape 2 gives towns of visibly unequal size without many near-empty ones.
TOWN_WEIGHT_SHAPE: Final = 2.0
# Gamma weights are turned into integers so that apportionment is exact integer arithmetic.
_WEIGHT_RESOLUTION: Final = 1_000_000


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


class WalkingLegs(Protocol):
    """Where a placed city's people and risk points are, as the lengths of the legs walked."""

    def leg_m(self, responder_id: str, town: str, points: Sequence[str], index: int) -> float:
        """Metres of leg `index` of a route: to `points[index]` from the risk point before it,
        or for the first leg from where the responder sets out."""
        ...


@dataclass(frozen=True, slots=True)
class City:
    name: str
    districts: tuple[District, ...]
    # Set when the scenario asks for geometry (simulation.geo.placement.with_geometry); the
    # model then walks these legs instead of drawing behaviour.risk_point_distance_m.
    geometry: WalkingLegs | None = None
    # Set when the hazard draws an alert area (simulation.geo.areas.towns_in_area): the towns
    # inside it. The world then alerts only these towns, and their districts' duty teams.
    alert_towns: frozenset[str] | None = None

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


def member_ids(town_code: str, count: int) -> list[str]:
    """Ids of a town's first ``count`` grid members, as `member_id` gives them one by one."""
    code = _checked_code(town_code, 9, "town_code")
    return list(map(code.__add__, _suffixes("m", count)))


def risk_point_ids(town_code: str, count: int) -> list[str]:
    """Ids of a town's first ``count`` risk points, as `risk_point_id` gives them one by one."""
    code = _checked_code(town_code, 9, "town_code")
    return list(map(code.__add__, _suffixes("r", count)))


# The ``-m0042`` and ``-r0042`` ends of ids, formatted once: a city's plans take 279,000 ids,
# and a concatenation is a fifth of the instructions of formatting the index each time.
_SUFFIXES: dict[str, list[str]] = {"m": [], "r": []}


def _suffixes(letter: str, count: int) -> list[str]:
    table = _SUFFIXES[letter]
    if len(table) < count:
        table.extend(f"-{letter}{i:04d}" for i in range(len(table), count))
    return table[:count]


def _checked_code(code: str, digits: int, what: str) -> str:
    if len(code) != digits or not code.isdigit():
        raise ValueError(f"{what}: expected a {digits}-digit code, got {code!r}")
    return code


def _checked_index(index: int) -> int:
    if index < 0:
        raise ValueError(f"index: expected a non-negative integer, got {index}")
    return index


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
