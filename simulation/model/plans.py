"""Whom the city's alerts can target: each district's plan of teams, towns and grid members.

The dispatcher's policy reads plans (`dispatcher.core.plan`), not the city: here the city's
districts become `DistrictPlan`s once per run, each town's risk points dealt out to its grid
members, and a warning for some towns only narrows its districts' plans to them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from itertools import repeat

from dispatcher.core.plan import DistrictPlan, Recipient, Tier, TownPlan
from simulation.topology.city import (
    City,
    District,
    Town,
    district_team_id,
    member_ids,
    risk_point_ids,
    town_team_id,
)

_GRID: Tier = "grid"
# A recipient from its fields' tuple, all in C (no Python frame per recipient as
# `Recipient(...)` has): a city has 121,000 grid members; half the instructions of a
# `map(Recipient, ...)`, a fifth of the frozen dataclass Recipient was.
_new_recipient: Callable[[tuple[str, Tier, str, str, tuple[str, ...]]], Recipient] = partial(
    tuple.__new__, Recipient
)


def district_plans(city: City) -> dict[str, DistrictPlan]:
    """Every district's plan by code; with a drawn alert area, only the towns it selected."""
    return {d.code: _district_plan(d, city.alert_towns) for d in city.districts}


def narrowed_plan(
    plans: Mapping[str, DistrictPlan], district: str, towns: tuple[str, ...]
) -> DistrictPlan:
    """The district's plan, narrowed to ``towns`` when any of them is in it."""
    plan = plans[district]
    if not any(town.startswith(district) for town in towns):
        return plan
    return DistrictPlan(plan.code, plan.team, tuple(t for t in plan.towns if t.code in towns))


def _district_plan(district: District, inside: frozenset[str] | None) -> DistrictPlan:
    team = tuple(
        Recipient(district_team_id(district.code, i), "district", district.code, "")
        for i in range(district.team_size)
    )
    towns = [t for t in district.towns if inside is None or t.code in inside]
    return DistrictPlan(district.code, team, tuple(_town_plan(t) for t in towns))


def _town_plan(town: Town) -> TownPlan:
    code, district = town.code, town.district
    team = tuple(
        Recipient(town_team_id(code, i), "town", district, code) for i in range(town.team_size)
    )
    # Risk points go round-robin to the town's grid members: member i covers points i, i + n, ...
    n = town.members
    points = tuple(risk_point_ids(code, town.risk_points if n else 0))
    fields = zip(
        member_ids(code, n),
        repeat(_GRID, n),
        repeat(district, n),
        repeat(code, n),
        [points[i::n] for i in range(n)],
        strict=True,
    )
    members = tuple(map(_new_recipient, fields))
    return TownPlan(code, district, team, members)
