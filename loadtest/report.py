"""loadtest.json: build it from one run's parts, merge shard results exactly, print the table.

Every figure is derived from additive raw parts kept under ``raw`` (counters, first send and last
delivery wall times, the encoded HdrHistogram), so :func:`merge_reports` rebuilds the headline
figures of several shards as if one process had seen every sample.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from typing import Any, Final

from rich.console import Console
from rich.table import Table

from loadtest import histogram

__all__ = ["SCHEMA_VERSION", "build_report", "merge_reports", "print_table"]

SCHEMA_VERSION: Final = 1
# The swarm is "behind" when data waited unread in its sockets or its event loop stalled: then the
# latencies measure the load generator as much as the broker.
BEHIND_QUEUE_BYTES: Final = 4 << 20
BEHIND_LOOP_LAG_MS: Final = 500.0
BEHIND_PUBLISH_LAG_MS: Final = 100.0

_ADDITIVE: Final = (
    "sent",
    "published",
    "publish_failed",
    "received",
    "duplicates",
    "out_of_order",
    "unstamped",
    "connected",
    "failed_connects",
    "disconnects",
)


def host_info() -> dict[str, Any]:
    return {
        "hostname": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "client": "alertsim wire (asyncio Protocol, MQTT 5)",
    }


def build_report(
    *,
    config: dict[str, Any],
    broker: dict[str, Any],
    raw: dict[str, Any],
    hosts: Sequence[dict[str, Any]],
    shards: Sequence[str],
) -> dict[str, Any]:
    """The loadtest.json document from its raw additive parts (see module docstring)."""
    latencies = histogram.decode(raw["histogram"])
    received = raw["received"]
    start_ns = raw["started_unix_ns"]
    last_ns = raw["last_delivery_unix_ns"]
    last_delivery_s = None if last_ns is None else (last_ns - start_ns) / 1e9
    behind_reasons = []
    if raw["swarm_max_queue_bytes"] > BEHIND_QUEUE_BYTES:
        behind_reasons.append(
            f"swarm sockets held {raw['swarm_max_queue_bytes']:,} unread bytes "
            f"(limit {BEHIND_QUEUE_BYTES:,})"
        )
    if raw["swarm_max_loop_lag_ms"] > BEHIND_LOOP_LAG_MS:
        behind_reasons.append(
            f"swarm event loop stalled {raw['swarm_max_loop_lag_ms']:.0f} ms "
            f"(limit {BEHIND_LOOP_LAG_MS:.0f})"
        )
    if config.get("rate_per_s") is not None and raw["publish_max_lag_ms"] > BEHIND_PUBLISH_LAG_MS:
        behind_reasons.append(
            f"publisher ran {raw['publish_max_lag_ms']:.0f} ms behind its schedule "
            f"(limit {BEHIND_PUBLISH_LAG_MS:.0f})"
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "profile": config["profile"],
        "broker": broker,
        "qos": config["qos"],
        "responders": config["responders"],
        "connections": config["connections"],
        "sent": raw["sent"],
        "received": received,
        "lost": raw["sent"] - received,
        "duplicates": raw["duplicates"],
        "out_of_order": raw["out_of_order"],
        "delivered_per_s": (
            received / last_delivery_s if last_delivery_s and last_delivery_s > 0 else 0.0
        ),
        "last_delivery_s": last_delivery_s,
        "connect_s": raw["connect_s"],
        "latency_ms": histogram.percentiles_ms(latencies),
        "fell_behind": bool(behind_reasons),
        "fell_behind_because": behind_reasons,
        "published": raw["published"],
        "publish_failed": raw["publish_failed"],
        "unstamped": raw["unstamped"],
        "connected": raw["connected"],
        "failed_connects": raw["failed_connects"],
        "disconnects": raw["disconnects"],
        "memory_per_connection_bytes": raw["memory_per_connection_bytes"],
        # tiered only: per tier, what its relays received, relayed, dropped, and when it arrived.
        "relays": _relay_tiers(raw.get("relays", [])),
        "queue_depth": {
            "swarm_max_unread_bytes": raw["swarm_max_queue_bytes"],
            "publisher_max_queued_bytes": raw["publish_max_queued_bytes"],
            "swarm_max_loop_lag_ms": raw["swarm_max_loop_lag_ms"],
            "publisher_max_lag_ms": raw["publish_max_lag_ms"],
        },
        "config": config,
        "shards": list(shards),
        "hosts": list(hosts),
        "raw": raw,
    }


def _relay_tiers(relays: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary per tier (district, town) over every shard's relay process of that tier."""
    tiers: dict[str, dict[str, Any]] = {}
    for relay in relays:
        tier = tiers.setdefault(
            relay["tier"],
            {"tier": relay["tier"], "centers": 0, "received": 0, "forwarded": 0,
             "relay_failed": 0, "duplicates": 0, "foreign": 0, "malformed": 0,
             "arrival_max_ms": None},
        )  # fmt: skip
        for key in ("centers", "received", "forwarded", "relay_failed", "duplicates"):
            tier[key] += relay[key]
        tier["foreign"] += relay["foreign"]
        tier["malformed"] += relay["malformed"]
        arrival = relay["arrival_ms"]["max"]
        if arrival is not None:
            tier["arrival_max_ms"] = max(tier["arrival_max_ms"] or 0.0, arrival)
    return list(tiers.values())


