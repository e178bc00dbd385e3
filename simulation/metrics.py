"""Latency records -> percentiles, target compliance and breakdowns; pure functions only.

Every figure here is computed from the frozen per-recipient and per-risk-point records after the
run, never accumulated during it, so the same records always give the same figures.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain, groupby
from operator import attrgetter
from typing import Any, TypeVar

from dispatcher.core.plan import FLAG_CAUSES, TIERS
from dispatcher.core.tracker import RecipientRecord, RiskPointRecord

PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 0.50),
    ("p90", 0.90),
    ("p95", 0.95),
    ("p99", 0.99),
    ("max", 1.00),
)
SHARES: tuple[str, ...] = ("0.95", "0.99", "1.0")
# The moments after issue at which the share acknowledged per district is reported (the maps'
# small multiples): 1, 2, 3, 5 and 15 minutes.
MARKS_S: tuple[int, ...] = (60, 120, 180, 300, 900)
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
    return _summary(sorted(latencies))


def _summary(values: Sequence[float]) -> dict[str, float | None]:
    """`latency_summary` of values already sorted (`_latencies`)."""
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
    """The records of each key, in the order they came, the keys in the order first seen.

    By runs (`groupby`): the records of a town, a district, mostly a tier, come together in
    each alert, and a run is taken whole where a record at a time took a city report 0.06 s
    a grouping."""
    groups: dict[str, list[T]] = defaultdict(list)
    for name, run in groupby(records, key):
        groups[name].extend(run)
    return groups


# C-level keys and columns: a city run's report reads 124,000 records a dozen times over
_TIER, _DISTRICT, _TOWN = attrgetter("tier"), attrgetter("district"), attrgetter("town")
_LATENCY = attrgetter("latency_s")


def tiers(records: Sequence[RecipientRecord]) -> dict[str, list[RecipientRecord]]:
    """The records of each tier (`by_tier`, `ack_share_over_time` and `cdfs` take them)."""
    return _group(records, _TIER)


class _Kept:
    latencies: dict[int, tuple[object, list[float]]] | None = None  # id -> (records, sorted)


@contextmanager
def latencies_kept() -> Iterator[None]:
    """Within, the sorted latencies of a list of records are taken once (`_latencies`) and
    kept: a report asks for those of all records, of each tier and of the risk points two or
    three times, and sorting was a quarter of a city report's time. The lists must not change
    inside."""
    _Kept.latencies = {}
    try:
        yield
    finally:
        _Kept.latencies = None


def _latencies(records: Iterable[RecipientRecord | RiskPointRecord]) -> list[float]:
    """The latencies of those that have one, sorted (not to be changed: maybe kept)."""
    kept = _Kept.latencies
    if kept is not None and type(records) is list:
        hit = kept.get(id(records))
        if hit is not None and hit[0] is records:
            return hit[1]
    values = list(map(_LATENCY, records))
    values = [v for v in values if v is not None]
    values.sort()
    if kept is not None and type(records) is list:
        kept[id(records)] = (records, values)  # the list held: its id is not reused
    return values


def _within(values: Sequence[float], target_s: float, total: int) -> float:
    """`share_within` of latencies already sorted (`_latencies`)."""
    return 0.0 if total == 0 else round(bisect_right(values, target_s) / total, 6)


def notification(records: Sequence[RecipientRecord], target_s: float) -> dict[str, object]:
    latencies = _latencies(records)
    flagged = Counter(r.flag for r in records if r.flag is not None)
    return {
        "targeted": len(records),
        "delivered": sum(1 for r in records if r.delivered_at_s is not None),
        "acknowledged": len(latencies),
        "flagged": {cause: flagged.get(cause, 0) for cause in FLAG_CAUSES},
        "latency_s": _summary(latencies),
        "delivery_latency_s": latency_summary(
            r.delivered_at_s - r.issued_at_s for r in records if r.delivered_at_s is not None
        ),
        "within_target_share": _within(latencies, target_s, len(records)),
        "time_to_share_s": time_to_share(latencies, len(records)),
    }


def response(points: Sequence[RiskPointRecord], target_s: float) -> dict[str, object]:
    latencies = _latencies(points)
    return {
        "risk_points": len(points),
        "reached": len(latencies),
        "reassigned": sum(1 for p in points if p.reassigned),
        "latency_s": _summary(latencies),
        "within_target_share": _within(latencies, target_s, len(points)),
    }


def _group_figures(
    records: Sequence[RecipientRecord], target_s: float, latencies: Sequence[float] | None = None
) -> dict[str, object]:
    """A group's figures; `latencies`: the group's, sorted (`_latencies`), if already taken."""
    if latencies is None:
        latencies = _latencies(records)
    return {
        "targeted": len(records),
        "acknowledged": len(latencies),
        "flagged": len(records) - list(map(attrgetter("flag"), records)).count(None),
        "latency_s": _summary(latencies),
        "within_target_share": _within(latencies, target_s, len(records)),
    }


def by_tier(
    records: Sequence[RecipientRecord],
    target_s: float,
    groups: dict[str, list[RecipientRecord]] | None = None,
) -> list[dict[str, object]]:
    """Figures per tier, in TIERS order; ``groups``: `tiers(records)`, if already taken."""
    if groups is None:
        groups = _group(records, _TIER)
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
    """Districts in code order, each with notification and response compliance.

    `acknowledged_within_s` is the share acknowledged by each of `MARKS_S` after issue.
    """
    groups = _group(records, _DISTRICT)
    point_groups = _group(points, _DISTRICT)
    out = []
    for code in sorted(groups):
        rows, district_points = groups[code], point_groups.get(code, [])
        latencies = _latencies(rows)
        out.append(
            {
                "code": code,
                "name": names.get(code, code),
                **_group_figures(rows, target_s, latencies),
                "acknowledged_within_s": {
                    str(mark): _within(latencies, mark, len(rows)) for mark in MARKS_S
                },
                "risk_points": len(district_points),
                "response_within_target_share": _within(
                    _latencies(district_points), respond_target_s, len(district_points)
                ),
            }
        )
    return out


def worst_towns(
    records: Sequence[RecipientRecord], target_s: float, limit: int = 10
) -> list[dict[str, object]]:
    groups = _group(records, _TOWN)
    groups.pop("", None)  # district and municipal tiers: no town
    rows = [{"code": code, **_group_figures(rows, target_s)} for code, rows in groups.items()]
    rows.sort(key=_worst_first)
    return rows[:limit]


def _worst_first(row: dict[str, Any]) -> tuple[float, float, str]:
    """Lowest share in time first; among equal shares (a city has hundreds of towns at 0%), the
    latest 95th percentile first, a town where nobody acknowledged first of all."""
    p95 = row["latency_s"]["p95"]
    return (row["within_target_share"], -math.inf if p95 is None else -p95, row["code"])


def escalations(records: Sequence[RecipientRecord], ladder: Sequence[str] = ()) -> dict[str, int]:
    """Attempts per channel past the first rung, in `ladder` order (others after, by name)."""
    counts = Counter(chain.from_iterable(map(attrgetter("escalations"), records)))
    return _in_order(counts, ladder)


def acknowledged_by_channel(
    records: Sequence[RecipientRecord], ladder: Sequence[str] = ()
) -> dict[str, int]:
    """Acknowledgements per channel they came over, in `ladder` order (others after, by name)."""
    return _in_order(Counter(r.channel for r in records if r.channel is not None), ladder)


def _in_order(counts: Counter[str], ladder: Sequence[str]) -> dict[str, int]:
    rank = {channel: i for i, channel in enumerate(ladder)}
    return dict(sorted(counts.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


# --- figures for charts: CDFs, acknowledged share over time, the latency budget per hop -------

CDF_POINTS = 200  # enough for a smooth curve, small enough to keep report.json readable
SERIES_POINTS = 240
SERIES_STEPS_S: tuple[float, ...] = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
HOPS: tuple[str, ...] = (
    "municipal_processing",
    "district_relay",
    "town_relay",
    "escalation",
    "network",
    "read",
    "acknowledge",
    "travel",
)
BUDGET_QUANTILES: tuple[tuple[str, float], ...] = (("p50", 0.50), ("p95", 0.95))
BUDGET_WINDOW_SHARE = 0.01  # recipients ranked within +-0.5% of the quantile are averaged


def cdf(latencies: Iterable[float], total: int, points: int = CDF_POINTS) -> list[list[float]]:
    """Empirical CDF as `[latency_s, share of total]` pairs, thinned to at most `points`.

    The share is of every item targeted, not only those that finished, so a curve that stops
    below 1.0 shows who was never reached.
    """
    values = sorted(latencies)
    n = len(values)
    if n == 0 or total == 0:
        return []
    if n <= points:
        indices = list(range(n))
    else:
        indices = sorted({round(j * (n - 1) / (points - 1)) for j in range(points)})
    return [[round(values[i], DIGITS), round((i + 1) / total, 6)] for i in indices]


def series_step_s(horizon_s: float, points: int = SERIES_POINTS) -> float:
    """The smallest round step that covers `horizon_s` in at most `points` steps."""
    for step in SERIES_STEPS_S:
        if horizon_s / step <= points:
            return step
    return math.ceil(horizon_s / points / 3600) * 3600


def ack_share_over_time(
    records: Sequence[RecipientRecord],
    horizon_s: float | None = None,
    groups: dict[str, list[RecipientRecord]] | None = None,
) -> dict[str, object]:
    """Share acknowledged at each step of model time since the alert was issued, per tier
    (``groups``: `tiers(records)`, if already taken).

    Time is measured from each recipient's own alert, so several alerts share one axis and the
    3- and 15-minute targets are vertical lines on it.
    """
    latencies = _latencies(records)
    if horizon_s is None:
        horizon_s = latencies[-1] if latencies else 0.0
    step = series_step_s(max(horizon_s, 1.0))
    steps = math.ceil(horizon_s / step) + 1
    times = [round(i * step, DIGITS) for i in range(steps)]

    def shares(group: Sequence[RecipientRecord]) -> list[float]:
        values = _latencies(group)
        return [round(bisect_right(values, t) / len(group), 6) if group else 0.0 for t in times]

    if groups is None:
        groups = _group(records, _TIER)
    series = {"all": shares(records)}
    series.update({tier: shares(groups[tier]) for tier in TIERS if tier in groups})
    return {"step_s": step, "t_s": times, "share": series}


def hop_times_s(record: RecipientRecord) -> dict[str, float] | None:
    """Seconds spent in each hop by one acknowledged recipient; None if never acknowledged.

    The hops before `travel` add up to the notification latency exactly. Relays are counted only
    until the first attempt was sent (a direct alert reaches people before the relays finish);
    `network` is both legs of the attempt that worked: to the device and the acknowledgement back.
    """
    acknowledged = record.acknowledged_at_s
    if acknowledged is None:
        return None
    acked = record.acked_at_s if record.acked_at_s is not None else acknowledged
    sent = record.sent_at_s if record.sent_at_s is not None else record.notified_at_s
    if sent is None:
        sent = record.issued_at_s
    notified = record.notified_at_s if record.notified_at_s is not None else sent
    delivered = record.ack_delivered_at_s
    read = record.read_at_s if record.read_at_s is not None else acked
    if delivered is None:
        delivered = read

    hops = dict.fromkeys(HOPS, 0.0)
    at, last = record.issued_at_s, "municipal_processing"
    for name, stamp in (
        ("municipal_processing", record.relayed_municipal_at_s),
        ("district_relay", record.relayed_district_at_s),
        ("town_relay", record.relayed_town_at_s),
    ):
        if stamp is not None:
            end = min(max(stamp, at), notified)
            hops[name] = end - at
            at, last = end, name
    hops[last] += notified - at  # waiting after the last relay before the first attempt
    hops["escalation"] = sent - notified
    hops["network"] = (delivered - sent) + (acknowledged - acked)
    hops["read"] = read - delivered
    hops["acknowledge"] = acked - read
    if record.on_scene_at_s is not None and record.dispatched_at_s is not None:
        hops["travel"] = record.on_scene_at_s - record.dispatched_at_s
    return hops


def budget(records: Sequence[RecipientRecord]) -> dict[str, object]:
    """The latency budget per hop of the median and the p95 recipient.

    Recipients are ranked by notification latency; those ranked within +-0.5% of the quantile
    (at least one) are averaged hop by hop, so the bars are steady and still add up to a real
    latency. Travel is averaged over those of them who went on scene.
    """
    ranked = [r for r in records if r.acknowledged_at_s is not None]
    if len(set(map(_LATENCY, ranked))) == len(ranked):  # no ties: the ids would never be read
        ranked.sort(key=_LATENCY)
    else:
        ranked.sort(key=attrgetter("latency_s", "alert_id", "recipient_id"))
    out: dict[str, object] = {"hops": list(HOPS)}
    n = len(ranked)
    half = round(BUDGET_WINDOW_SHARE * n / 2)
    for name, q in BUDGET_QUANTILES:
        if n == 0:
            out[name] = None
            continue
        centre = round(q * (n - 1))
        window = ranked[max(0, centre - half) : min(n, centre + half + 1)]
        hop_rows = [h for h in (hop_times_s(r) for r in window) if h is not None]
        travellers = [
            h["travel"]
            for r, h in zip(window, hop_rows, strict=True)
            if r.on_scene_at_s is not None and r.dispatched_at_s is not None
        ]
        hops_s = {
            hop: round(sum(h[hop] for h in hop_rows) / len(hop_rows), DIGITS)
            for hop in HOPS
            if hop != "travel"
        }
        hops_s["travel"] = round(sum(travellers) / len(travellers), DIGITS) if travellers else 0.0
        out[name] = {
            "recipients": len(window),
            "latency_s": round(sum(r.latency_s or 0.0 for r in window) / len(window), DIGITS),
            "travellers": len(travellers),
            "hops_s": hops_s,
        }
    return out


def cdfs(
    records: Sequence[RecipientRecord],
    points: Sequence[RiskPointRecord],
    groups: dict[str, list[RecipientRecord]] | None = None,
) -> dict[str, object]:
    """Notification CDF overall and per tier, and the response CDF of risk points
    (``groups``: `tiers(records)`, if already taken)."""
    if groups is None:
        groups = _group(records, _TIER)
    notification_cdf = {"all": cdf(_latencies(records), len(records))}
    for tier in TIERS:
        if tier in groups:
            group = groups[tier]
            notification_cdf[tier] = cdf(_latencies(group), len(group))
    return {
        "notification": notification_cdf,
        "response": cdf(_latencies(points), len(points)),
    }
