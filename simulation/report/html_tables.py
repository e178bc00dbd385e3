"""The tabular sections of report.html: districts, towns, channels, counters and run metadata."""

from __future__ import annotations

from html import escape
from typing import Any

from simulation.report import svg
from simulation.report.headline import HEADLINES, LABELS, lookup
from simulation.report.html_parts import figure, section, share_class, table

GOOD, BAD = "#059669", "#dc2626"


def districts(report: dict[str, Any]) -> str:
    goal = report["targets"]["notify_target_share"]
    ranked = sorted(
        enumerate(report["by_district"]),
        key=lambda item: (-item[1]["within_target_share"], item[1]["code"]),
    )
    bars = [
        svg.Bar(
            d["name"],
            d["within_target_share"],
            GOOD if d["within_target_share"] >= goal - 1e-12 else BAD,
        )
        for _, d in ranked
    ]
    chart = svg.bar_chart(
        "district-compliance",
        "Districts ranked by share acknowledged within the notification target",
        bars,
        x_max=1.0,
        x_format=lambda v: f"{v:.1%}",
        target=svg.Marker(goal, "target") if goal < 1 else None,
    )
    rows = []
    for rank, (i, d) in enumerate(ranked, start=1):
        share = d["within_target_share"]
        rows.append(
            [
                str(rank),
                f"{escape(d['name'])} <small>"
                f"{figure(report, f'by_district.{i}.code', 'count', d['code'])}</small>",
                figure(report, f"by_district.{i}.targeted", "count"),
                figure(report, f"by_district.{i}.flagged", "count"),
                f'<span class="{share_class(share, goal)}">'
                f"{figure(report, f'by_district.{i}.within_target_share', 'share')}</span>",
                figure(report, f"by_district.{i}.latency_s.p95", "seconds"),
                figure(report, f"by_district.{i}.response_within_target_share", "share"),
            ]
        )
    listing = table(
        ["#", "district", "targeted", "flagged", "within target", "p95", "risk points in time"],
        rows,
        numeric_from=2,
    )
    return section("districts", "Districts ranked by compliance", chart, listing)


def towns(report: dict[str, Any]) -> str:
    # a town code begins with its district's six-digit code
    names = {d["code"]: d["name"] for d in report["by_district"]}
    rows = [
        [
            figure(report, f"worst_towns.{i}.code", "count", t["code"]),
            escape(names.get(t["code"][:6], "")),
            figure(report, f"worst_towns.{i}.targeted", "count"),
            figure(report, f"worst_towns.{i}.acknowledged", "count"),
            figure(report, f"worst_towns.{i}.within_target_share", "share"),
            figure(report, f"worst_towns.{i}.latency_s.p95", "seconds"),
            figure(report, f"worst_towns.{i}.latency_s.max", "seconds"),
        ]
        for i, t in enumerate(report["worst_towns"])
    ]
    listing = table(
        ["town", "district", "targeted", "acknowledged", "within target", "p95", "max"],
        rows,
        numeric_from=2,
    )
    return section("towns", "Worst towns", listing)


def counts(report: dict[str, Any], path: str, head: list[str]) -> str:
    counts = lookup(report, path)
    rows = [[escape(k), figure(report, f"{path}.{k}", "count")] for k in counts]
    return table(head, rows) if rows else '<p class="note">None.</p>'


def channels(report: dict[str, Any]) -> str:
    escalations = report["escalations"]
    chart = ""
    if escalations:
        chart = svg.bar_chart(
            "escalations",
            "Escalations by channel",
            [svg.Bar(k, v, "#dc2626") for k, v in escalations.items()],
            x_max=max(escalations.values()) * 1.1,
            x_format=lambda v: f"{v:,.0f}",
        )
    columns = sorted({c for counters in report["channels"].values() for c in counters})
    rows = [
        [escape(name)]
        + [
            figure(report, f"channels.{name}.{c}", "count") if c in counters else "-"
            for c in columns
        ]
        for name, counters in report["channels"].items()
    ]
    return section(
        "channels",
        "Escalations and channels",
        '<p class="note">An escalation is a retry on the next rung of the ladder after a '
        "timeout without acknowledgement.</p>",
        chart,
        '<div class="cols"><div><h3>Escalations by channel</h3>',
        counts(report, "escalations", ["channel", "escalations"]),
        "</div><div><h3>Acknowledged by channel</h3>",
        counts(report, "acknowledged_by_channel", ["channel", "acknowledged"]),
        "</div></div><h3>Channel counters</h3>",
        table(["channel", *columns], rows),
        lengths(report),
    )


def lengths(report: dict[str, Any]) -> str:
    """Each alert's length on the channels: its SMS in segments, its script read aloud."""
    rows = []
    for index, alert in enumerate(report["alerts"]):
        if "sms" not in alert:
            continue
        key = f"alerts.{index}"
        sms, script = alert["sms"], alert["script"]
        rows.append(
            [
                escape(alert["id"]),
                f"{escape(sms['language'])}, {escape(sms['encoding'])}",
                figure(report, f"{key}.sms.chars", "count"),
                figure(report, f"{key}.sms.segments", "count"),
                f"{escape(script['language'])}, {figure(report, f'{key}.script.length', 'count')}"
                f" {escape(script['unit'])}s",
                figure(report, f"{key}.script.read_s", "seconds"),
            ]
        )
    if not rows:
        return ""
    head = ["alert", "SMS", "characters", "segments", "script", "read aloud"]
    return (
        "<h3>Alert length on the channels</h3>"
        '<p class="note">An SMS of several segments arrives when its last segment does and fails '
        "if any does; a voice call or an area terminal adds the time to read its script.</p>"
        + table(head, rows)
    )


def metadata(report: dict[str, Any]) -> str:
    versions = report.get("versions") or {}
    rows = [
        ["scenario", escape(report["scenario"])],
        ["scenario file", f"<code>{escape(report['scenario_file'])}</code>"],
        ["scenario sha256", f"<code>{escape(report['scenario_sha256'])}</code>"],
        ["seed", figure(report, "seed", "count", str(report["seed"]))],
        ["replication", escape(str(report["replication"]))],
        ["mode / strategy", escape(f"{report['mode']} / {report['strategy']}")],
        ["model events", figure(report, "sim_events", "count")],
        ["model end", figure(report, "sim_end_s", "seconds")],
        ["wall time", figure(report, "wall_s", "seconds")],
        ["started at", escape(str(report.get("started_at", "-")))],
        ["host", escape(str(report.get("host", "-")))],
        ["versions", escape(", ".join(f"{k} {v}" for k, v in versions.items()) or "-")],
    ]
    parts = [table(["", ""], rows, numeric_from=9)]
    replications = report.get("replications") or {}
    if replications:
        kinds = {h.key: h.kind for h in HEADLINES}
        ci_rows = []
        for key, r in replications.items():
            kind = kinds.get(key, "seconds")
            base = f"replications.{key}"
            ci_rows.append(
                [
                    escape(LABELS.get(key, key)),
                    figure(report, f"{base}.mean", kind),
                    figure(report, f"{base}.ci95_low", kind),
                    figure(report, f"{base}.ci95_high", kind),
                    escape(str(r["n"])),
                ]
            )
        parts += [
            "<h3>Replications: mean and 95% confidence interval</h3>",
            table(["figure", "mean", "CI low", "CI high", "n"], ci_rows),
        ]
    return section("metadata", "How this run was made", *parts)
