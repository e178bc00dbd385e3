"""The headline figures of a report, how to look them up by key, and how to write them.

A figure's key is its dotted path in report.json (`notification.latency_s.p95`). The same keys
name figures in a report's optional `replications` section
(`{key: {"mean", "ci95_low", "ci95_high", "n"}}`), which the HTML report and `compare` show
when present.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from simulation.report.verdict import floor_pct

Kind = Literal["share", "seconds", "count"]


@dataclass(frozen=True, slots=True)
class Headline:
    key: str
    label: str
    kind: Kind


HEADLINES: tuple[Headline, ...] = (
    Headline("notification.within_target_share", "acknowledged within target", "share"),
    Headline("notification.latency_s.p50", "notification latency p50", "seconds"),
    Headline("notification.latency_s.p95", "notification latency p95", "seconds"),
    Headline("notification.latency_s.p99", "notification latency p99", "seconds"),
    Headline("notification.latency_s.max", "notification latency max", "seconds"),
    Headline("notification.time_to_share_s.0.95", "time to 95% acknowledged", "seconds"),
    Headline("notification.time_to_share_s.1.0", "time to 100% acknowledged", "seconds"),
    Headline("notification.acknowledged", "responders acknowledged", "count"),
    Headline("notification.targeted", "responders targeted", "count"),
    Headline("response.within_target_share", "risk points reached within target", "share"),
    Headline("response.latency_s.p50", "response latency p50", "seconds"),
    Headline("response.latency_s.p95", "response latency p95", "seconds"),
    Headline("response.reached", "risk points reached", "count"),
)
LABELS = {h.key: h.label for h in HEADLINES}
KINDS: dict[str, Kind] = {h.key: h.kind for h in HEADLINES}

_MISSING = object()


def lookup(data: Any, key: str) -> Any:
    """The value at a dotted path; parts may themselves hold dots (`time_to_share_s.0.95`).

    List items are addressed by index (`by_district.3.code`). Raises KeyError naming the path.
    """
    parts = key.split(".")
    node, i = data, 0
    while i < len(parts):
        found: Any = _MISSING
        # the longest run of parts that names a key wins, so "0.95" beats "0"
        for j in range(len(parts), i, -1):
            name = ".".join(parts[i:j])
            if isinstance(node, dict) and name in node:
                found, i = node[name], j
                break
            if isinstance(node, list) and j == i + 1 and name.isdigit() and int(name) < len(node):
                found, i = node[int(name)], j
                break
        if found is _MISSING:
            raise KeyError(f"report: {key}: expected a figure at this path, found none")
        node = found
    return node


def fmt(value: Any, kind: Kind) -> str:
    """How a figure reads in the report and the comparison table."""
    if value is None:
        return "-"
    if kind == "share":
        return floor_pct(value)  # floored: 99.97% is never shown as 100.0%
    if kind == "seconds":
        return f"{value:,.1f} s"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def fmt_difference(difference: float | None, kind: Kind) -> str:
    if difference is None:
        return "-"
    if kind == "share":
        return f"{difference * 100:+.1f} pp"
    if kind == "seconds":
        return f"{difference:+,.1f} s"
    if isinstance(difference, int):
        return f"{difference:+,}"
    return f"{difference:+,.1f}"
