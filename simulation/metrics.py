"""Latency records -> percentiles, target compliance and breakdowns; pure functions only.

Every figure here is computed from the frozen per-recipient and per-risk-point records after the
run, never accumulated during it, so the same records always give the same figures.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from dispatcher.plan import FLAG_CAUSES, TIERS
from dispatcher.tracker import RecipientRecord, RiskPointRecord

PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 0.50),
    ("p90", 0.90),
    ("p95", 0.95),
    ("p99", 0.99),
    ("max", 1.00),
)
SHARES: tuple[str, ...] = ("0.95", "0.99", "1.0")
DIGITS = 3  # model seconds to the millisecond: enough, and stable across platforms

T = TypeVar("T")


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of already sorted values (numpy's default method)."""
    if not sorted_values:
        raise ValueError("quantile of no values")
    position = q * (len(sorted_values) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    fraction = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * fraction


def latency_summary(latencies: Iterable[float]) -> dict[str, float | None]:
    values = sorted(latencies)
    if not values:
        return {name: None for name, _ in PERCENTILES}
    return {name: round(quantile(values, q), DIGITS) for name, q in PERCENTILES}


def share_within(latencies: Iterable[float | None], target_s: float, total: int) -> float:
    """Share of all `total` items with a latency at or under the target (None never counts)."""
    if total == 0:
        return 0.0
    hits = sum(1 for v in latencies if v is not None and v <= target_s)
    return round(hits / total, 6)


def time_to_share(latencies: Iterable[float], total: int) -> dict[str, float | None]:
    """Model seconds until each share of `total` had acknowledged; None where never reached."""
    values = sorted(latencies)
    out: dict[str, float | None] = {}
    for key in SHARES:
        needed = math.ceil(float(key) * total - 1e-9)
        if total == 0 or needed > len(values):
            out[key] = None
        else:
            out[key] = round(values[max(needed, 1) - 1], DIGITS)
    return out


def _group(records: Iterable[T], key: Callable[[T], str]) -> dict[str, list[T]]:
    groups: dict[str, list[T]] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record)
    return groups


def notification(records: Sequence[RecipientRecord], target_s: float) -> dict[str, object]:
    latencies = [r.latency_s for r in records if r.latency_s is not None]
    flagged = Counter(r.flag for r in records if r.flag is not None)
    return {
        "targeted": len(records),
        "delivered": sum(1 for r in records if r.delivered_at_s is not None),
        "acknowledged": len(latencies),
        "flagged": {cause: flagged.get(cause, 0) for cause in FLAG_CAUSES},
        "latency_s": latency_summary(latencies),
        "delivery_latency_s": latency_summary(
            r.delivered_at_s - r.issued_at_s for r in records if r.delivered_at_s is not None
        ),
        "within_target_share": share_within(latencies, target_s, len(records)),
        "time_to_share_s": time_to_share(latencies, len(records)),
    }


def response(points: Sequence[RiskPointRecord], target_s: float) -> dict[str, object]:
    latencies = [p.latency_s for p in points if p.latency_s is not None]
    return {
        "risk_points": len(points),
        "reached": len(latencies),
        "reassigned": sum(1 for p in points if p.reassigned),
        "latency_s": latency_summary(latencies),
        "within_target_share": share_within(latencies, target_s, len(points)),
    }


def _group_figures(records: Sequence[RecipientRecord], target_s: float) -> dict[str, object]:
    latencies = [r.latency_s for r in records if r.latency_s is not None]
    return {
        "targeted": len(records),
        "acknowledged": len(latencies),
        "flagged": sum(1 for r in records if r.flag is not None),
        "latency_s": latency_summary(latencies),
        "within_target_share": share_within(latencies, target_s, len(records)),
    }


def by_tier(records: Sequence[RecipientRecord], target_s: float) -> list[dict[str, object]]:
    groups = _group(records, lambda r: r.tier)
    return [
        {"tier": tier, **_group_figures(groups[tier], target_s)} for tier in TIERS if tier in groups
    ]


def by_district(
    records: Sequence[RecipientRecord],
    points: Sequence[RiskPointRecord],
    target_s: float,
    respond_target_s: float,
    names: dict[str, str],
) -> list[dict[str, object]]:
    """Districts in code order, each with notification and response compliance."""
    groups = _group(records, lambda r: r.district)
    point_groups = _group(points, lambda p: p.district)
    out = []
    for code in sorted(groups):
        district_points = point_groups.get(code, [])
        out.append(
            {
                "code": code,
                "name": names.get(code, code),
                **_group_figures(groups[code], target_s),
                "response_within_target_share": share_within(
                    (p.latency_s for p in district_points), respond_target_s, len(district_points)
                ),
            }
        )
    return out


def worst_towns(
    records: Sequence[RecipientRecord], target_s: float, limit: int = 10
) -> list[dict[str, object]]:
    groups = _group((r for r in records if r.town), lambda r: r.town)
    rows = [{"code": code, **_group_figures(rows, target_s)} for code, rows in groups.items()]
    rows.sort(key=lambda row: (row["within_target_share"], row["code"]))
    return rows[:limit]


def escalations(records: Sequence[RecipientRecord]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for record in records:
        counts.update(record.escalations)
    return dict(sorted(counts.items()))


def acknowledged_by_channel(records: Sequence[RecipientRecord]) -> dict[str, int]:
    return dict(sorted(Counter(r.channel for r in records if r.channel is not None).items()))
