"""report.html: one self-contained page a reviewer reads, drawn from report.json alone.

Verdict first, then the charts and tables that explain it, then how the run was made. Every
figure shown in text carries `data-key` (its dotted path in report.json) and `data-value` (the
JSON value), and the whole report is embedded as `<script type="application/json"
id="report-data">`, so a test can check that the page says what report.json says. No scripts run.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from simulation.report import svg
from simulation.report.headline import HEADLINES, LABELS, Kind, fmt, lookup
from simulation.report.style import CSS

TIER_COLOURS = {"all": "#111827", "district": "#2563eb", "town": "#0d9488", "grid": "#d97706"}
HOP_COLOURS = {
    "municipal_processing": "#1e3a8a",
    "district_relay": "#2563eb",
    "town_relay": "#60a5fa",
    "escalation": "#dc2626",
    "network": "#7c3aed",
    "read": "#f59e0b",
    "acknowledge": "#10b981",
    "travel": "#6b7280",
}
HOP_LABELS = {
    "municipal_processing": "municipal processing",
    "district_relay": "district relay",
    "town_relay": "town relay",
    "escalation": "escalation",
    "network": "network / channel",
    "read": "time to read",
    "acknowledge": "time to acknowledge",
    "travel": "travel to the risk point",
}
GOOD, BAD = "#059669", "#dc2626"

SECTIONS = (
    ("notification", "Notification latency"),
    ("over-time", "Acknowledged over time"),
    ("response", "Response"),
    ("budget", "Latency budget"),
    ("districts", "Districts"),
    ("towns", "Worst towns"),
    ("channels", "Channels"),
    ("flagged", "Flagged"),
    ("transport", "Transport"),
    ("metadata", "Run"),
)


def figure(report: dict[str, Any], key: str, kind: Kind, text: str | None = None) -> str:
    """A figure in the text, tagged with where it comes from in report.json."""
    value = lookup(report, key)
    shown = fmt(value, kind) if text is None else text
    return (
        f'<span class="fig" data-key="{escape(key)}" '
        f"data-value='{escape(json.dumps(value), quote=True)}'>{escape(shown)}</span>"
    )


def _table(head: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    cells = "".join(
        f'<th class="{"num" if i >= numeric_from else ""}">{escape(h)}</th>'
        for i, h in enumerate(head)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if i >= numeric_from else ""}">{c}</td>' for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def _share_class(share: float, target: float) -> str:
    return "good" if share >= target - 1e-12 else "bad"


def _verdict(report: dict[str, Any]) -> str:
    out = []
    for i, sentence in enumerate(report["verdict"]):
        met = sentence.startswith("MET")
        word, _, rest = sentence.partition(":")
        out.append(
            f'<p class="verdict {"met" if met else "missed"}" data-key="verdict.{i}">'
            f"<b>{escape(word)}</b>:{escape(rest)}</p>"
        )
    return f'<section id="verdict">{"".join(out)}</section>'


def _tiles(report: dict[str, Any]) -> str:
    replications = report.get("replications") or {}
    shown = (
        "notification.within_target_share",
        "notification.latency_s.p50",
        "notification.latency_s.p95",
        "notification.time_to_share_s.1.0",
        "response.within_target_share",
        "response.latency_s.p95",
    )
    kinds = {h.key: h.kind for h in HEADLINES}
    tiles = []
    for key in shown:
        ci = ""
        if key in replications:
            r = replications[key]
            ci = (
                f'<div class="ci">mean {figure(report, f"replications.{key}.mean", kinds[key])}, '
                f"95% CI {figure(report, f'replications.{key}.ci95_low', kinds[key])} to "
                f"{figure(report, f'replications.{key}.ci95_high', kinds[key])} "
                f"(n={r['n']})</div>"
            )
        text = "not reached" if lookup(report, key) is None else None
        tiles.append(
            f'<div class="tile"><div class="label">{escape(LABELS[key])}</div>'
            f'<div class="value">{figure(report, key, kinds[key], text)}</div>{ci}</div>'
        )
    return f'<div class="tiles">{"".join(tiles)}</div>'


def _notification(report: dict[str, Any]) -> str:
    target_s = report["targets"]["notify_target_s"]
    cdfs = report["cdf"]["notification"]
    # "all" first, so the tier curves are drawn over it and stay visible where they coincide
    names = ["all"] + [n for n in ("district", "town", "grid") if n in cdfs]
    x_max = max([p[0] for n in names for p in cdfs[n][-1:]] + [target_s * 1.2])
    chart = svg.line_chart(
        "notification-cdf",
        "Notification latency CDF per tier",
        [
            svg.Series(
                n if n != "all" else "all tiers", TIER_COLOURS[n], cdfs[n], dashed=n == "all"
            )
            for n in names
        ],
        x_max=x_max,
        x_label="time from issue to acknowledgement received",
        y_label="share of responders",
        markers=[svg.Marker(target_s, f"{target_s / 60:g}-minute target")],
    )
    goal = report["targets"]["notify_target_share"]
    rows = []
    for i, tier in enumerate(report["by_tier"]):
        share = tier["within_target_share"]
        rows.append(
            [
                escape(tier["tier"]),
                figure(report, f"by_tier.{i}.targeted", "count"),
                figure(report, f"by_tier.{i}.acknowledged", "count"),
                figure(report, f"by_tier.{i}.flagged", "count"),
                f'<span class="{_share_class(share, goal)}">'
                f"{figure(report, f'by_tier.{i}.within_target_share', 'share')}</span>",
                figure(report, f"by_tier.{i}.latency_s.p50", "seconds"),
                figure(report, f"by_tier.{i}.latency_s.p95", "seconds"),
                figure(report, f"by_tier.{i}.latency_s.max", "seconds"),
            ]
        )
    table = _table(
        ["tier", "targeted", "acknowledged", "flagged", "within target", "p50", "p95", "max"],
        rows,
    )
    note = (
        '<p class="note">Each curve is the share of that tier\'s responders whose '
        "acknowledgement had reached the dispatcher by a given time after the alert was issued. "
        "A curve that ends below 100% means some were never reached (see Flagged). Delivery "
        "to the device: p50 "
        f"{figure(report, 'notification.delivery_latency_s.p50', 'seconds')}, p95 "
        f"{figure(report, 'notification.delivery_latency_s.p95', 'seconds')}.</p>"
    )
    return _section("notification", "Notification latency per tier", chart, note, table)


def _over_time(report: dict[str, Any]) -> str:
    series = report["ack_share_over_time"]
    t = series["t_s"]
    notify_s = report["targets"]["notify_target_s"]
    respond_s = report["targets"]["respond_target_s"]
    lines = [
        svg.Series(
            name if name != "all" else "all tiers",
            TIER_COLOURS.get(name, "#111827"),
            list(zip(t, shares, strict=True)),
            step=False,
            dashed=name == "all",
        )
        for name, shares in series["share"].items()
    ]
    chart = svg.line_chart(
        "ack-share-over-time",
        "Share acknowledged over model time since the alert was issued",
        lines,
        x_max=max(t[-1] if t else 0.0, respond_s * 1.05),
        x_label="model time since the alert was issued",
        y_label="share acknowledged",
        markers=[
            svg.Marker(notify_s, f"{notify_s / 60:g} min"),
            svg.Marker(respond_s, f"{respond_s / 60:g} min"),
        ],
    )
    reached = [
        f"{label} by {figure(report, f'notification.time_to_share_s.{key}', 'seconds')}"
        if report["notification"]["time_to_share_s"][key] is not None
        else f"{label} never"
        for key, label in (("0.95", "95%"), ("1.0", "everyone"))
    ]
    note = (
        f'<p class="note">Sampled every {escape(svg.format_time_s(series["step_s"]))}. By the '
        f"{notify_s / 60:g}-minute line "
        f"{figure(report, 'notification.within_target_share', 'share')} had acknowledged; "
        f"{', '.join(reached)}.</p>"
    )
    return _section("over-time", "Acknowledged share over time", chart, note)


def _response(report: dict[str, Any]) -> str:
    target_s = report["targets"]["respond_target_s"]
    points = report["cdf"]["response"]
    if not points:
        return _section("response", "Response", '<p class="note">No risk points in this run.</p>')
    chart = svg.line_chart(
        "response-cdf",
        "Response latency CDF of risk points",
        [svg.Series("risk points", "#7c3aed", points)],
        x_max=max(points[-1][0], target_s * 1.2),
        x_label="time from issue to first responder on scene",
        y_label="share of risk points",
        markers=[svg.Marker(target_s, f"{target_s / 60:g}-minute target")],
    )
    note = (
        f'<p class="note">{figure(report, "response.reached", "count")} of '
        f"{figure(report, 'response.risk_points', 'count')} risk points reached; "
        f"{figure(report, 'response.within_target_share', 'share')} within "
        f"{target_s / 60:g} min; p50 {figure(report, 'response.latency_s.p50', 'seconds')}, "
        f"p95 {figure(report, 'response.latency_s.p95', 'seconds')}. "
        f"{figure(report, 'response.reassigned', 'count')} were covered by a town duty team "
        "because their grid member was not reached.</p>"
    )
    return _section("response", "Response latency of risk points", chart, note)


def _budget(report: dict[str, Any]) -> str:
    budget = report["budget"]
    hops: list[str] = budget["hops"]
    present = [q for q in ("p50", "p95") if budget.get(q)]
    if not present:
        return _section("budget", "Latency budget per hop", "<p>Nobody acknowledged.</p>")
    titles = {"p50": "median recipient", "p95": "p95 recipient"}
    bars = []
    for q in present:
        hops_s = budget[q]["hops_s"]
        segments = [svg.Segment(HOP_LABELS[h], hops_s[h], HOP_COLOURS[h]) for h in hops]
        total_s = sum(hops_s.values())
        label = (
            f"acknowledged {svg.format_time_s(total_s - hops_s['travel'])}, "
            f"on scene {svg.format_time_s(total_s)}"
        )
        bars.append(svg.Bar(titles[q], total_s, "#000", segments, label))
    chart = svg.bar_chart(
        "latency-budget",
        "Latency budget per hop for the median and the p95 recipient",
        bars,
        x_max=max(b.value for b in bars) * 1.05,
        x_format=svg.format_time_s,
        target=svg.Marker(report["targets"]["notify_target_s"], "notification target"),
        legend=[svg.Segment(HOP_LABELS[h], 0, HOP_COLOURS[h]) for h in hops],
        bar_h=30,
        label_w=130,
        right_w=240,
    )
    rows = [
        [escape(HOP_LABELS[h])]
        + [figure(report, f"budget.{q}.hops_s.{h}", "seconds") for q in present]
        for h in hops
    ]
    rows.append(
        ["<b>notification latency</b>"]
        + [f"<b>{figure(report, f'budget.{q}.latency_s', 'seconds')}</b>" for q in present]
    )
    rows.append(
        ["recipients averaged"]
        + [figure(report, f"budget.{q}.recipients", "count") for q in present]
    )
    table = _table(["hop"] + [titles[q] for q in present], rows)
    note = (
        '<p class="note">Where the time goes. Recipients are ranked by notification latency; '
        "those within half a percent of the median (and of the 95th percentile) are averaged hop "
        "by hop, so the hops before travel add up to their notification latency. Relays count "
        "until the first attempt was sent; escalation is the wait from the first attempt to the "
        "one that worked; network / channel is both legs of that attempt (to the device and the "
        "acknowledgement back). Travel, for those sent to risk points, comes after.</p>"
    )
    return _section("budget", "Latency budget per hop", note, chart, table)


def _districts(report: dict[str, Any]) -> str:
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
                f'<span class="{_share_class(share, goal)}">'
                f"{figure(report, f'by_district.{i}.within_target_share', 'share')}</span>",
                figure(report, f"by_district.{i}.latency_s.p95", "seconds"),
                figure(report, f"by_district.{i}.response_within_target_share", "share"),
            ]
        )
    table = _table(
        ["#", "district", "targeted", "flagged", "within target", "p95", "risk points in time"],
        rows,
        numeric_from=2,
    )
    return _section("districts", "Districts ranked by compliance", chart, table)


def _towns(report: dict[str, Any]) -> str:
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
    table = _table(
        ["town", "district", "targeted", "acknowledged", "within target", "p95", "max"],
        rows,
        numeric_from=2,
    )
    return _section("towns", "Worst towns", table)


def _counts(report: dict[str, Any], path: str, head: list[str]) -> str:
    counts = lookup(report, path)
    rows = [[escape(k), figure(report, f"{path}.{k}", "count")] for k in counts]
    return _table(head, rows) if rows else '<p class="note">None.</p>'


def _channels(report: dict[str, Any]) -> str:
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
        [escape(name)] + [figure(report, f"channels.{name}.{c}", "count") for c in columns]
        for name in report["channels"]
    ]
    return _section(
        "channels",
        "Escalations and channels",
        '<p class="note">An escalation is a retry on the next rung of the ladder after a '
        "timeout without acknowledgement.</p>",
        chart,
        '<div class="cols"><div><h3>Escalations by channel</h3>',
        _counts(report, "escalations", ["channel", "escalations"]),
        "</div><div><h3>Acknowledged by channel</h3>",
        _counts(report, "acknowledged_by_channel", ["channel", "acknowledged"]),
        "</div></div><h3>Channel counters</h3>",
        _table(["channel", *columns], rows),
    )


def _metadata(report: dict[str, Any]) -> str:
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
    parts = [_table(["", ""], rows, numeric_from=9)]
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
            _table(["figure", "mean", "CI low", "CI high", "n"], ci_rows),
        ]
    return _section("metadata", "How this run was made", *parts)


def _embedded(report: dict[str, Any]) -> str:
    # "</" would end the script element early; JSON allows "<\/" for it.
    data = json.dumps(report, sort_keys=False).replace("</", "<\\/")
    return f'<script type="application/json" id="report-data">{data}</script>'


def render_html(report: dict[str, Any]) -> str:
    """The whole page as one string."""
    nav = "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in SECTIONS)
    flagged = report["notification"]["flagged"]
    title = f"{report['scenario']}: alertsim report"
    body = [
        f"<h1>{escape(report['scenario'])}</h1>",
        f'<p class="sub">{escape(report["strategy"])} relay, seed {report["seed"]}, '
        f"{report['mode']} run; {len(report['alerts'])} alert(s) to "
        f"{figure(report, 'notification.targeted', 'count')} responders and "
        f"{figure(report, 'response.risk_points', 'count')} risk points.</p>",
        _verdict(report),
        _tiles(report),
        f"<nav>{nav}</nav>",
        _notification(report),
        _over_time(report),
        _response(report),
        _budget(report),
        _districts(report),
        _towns(report),
        _channels(report),
        _section(
            "flagged",
            "Flagged recipients by cause",
            '<p class="note">Nobody is lost silently: everyone who did not acknowledge is '
            "flagged with a cause.</p>",
            _table(
                ["cause", "recipients"],
                [
                    [escape(c), figure(report, f"notification.flagged.{c}", "count")]
                    for c in flagged
                ],
            ),
        ),
        _section(
            "transport",
            "Transport counters",
            _counts(report, "transport", ["counter", "messages"]),
        ),
        _metadata(report),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(body)}</main>{_embedded(report)}</body></html>\n"
    )
