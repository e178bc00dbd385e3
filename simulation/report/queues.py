"""Queue figures of the centers' staff: mean wait, P(wait > 0), utilisation, busiest centers.

Built from each center's tally at the end of the run (`CenterModel.queue_figures`): every hold of
a staff member, for the alert (processing it, relay calls, phone calls and door-knocks) or for
background work (citizens' calls, incident reports), counted when it was granted. Utilisation is
the seconds held over staff x model seconds of the window: from an hour before the first alert
(when background work starts: `simulation.model.world.WARM_UP_S`) to the end of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulation.metrics import DIGITS

BUSIEST = 5  # centers listed per tier
CENTER_TIERS = ("municipal", "district", "town")
WORK = ("alert", "background")


def _waits(granted: int, waited: int, wait_s: float) -> dict[str, Any]:
    return {
        "granted": granted,
        "mean_wait_s": round(wait_s / granted, DIGITS) if granted else None,
        "p_wait": round(waited / granted, 6) if granted else None,
    }


def _figures(centers: Sequence[dict[str, Any]], window_s: float) -> dict[str, Any]:
    staff = sum(c["staff"] for c in centers)
    busy_s = sum(c["busy_s"] for c in centers)

    def total(work: str | None, key: str) -> Any:
        works = WORK if work is None else (work,)
        return sum(c[w][key] for c in centers for w in works)

    out = {
        **_waits(total(None, "granted"), total(None, "waited"), total(None, "wait_s")),
        "utilisation": round(busy_s / (staff * window_s), 6) if window_s > 0 else 0.0,
        "waiting_at_end": sum(c["waiting"] for c in centers),
    }
    for work in WORK:
        out[work] = _waits(total(work, "granted"), total(work, "waited"), total(work, "wait_s"))
    return out


def queues(centers: Sequence[dict[str, Any]], end_s: float) -> dict[str, Any]:
    """Per tier: pooled figures over its centers, and its busiest centers by utilisation.

    The window runs from the centers' `since_s` (background work's start) to `end_s`.
    """
    since_s = centers[0].get("since_s", 0.0) if centers else 0.0
    window_s = max(end_s - since_s, 0.0)
    by_tier = []
    for tier in CENTER_TIERS:
        group = [c for c in centers if c["tier"] == tier]
        if not group:
            continue
        rows = [{"code": c["code"], "staff": c["staff"], **_figures([c], window_s)} for c in group]
        rows.sort(key=lambda r: (-r["utilisation"], -(r["mean_wait_s"] or 0.0), r["code"]))
        by_tier.append(
            {
                "tier": tier,
                "centers": len(group),
                "staff": sum(c["staff"] for c in group),
                **_figures(group, window_s),
                "busiest": rows[:BUSIEST],
            }
        )
    return {
        "since_s": round(since_s, DIGITS),
        "window_s": round(window_s, DIGITS),
        "by_tier": by_tier,
    }
