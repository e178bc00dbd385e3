"""Real CAP alerts as the warnings of a run: when, at what level, to which districts and towns.

``alertsim run SCENARIO --cap ALERT.xml [--cap UPDATE.xml ...]`` replays CAP messages instead of
the hazard's warnings: each is issued at its ``sent`` time relative to the first message's, to
the towns (or whole districts) its areas name by CPEAS geocode, and the towns its polygons and
circles cover on a city placed on its boundaries (:mod:`simulation.geo.areas`), at its warning
level (the ``alertsim:warningLevel`` parameter, else its severity). Pure: it reads nothing, it
checks the messages against the city and lists every problem.

An Update or a Cancel is replayed as what it is, its ``references`` resolved to the messages
replayed before it (an identifier among them, whatever the sender and sent time say): the
Update supersedes them for the recipients it targets, the Cancel withdraws them in its area
(`dispatcher.core.lifecycle`). A reference to no earlier replayed message is an error naming it.
A Cancel keeps the warning level of the latest message it refers to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from dispatcher.errors import AlertsimError
from dispatcher.wire.alerts import InfoText
from dispatcher.wire.messages import (
    CPEAS_GEOCODE,
    Alert,
    Area,
    MsgType,
    Severity,
    WarningLevel,
)
from simulation.hazards import WarningIssued
from simulation.topology.city import City

__all__ = ["ReplayError", "replay_warnings"]

_LEVEL_BY_SEVERITY: Final[dict[Severity, WarningLevel]] = {
    Severity.EXTREME: "red",
    Severity.SEVERE: "orange",
    Severity.MODERATE: "yellow",
    Severity.MINOR: "blue",
}


_REPLAYED: Final = (MsgType.ALERT, MsgType.UPDATE, MsgType.CANCEL)


class ReplayError(AlertsimError, ValueError):
    """CAP messages that cannot be replayed on this city; ``problems`` has one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(*problems)
        self.problems = tuple(problems)

    def __str__(self) -> str:
        more = len(self.problems) - 1
        return self.problems[0] + (f" (and {more} more)" if more else "")


def _level(alert: Alert, problems: list[str]) -> WarningLevel:
    for info in alert.infos:
        if info.warning_level is not None:
            return info.warning_level
    level = _LEVEL_BY_SEVERITY.get(alert.info.severity)
    if level is None:
        problems.append(
            f"{alert.identifier}: expected an alertsim:warningLevel parameter or a severity of "
            f"Extreme, Severe, Moderate or Minor, got {alert.info.severity}"
        )
        return "red"
    return level


def _shape_towns(area: Area, city: City, where: str, problems: list[str]) -> set[str]:
    """The towns an area's polygons and circles cover, on a city placed on its boundaries."""
    if not (area.polygons or area.circles):
        return set()
    from simulation.geo.placement import CityGeometry

    if not isinstance(city.geometry, CityGeometry):
        problems.append(
            f"{where}: expected a city placed on its boundaries (topology.geometry: true) to "
            f"resolve polygons and circles, got a city without geometry"
        )
        return set()
    from simulation.geo.areas import AreaError, cap_polygon, towns_in_area
    from simulation.geo.areas import Circle as GroundCircle

    try:
        return set(
            towns_in_area(
                city.geometry,
                [cap_polygon(polygon) for polygon in area.polygons],
                [GroundCircle(c.longitude, c.latitude, c.radius_km * 1000) for c in area.circles],
            )
        )
    except AreaError as exc:
        problems.append(f"{where}: {exc}")
        return set()


def _targets(alert: Alert, city: City, problems: list[str]) -> tuple[set[str], set[str]]:
    """(whole districts, towns) the alert's areas name, checked against the city."""
    districts = {d.code for d in city.districts}
    towns = {t.code for t in city.towns}
    whole: set[str] = set()
    named: set[str] = set()
    unknown: list[str] = []
    shapes_only = False
    for info in alert.infos:
        for area in info.areas:
            villages = [
                g.value[:9] for g in area.geocodes if g.value_name == CPEAS_GEOCODE
            ]  # a village targets its town
            shaped = _shape_towns(area, city, alert.identifier, problems)
            area_towns = [*area.towns, *villages, *sorted(shaped)]
            if area_towns:
                named.update(area_towns)
                unknown += [code for code in area_towns if code not in towns]
            else:
                whole.update(area.districts)
                unknown += [code for code in area.districts if code not in districts]
            if (
                not area.districts
                and not villages
                and not shaped
                and (area.polygons or area.circles)
            ):
                shapes_only = True
    if unknown:
        problems.append(
            f"{alert.identifier}: expected division codes of the scenario's city, got "
            f"{', '.join(sorted(set(unknown)))}"
        )
    elif not whole and not named:
        shape = " (its polygons and circles cover no town)" if shapes_only else ""
        problems.append(
            f"{alert.identifier}: expected an area with CPEAS geocodes (6-digit districts, "
            f"9-digit towns, 12-digit codes), got none{shape}"
        )
    return whole, {town for town in named if town[:6] not in whole}


def replay_warnings(alerts: Sequence[Alert], city: City) -> list[WarningIssued]:
    """The warnings of ``alerts`` (in ``sent`` order) on ``city``; ReplayError lists problems."""
    problems: list[str] = []
    ordered = sorted(alerts, key=lambda alert: alert.sent)
    seen: set[str] = set()
    warnings: list[WarningIssued] = []
    levels: dict[str, WarningLevel] = {}
    for alert in ordered:
        if alert.identifier in seen:
            problems.append(f"{alert.identifier}: expected each identifier once, got it twice")
        if alert.msg_type not in _REPLAYED:
            problems.append(
                f"{alert.identifier}: expected msgType Alert, Update or Cancel to replay, got "
                f"{alert.msg_type}"
            )
            continue
        references = tuple(ref.identifier for ref in alert.references)
        unknown = [ref for ref in references if ref not in seen]
        if unknown:
            problems.append(
                f"{alert.identifier}: expected references to messages replayed before it, got "
                f"{', '.join(unknown)}"
            )
        seen.add(alert.identifier)
        known = [levels[ref] for ref in references if ref in levels]
        cancel = alert.msg_type == MsgType.CANCEL and known
        level = known[-1] if cancel else _level(alert, problems)
        levels[alert.identifier] = level
        whole, towns = _targets(alert, city, problems)
        at_s = (alert.sent - ordered[0].sent).total_seconds()
        expires = alert.info.expires
        warnings.append(
            WarningIssued(
                at_s,
                level,
                tuple(sorted(whole | {town[:6] for town in towns})),
                towns=tuple(sorted(towns)),
                identifier=alert.identifier,
                expires_s=None if expires is None else (expires - alert.sent).total_seconds(),
                msg_type=alert.msg_type.value,  # type: ignore[arg-type]
                references=references,
                texts=tuple(
                    InfoText(i.language, i.event, i.headline, i.instruction, i.area.area_desc)
                    for i in alert.infos
                ),
            )
        )
    if problems:
        raise ReplayError(problems)
    return warnings