def merge_reports(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One report for several shards of one run: counters add, histograms merge, times span."""
    if not reports:
        raise ValueError("merge: expected at least one loadtest.json, got none")
    first = reports[0]
    for index, report in enumerate(reports[1:], start=1):
        for key in ("profile", "qos", "responders", "connections"):
            if report[key] != first[key]:
                raise ValueError(
                    f"merge: input {index}: {key}: expected {first[key]!r} as in input 0, "
                    f"got {report[key]!r}"
                )
    raws = [report["raw"] for report in reports]
    raw: dict[str, Any] = {key: sum(r[key] for r in raws) for key in _ADDITIVE}
    lasts = [r["last_delivery_unix_ns"] for r in raws if r["last_delivery_unix_ns"] is not None]
    raw["started_unix_ns"] = min(r["started_unix_ns"] for r in raws)
    raw["last_delivery_unix_ns"] = max(lasts) if lasts else None
    raw["connect_s"] = max(r["connect_s"] for r in raws)
    for key in (
        "swarm_max_queue_bytes",
        "swarm_max_loop_lag_ms",
        "publish_max_lag_ms",
        "publish_max_queued_bytes",
    ):
        raw[key] = max(r[key] for r in raws)
    connections = sum(r["connected"] for r in raws) or 1
    raw["memory_per_connection_bytes"] = (
        sum(r["memory_per_connection_bytes"] * r["connected"] for r in raws) / connections
    )
    raw["histogram"] = histogram.encode(
        histogram.merged(histogram.decode(r["histogram"]) for r in raws)
    )
    raw["relays"] = [relay for r in raws for relay in r.get("relays", [])]
    config = dict(first["config"]) | {"shard": "merged"}
    return build_report(
        config=config,
        broker=first["broker"],
        raw=raw,
        hosts=[host for report in reports for host in report["hosts"]],
        shards=[shard for report in reports for shard in report["shards"]],
    )


def print_table(report: dict[str, Any], console: Console) -> None:
    table = Table(title=f"alertsim loadtest: {report['profile']}, QoS {report['qos']}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    latency = report["latency_ms"]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:,.1f} ms"

    rows = [
        ("broker", f"{report['broker'].get('url')} ({report['broker'].get('version')})"),
        ("responders / connections", f"{report['responders']:,} / {report['connections']:,}"),
        ("connected (failed)", f"{report['connected']:,} ({report['failed_connects']:,})"),
        ("connect", f"{report['connect_s']:.2f} s"),
        ("sent", f"{report['sent']:,}"),
        ("received", f"{report['received']:,}"),
        ("lost", f"{report['lost']:,}"),
        ("duplicates / out of order", f"{report['duplicates']:,} / {report['out_of_order']:,}"),
        ("delivered/s", f"{report['delivered_per_s']:,.0f}"),
        (
            "last delivery",
            "-" if report["last_delivery_s"] is None else f"{report['last_delivery_s']:.3f} s",
        ),
        *[(f"latency {name}", ms(latency[name])) for name in ("p50", "p90", "p99", "p999", "max")],
        ("memory per connection", f"{report['memory_per_connection_bytes'] / 1024:,.1f} KiB"),
        (
            "swarm backlog (max)",
            f"{report['queue_depth']['swarm_max_unread_bytes']:,} B unread, "
            f"loop lag {report['queue_depth']['swarm_max_loop_lag_ms']:.0f} ms",
        ),
        ("fell behind", "yes" if report["fell_behind"] else "no"),
    ]
    for tier in report.get("relays", []):
        arrival = tier["arrival_max_ms"]
        rows.append(
            (
                f"{tier['tier']} relays ({tier['centers']:,})",
                f"{tier['received']:,} in, {tier['forwarded']:,} relayed, "
                f"{tier['relay_failed']:,} failed, last in at {ms(arrival)}",
            )
        )
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for reason in report["fell_behind_because"]:
        console.print(f"[yellow]fell behind:[/] {reason}")
    if report["lost"]:
        console.print(f"[red]{report['lost']:,} deliveries lost[/]")
