"""The verdict: MET, MISSED or "cannot tell" per target, from the replications' interval.

With replications (report.json's `replications` block), a target is MET when the whole 95%
interval of its share is at or above the target share, MISSED when the whole interval is below,
and "cannot tell" when the interval straddles it. A target of 100% is a claim about every run: it
is MET only when every replication reached everyone in time (a mean of exactly 100%), else MISSED,
since any replication below 100% shows the expected share is below. One replication gives a
point, no interval: the verdict says it is one draw.

Shares are written floored to 0.1%, never rounded up: 99.97% reads 99.9%, not 100.0%.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["CANNOT_TELL", "MET", "MISSED", "floor_pct", "outcome", "verdict"]

MET, MISSED, CANNOT_TELL = "MET", "MISSED", "cannot tell"
_EPS = 1e-12


def floor_pct(share: float) -> str:
    """`0.9997` -> `99.9%`: one decimal, floored (never rounded up to a target)."""
    tenths = math.floor(round(share * 1000, 6))
    return f"{tenths / 10:.1f}%"


def outcome(share: float, low: float | None, high: float | None, target: float) -> str:
    """MET, MISSED or cannot tell, for a mean ``share`` with its interval (None: one draw).

    The interval is read clipped to shares, 0 to 1.
    """
    if target >= 1.0 - _EPS or low is None or high is None:
        return MET if share >= target - _EPS else MISSED
    low, high = max(0.0, low), min(1.0, high)
    if low >= target - _EPS:
        return MET
    if high < target - _EPS:
        return MISSED
    return CANNOT_TELL


def _measured(report: dict[str, Any], key: str, point: float) -> tuple[float, Any, Any, str]:
    """(share, low, high, how it was measured) from the replications block, else the one draw."""
    block = (report.get("replications") or {}).get(key)
    if not block or not block.get("n") or block["n"] < 2:
        return point, None, None, "one replication, one draw: no interval"
    low, high = max(0.0, block["ci95_low"]), min(1.0, block["ci95_high"])
    text = (
        f"mean of {block['n']} replications, 95% CI {floor_pct(low)} to {floor_pct(high)}"
        if low < high
        else f"all {block['n']} replications"
    )
    return block["mean"], low, high, text


def verdict(report: dict[str, Any]) -> list[str]:
    """One sentence per target, with the figures that decide it."""
    targets = report["targets"]
    note, resp = report["notification"], report["response"]
    target = targets["notify_target_share"]
    notify_min = targets["notify_target_s"] / 60
    share, low, high, how = _measured(
        report, "notification.within_target_share", note["within_target_share"]
    )
    what = (
        "universal notification"
        if target >= 1.0 - _EPS
        else f"notification of {floor_pct(target)} of responders (not universal)"
    )
    full = note["time_to_share_s"]["1.0"]
    full_text = (
        f"everyone by {full / 60:.1f} min" if full is not None else "not everyone was reached"
    )
    first = "in replication 0, " if low is not None else ""
    sentences = [
        f"{outcome(share, low, high, target)}: {what} within {notify_min:g} min - "
        f"{floor_pct(share)} of {note['targeted']:,} responders acknowledged in time ({how}; "
        f"target {floor_pct(target)}); {first}{full_text}.",
    ]
    if resp["risk_points"]:
        share, low, high, how = _measured(
            report, "response.within_target_share", resp["within_target_share"]
        )
        sentences.append(
            f"{outcome(share, low, high, 1.0)}: rapid response within "
            f"{targets['respond_target_s'] / 60:g} min - {floor_pct(share)} of "
            f"{resp['risk_points']:,} risk points had a responder on scene in time ({how}; "
            f"target 100.0%); {resp['reached']:,} reached in all"
            f"{' in replication 0' if low is not None else ''}."
        )
    return sentences
