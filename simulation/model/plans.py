"""Whom the city's alerts can target: each district's plan of teams, towns and grid members.

The dispatcher's policy reads plans (`dispatcher.core.plan`), not the city: here the city's
districts become `DistrictPlan`s once per run, each town's risk points dealt out to its grid
members, and a warning for some towns only narrows its districts' plans to them.
"""

from __future__ import annotations

from collections.abc import Mapping

from dispatcher.core.plan import DistrictPlan, Recipient, TownPlan
from simulation.topology.city import (
    City,
    District,
    Town,
    district_team_id,
    member_ids,
    risk_point_ids,
    town_team_id,
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
    team = tuple(
        Recipient(town_team_id(town.code, i), "town", town.district, town.code)
        for i in range(town.team_size)
    )
    # Risk points go round-robin to the town's grid members: member i covers points i, i + n, ...
    n = town.members
    points = risk_point_ids(town.code, town.risk_points if n else 0)
    code, district = town.code, town.district
    members = tuple(
        Recipient(member, "grid", district, code, tuple(points[i::n]))
        for i, member in enumerate(member_ids(code, n))
    )
    return TownPlan(town.code, town.district, team, members)
