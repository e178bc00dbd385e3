"""Assemble report.json from a finished run: the verdict, headline figures and breakdowns.

The report is plain JSON-ready data. Everything that depends on the machine or the moment
(`started_at`, `wall_s`, `host`, `versions`) lives under keys that comparisons ignore, so two runs
of the same scenario and seed give identical reports apart from those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dispatcher.core.tracker import RecipientRecord, RiskPointRecord
from simulation import metrics
from simulation.report.provenance import provenance
from simulation.report.queues import queues
from simulation.scenario import LoadedScenario

SCHEMA_VERSION = 1
VOLATILE_KEYS = ("started_at", "wall_s", "host", "versions")


@dataclass(frozen=True, slots=True)
class RunResult:
    """Everything a report is built from."""

    loaded: LoadedScenario
    mode: str
    replication: int
    records: list[RecipientRecord]
    risk_points: list[RiskPointRecord]
    alerts: list[dict[str, Any]]
    transport: dict[str, int]
    channels: dict[str, dict[str, int]]
    sim_events: int
    sim_end_s: float
    started_at: str
    wall_s: float
    host: str
    versions: dict[str, str]
    # what the dispatch protocol counted: relays sent, resent, duplicated, confirmed; centers
    # phoned; acknowledgements duplicated or late (dispatcher.core.tracker's counters)
    protocol: dict[str, int] = field(default_factory=dict)
    # each center's staff tally (simulation.model.centers.CenterModel.queue_figures)
    centers: list[dict[str, Any]] = field(default_factory=list)
    # (alert, recipient) -> [channel, staff requested at, granted at] per staffed attempt
    staff_stamps: dict[tuple[str, str], list[list[Any]]] = field(default_factory=dict)


PROTOCOL_KEYS = (
    "relays_sent",
    "relays_resent",
    "relays_duplicate",
    "relays_confirmed",
    "center_calls",
    "acks_duplicate",
    "acks_late",
    "acks_unknown",
    "deliveries_repeated",
)


def _fmt_share(share: float) -> str:
    return f"{share * 100:.1f}%"


def verdict(report: dict[str, Any]) -> list[str]:
    """One sentence per target, with the figures that decide it."""
    targets = report["targets"]
    note = report["notification"]
    resp = report["response"]
    notify_min = targets["notify_target_s"] / 60
    respond_min = targets["respond_target_s"] / 60
    met_notify = note["within_target_share"] >= targets["notify_target_share"] - 1e-12
    met_respond = resp["risk_points"] > 0 and resp["within_target_share"] >= 1.0 - 1e-12
    full = note["time_to_share_s"]["1.0"]
    full_text = (
        f"everyone by {full / 60:.1f} min" if full is not None else "not everyone was reached"
    )
    sentences = [
        f"{'MET' if met_notify else 'MISSED'}: universal notification within {notify_min:g} min - "
        f"{_fmt_share(note['within_target_share'])} of {note['targeted']:,} responders "
        f"acknowledged in time (target {_fmt_share(targets['notify_target_share'])}); "
        f"{full_text}.",
    ]
    if resp["risk_points"]:
        sentences.append(
            f"{'MET' if met_respond else 'MISSED'}: rapid response within {respond_min:g} min - "
            f"{_fmt_share(resp['within_target_share'])} of {resp['risk_points']:,} risk points had "
            f"a responder on scene in time; {resp['reached']:,} reached in all."
        )
    return sentences


HOP_NAMES = {
    "municipal_processing": "municipal processing",
    "district_relay": "district relay",
    "town_relay": "town relay",
    "escalation": "waiting to escalate",
    "network": "network and channel",
    "read": "time to read",
    "acknowledge": "time to acknowledge",
    "travel": "travel to risk points",
}


def why(report: dict[str, Any]) -> list[str]:
    """Where the time goes, from the hop budget: the planner's 'where to act'."""
    budget = report.get("budget") or {}
    lines = []
    for key, who in (("p50", "median"), ("p95", "95th-percentile")):
        entry = budget.get(key)
        if not entry:
            continue
        hops = {k: v for k, v in entry["hops_s"].items() if k != "travel"}
        top = sorted(hops.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        parts = ", ".join(f"{HOP_NAMES.get(k, k)} {v:,.0f} s" for k, v in top)
        line = (
            f"The {who} responder acknowledged after {entry['latency_s']:,.0f} s; "
            f"most went to {parts}"
        )
        if "travel" in entry["hops_s"]:
            line += f"; then {entry['hops_s']['travel']:,.0f} s to reach their risk points"
        lines.append(line + ".")
    return lines


def build_report(result: RunResult) -> dict[str, Any]:
    scenario = result.loaded.scenario
    targets = scenario.targets
    names = {d.code: d.name for d in result.loaded.topology.districts}
    records, points = result.records, result.risk_points
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "scenario": scenario.name,
        "scenario_file": str(result.loaded.path),
        "scenario_sha256": result.loaded.sha256,
        "seed": scenario.seed,
        "replication": result.replication,
        "mode": result.mode,
        "strategy": scenario.strategy,
        "started_at": result.started_at,
        "wall_s": round(result.wall_s, 3),
        "host": result.host,
        "versions": result.versions,
        "sim_events": result.sim_events,
        "sim_end_s": round(result.sim_end_s, 3),
        "targets": {
            "notify_target_s": targets.notify_target_s,
            "notify_target_share": targets.notify_target_share,
            "respond_target_s": targets.respond_target_s,
        },
        "alerts": result.alerts,
        "notification": metrics.notification(records, targets.notify_target_s),
        "response": metrics.response(points, targets.respond_target_s),
        "by_tier": metrics.by_tier(records, targets.notify_target_s),
        "by_district": metrics.by_district(
            records, points, targets.notify_target_s, targets.respond_target_s, names
        ),
        "worst_towns": metrics.worst_towns(records, targets.notify_target_s),
        "escalations": metrics.escalations(records),
        "acknowledged_by_channel": metrics.acknowledged_by_channel(records),
        "channels": result.channels,
        "transport": result.transport,
        "protocol": {key: result.protocol.get(key, 0) for key in PROTOCOL_KEYS},
        "queues": queues(result.centers, result.sim_end_s),
        "cdf": metrics.cdfs(records, points),
        "ack_share_over_time": metrics.ack_share_over_time(records),
        "budget": metrics.budget(records),
        "provenance": provenance(result.loaded),
    }
    report["verdict"] = verdict(report)
    report["why"] = why(report)
    return report
