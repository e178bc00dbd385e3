"""One alert plan of the live dispatcher: loaded from JSON, encoded per recipient, grouped.

``alertsim dispatch --plan plan.json`` reads ``{alertId, level, expiresInS, recipients: [{id,
tier, district, town}]}``; :func:`alert_for` is the CAP alert one recipient gets, and
:func:`alert_plan` groups the recipients the way :mod:`dispatcher.core.policy` reads a hierarchy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from dispatcher.core.plan import AlertPlan, DistrictPlan, Recipient, TownPlan
from dispatcher.errors import AlertsimError
from dispatcher.wire.alerts import flood_alert
from dispatcher.wire.messages import encode_alert

__all__ = ["DispatchPlan", "PlanFileError", "alert_for", "alert_plan"]


class PlanFileError(AlertsimError, ValueError):
    """A plan file that cannot be read; the message names the file and what was expected."""


@dataclass(frozen=True, slots=True)
class DispatchPlan:
    alert_id: str
    level: str
    recipients: tuple[Recipient, ...]
    expires_in_s: float = 600.0
    sender: str = "alertsim-dispatcher"

    @classmethod
    def load(cls, path: Path) -> DispatchPlan:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                alert_id=data["alertId"],
                level=data["level"],
                recipients=tuple(
                    Recipient(r["id"], r["tier"], r["district"], r.get("town", ""))
                    for r in data["recipients"]
                ),
                expires_in_s=float(data.get("expiresInS", 600.0)),
            )
        except OSError as exc:
            raise PlanFileError(f"{path}: expected a plan file, got {exc.strerror}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise PlanFileError(
                f"{path}: expected a plan with alertId, level and recipients "
                f"[{{id, tier, district, town}}], got {exc!r}"
            ) from None


def alert_for(plan: DispatchPlan, recipient: Recipient, sent: datetime) -> bytes:
    """The encoded CAP alert ``recipient`` gets, sent at ``sent``."""
    alert = flood_alert(
        plan.alert_id,
        plan.sender,
        plan.level,  # type: ignore[arg-type]
        sent,
        sent + timedelta(seconds=plan.expires_in_s),
        recipient.district,
        recipient.town,
    )
    return encode_alert(alert)


def alert_plan(plan: DispatchPlan, issued_at_s: float, expires_at_s: float) -> AlertPlan:
    """The plan's recipients grouped the way the policy reads a hierarchy."""
    district_teams: dict[str, list[Recipient]] = {}
    towns: dict[str, dict[str, tuple[list[Recipient], list[Recipient]]]] = {}
    for r in plan.recipients:
        district_teams.setdefault(r.district, [])
        town_lists = towns.setdefault(r.district, {})
        if not r.town:
            district_teams[r.district].append(r)
            continue
        team, members = town_lists.setdefault(r.town, ([], []))
        (team if r.tier == "town" else members).append(r)
    return AlertPlan(
        alert_id=plan.alert_id,
        issued_at_s=issued_at_s,
        expires_at_s=expires_at_s,
        districts=tuple(
            DistrictPlan(
                code=code,
                team=tuple(team),
                towns=tuple(
                    TownPlan(town, code, tuple(t), tuple(m)) for town, (t, m) in towns[code].items()
                ),
            )
            for code, team in district_teams.items()
        ),
    )
