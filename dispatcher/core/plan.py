"""Who an alert targets and through which centers: the directory the policy works from.

A command center knows its own hierarchy: the districts under the municipal center, the towns
under each district, and the duty teams and grid members of each town. `AlertPlan` is that
knowledge cut to one alert's area. It is plain data, built once per alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

Tier = Literal["district", "town", "grid"]
TIERS: tuple[Tier, ...] = ("district", "town", "grid")
CenterTier = Literal["municipal", "district", "town"]
FlagCause = Literal[
    "unreachable", "expired", "unavailable", "cancelled", "unacknowledged", "superseded"
]
# The causes report.json counts: those a run of the model can end with. "unacknowledged" is the
# policy's answer to DeadlinePassed, which only the live dispatcher feeds (its --deadline-s);
# "superseded" ends a state whose recipient carries on in a newer message (an Update), so the
# report counts the recipient there, not here (dispatcher.core.lifecycle).
FLAG_CAUSES: tuple[FlagCause, ...] = ("unreachable", "expired", "unavailable", "cancelled")
_ALL_FLAG_CAUSES: tuple[FlagCause, ...] = (*FLAG_CAUSES, "unacknowledged", "superseded")
# CAP message types a plan may be: a first Alert, an Update of earlier ones, or a Cancel.
MsgKind = Literal["Alert", "Update", "Cancel"]


def flag_cause(text: str) -> FlagCause:
    """``text`` (a cause stored as text, as in the dispatcher's journal) as a FlagCause."""
    for cause in _ALL_FLAG_CAUSES:
        if text == cause:
            return cause
    raise ValueError(f"flag cause: expected one of {', '.join(_ALL_FLAG_CAUSES)}, got {text!r}")


class Recipient(NamedTuple):
    """One responder: a district or town duty-team member, or a grid member.

    A named tuple, not a frozen dataclass: a city's plans hold one per responder (124,245), and
    a tuple is built in C, about a third of the instructions of a frozen dataclass's
    ``__init__`` (one ``object.__setattr__`` per field). Equal recipients hash alike either way.
    """

    id: str
    tier: Tier
    district: str
    town: str  # "" for district duty teams
    risk_points: tuple[str, ...] = ()  # risk points this responder covers (grid members only)


@dataclass(frozen=True, slots=True)
class Center:
    """A command center: the municipal center, a district center or a town center."""

    tier: CenterTier
    code: str  # "" for the municipal center, else the district or town code


MUNICIPAL = Center("municipal", "")


@dataclass(frozen=True, slots=True)
class TownPlan:
    code: str
    district: str
    team: tuple[Recipient, ...]
    members: tuple[Recipient, ...]

    @property
    def center(self) -> Center:
        return Center("town", self.code)


@dataclass(frozen=True, slots=True)
class DistrictPlan:
    code: str
    team: tuple[Recipient, ...]
    towns: tuple[TownPlan, ...]

    @property
    def center(self) -> Center:
        return Center("district", self.code)


@dataclass(frozen=True, slots=True)
class AlertPlan:
    """One alert's targets, grouped the way the tiers relay it."""

    alert_id: str
    issued_at_s: float
    expires_at_s: float
    districts: tuple[DistrictPlan, ...]
    # An Update or Cancel names the earlier alerts it supersedes or withdraws (CAP references)
    msg_type: MsgKind = "Alert"
    references: tuple[str, ...] = ()

    def recipients(self) -> list[Recipient]:
        out: list[Recipient] = []
        for district in self.districts:
            out.extend(district.team)
            for town in district.towns:
                out.extend(town.team)
                out.extend(town.members)
        return out
