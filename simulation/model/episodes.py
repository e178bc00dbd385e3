"""Which earlier messages a warning's Update or Cancel refers to, and the alert the world lists.

The hazard says only that a district's warning rose or fell back (`simulation.hazards`); the
world refers each Update and Cancel to the latest message of each of its districts, the way the
municipal center's own log would. A replayed CAP message names its references itself.
"""

from __future__ import annotations

from typing import Any

from dispatcher.core.plan import AlertPlan
from dispatcher.core.tracker import Tracker
from simulation.hazards import WarningIssued
from simulation.model.reach import IssuedAlert

__all__ = ["LatestMessages", "issued_alert"]


class LatestMessages:
    """The latest message of every district's live warning."""

    def __init__(self) -> None:
        self._latest: dict[str, str] = {}

    def issued(self, warning: WarningIssued, alert_id: str) -> tuple[str, ...]:
        """Note ``warning`` issued as ``alert_id``; what it refers to: its own references, else
        its districts' latest messages (none for an Alert)."""
        references = warning.references
        if not references and warning.msg_type != "Alert":
            latest = {self._latest[d] for d in warning.districts if d in self._latest}
            references = tuple(sorted(latest))
        for district in warning.districts:
            if warning.msg_type == "Cancel":
                self._latest.pop(district, None)
            else:
                self._latest[district] = alert_id
        return references


def issued_alert(
    plan: AlertPlan, warning: WarningIssued, tracker: Tracker, **more: Any
) -> IssuedAlert:
    """The alert as the world lists it, once the policy has opened it: an Update targets only
    those of its area who had not acknowledged the warning already, a Cancel nobody. ``more``:
    IssuedAlert's other fields."""
    state = tracker.alerts[plan.alert_id]
    return IssuedAlert(
        plan.alert_id,
        warning.level,
        plan.issued_at_s,
        plan.expires_at_s,
        warning.districts,
        len(state.recipients),
        len(state.risk_points),
        msg_type=plan.msg_type,
        references=plan.references,
        **more,
    )
