"""Assemble report.json from a finished run: the verdict, headline figures and breakdowns.

The report is plain JSON-ready data. Everything that depends on the machine or the moment
(`started_at`, `wall_s`, `host`, `versions`) lives under keys that comparisons ignore, so two runs
of the same scenario and seed give identical reports apart from those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dispatcher.core.tracker import RecipientRecord, RiskPointRecord
from dispatcher.wire.messages import Alert
from simulation import metrics
from simulation.hazards import HazardModel
from simulation.report.episodes import episodes, messages
from simulation.report.provenance import provenance
from simulation.report.queues import queues
from simulation.report.verdict import verdict
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
    # the CAP alerts the run issued, as written into the run folder (alerts/<identifier>.xml)
    cap_alerts: tuple[Alert, ...] = ()


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


def hazard_by_district(loaded: LoadedScenario) -> list[dict[str, object]]:
    """Rainfall, warning level and cell outage of every district of the run, in code order."""
    scenario = loaded.scenario
    names = {d.code: d.name for d in loaded.topology.districts}
    codes = sorted(scenario.topology.districts or names)
    model = HazardModel(scenario.hazard, codes)
    return [{"code": code, "name": names[code], **model.summary(code)} for code in codes]


def rainfall_source(loaded: LoadedScenario) -> dict[str, object]:
    """Where the rainfall came from, when the scenario read it from data (LoadedScenario.rainfall):
    file, sha256, method, each district's stations or cells, and every counted repair."""
    read = loaded.rainfall
    if read is None:
        return {}
    return {
        "kind": read.kind,
        "path": read.path,
        "sha256": read.sha256,
        "method": read.method,
        "steps": read.steps,
        "step_s": read.step_s,
        "sources": dict(sorted(read.sources.items())),
        "repairs": list(read.repairs),
    }


def build_report(result: RunResult) -> dict[str, Any]:
    with metrics.latencies_kept():  # the records' lists do not change while it is built
        return _build_report(result)


def _build_report(result: RunResult) -> dict[str, Any]:
    scenario = result.loaded.scenario
    targets = scenario.targets
    names = {d.code: d.name for d in result.loaded.topology.districts}
    ladder = scenario.escalation.ladder  # channels are listed in the order they are tried
    # A superseded state's recipient carries on in the newer message and is counted there.
    records = [r for r in result.records if r.flag != "superseded"]
    points = [p for p in result.risk_points if p.withdrawn != "superseded"]
    tiers = metrics.tiers(records)
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
        "notification": {
            **metrics.notification(records, targets.notify_target_s),
            "superseded": len(result.records) - len(records),
        },
        "response": {
            **metrics.response(points, targets.respond_target_s),
            "cancelled": sum(1 for p in points if p.withdrawn == "cancelled"),
        },
        "messages": messages(result.alerts, result.records, targets.notify_target_s),
        "episodes": (chains := episodes(result.alerts, result.records)),
        "episode_latency_s": metrics.latency_summary(
            e["latency_s"] for e in chains if e["latency_s"] is not None
        ),
        "by_tier": metrics.by_tier(records, targets.notify_target_s, tiers),
        "by_district": metrics.by_district(
            records, points, targets.notify_target_s, targets.respond_target_s, names
        ),
        "hazard_by_district": hazard_by_district(result.loaded),
        "worst_towns": metrics.worst_towns(records, targets.notify_target_s),
        "escalations": metrics.escalations(records, ladder),
        "acknowledged_by_channel": metrics.acknowledged_by_channel(records, ladder),
        "channels": result.channels,
        "transport": result.transport,
        "protocol": {key: result.protocol.get(key, 0) for key in PROTOCOL_KEYS},
        "queues": queues(result.centers, result.sim_end_s),
        "cdf": metrics.cdfs(records, points, tiers),
        "ack_share_over_time": metrics.ack_share_over_time(records, groups=tiers),
        "budget": metrics.budget(records),
        "provenance": provenance(result.loaded),
    }
    if result.loaded.rainfall is not None:  # read from station or grid data: from where
        report["rainfall_source"] = rainfall_source(result.loaded)
    if scenario.hazard.areas is not None:  # a drawn alert area: what it was drawn from
        report["hazard_area"] = scenario.hazard.areas.model_dump(mode="json")
    report["verdict"] = verdict(report)
    report["why"] = why(report)
    return report
