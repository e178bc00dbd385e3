"""report.html: one self-contained page a reviewer reads, drawn from report.json alone.

Verdict first, then the charts and tables that explain it, then how the run was made. Every
figure shown in text carries `data-key` (its dotted path in report.json) and `data-value` (the
JSON value), and the whole report is embedded as `<script type="application/json"
id="report-data">`, so a test can check that the page says what report.json says. No scripts run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

from simulation.report import svg
from simulation.report.headline import HEADLINES, LABELS, lookup
from simulation.report.html_episodes import episodes_section
from simulation.report.html_parts import fault_split, figure, section, share_class, table
from simulation.report.html_provenance import assumptions_section
from simulation.report.html_queues import queues
from simulation.report.html_ranking import ranking
from simulation.report.html_tables import channels, counts, districts, metadata, towns
from simulation.report.map_sections import MAP_CSS, report_maps
from simulation.report.style import CSS

if TYPE_CHECKING:
    from simulation.geo.shapes import MapShapes

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

SECTIONS = (
    ("notification", "Notification latency"),
    ("over-time", "Acknowledged over time"),
    ("response", "Response"),
    ("budget", "Latency budget"),
    ("episodes", "Warning episodes"),
    ("maps", "Maps"),
    ("districts", "Districts"),
    ("towns", "Worst towns"),
    ("channels", "Channels"),
    ("queues", "Staff queues"),
    ("flagged", "Flagged"),
    ("transport", "Transport"),
    ("assumptions", "What this answer assumes"),
    ("metadata", "Run"),
)


def _verdict(report: dict[str, Any]) -> str:
    out = []
    for i, sentence in enumerate(report["verdict"]):
        word, _, rest = sentence.partition(":")
        kind = {"MET": "met", "MISSED": "missed"}.get(word, "unsure")  # "cannot tell"
        out.append(
            f'<p class="verdict {kind}" data-key="verdict.{i}">'
            f"<b>{escape(word)}</b>:{escape(rest)}</p>"
        )
    out.extend(f'<p class="why">{escape(sentence)}</p>' for sentence in report.get("why", []))
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
                f'<span class="{share_class(share, goal)}">'
                f"{figure(report, f'by_tier.{i}.within_target_share', 'share')}</span>",
                figure(report, f"by_tier.{i}.latency_s.p50", "seconds"),
                figure(report, f"by_tier.{i}.latency_s.p95", "seconds"),
                figure(report, f"by_tier.{i}.latency_s.max", "seconds"),
            ]
        )
    listing = table(
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
    return section("notification", "Notification latency per tier", chart, note, listing)


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
    return section("over-time", "Acknowledged share over time", chart, note)


def _response(report: dict[str, Any]) -> str:
    target_s = report["targets"]["respond_target_s"]
    points = report["cdf"]["response"]
    if not points:
        return section("response", "Response", '<p class="note">No risk points in this run.</p>')
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
    return section("response", "Response latency of risk points", chart, note)


def _budget(report: dict[str, Any]) -> str:
    budget = report["budget"]
    hops: list[str] = budget["hops"]
    present = [q for q in ("p50", "p95") if budget.get(q)]
    if not present:
        return section("budget", "Latency budget per hop", "<p>Nobody acknowledged.</p>")
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
    listing = table(["hop"] + [titles[q] for q in present], rows)
    note = (
        '<p class="note">Where the time goes. Recipients are ranked by notification latency; '
        "those within half a percent of the median (and of the 95th percentile) are averaged hop "
        "by hop, so the hops before travel add up to their notification latency. Relays count "
        "until the first attempt was sent; escalation is the wait from the first attempt to the "
        "one that worked; network / channel is both legs of that attempt (to the device and the "
        "acknowledgement back). Travel, for those sent to risk points, comes after.</p>"
    )
    return section("budget", "Latency budget per hop", note, chart, listing)


def _charted(
    build: Callable[[dict[str, Any]], str],
    report: dict[str, Any],
    needs: str,
    anchor: str,
    title: str,
) -> str:
    """A chart section, or a note where an older report.json lacks the figures it is drawn from."""
    if needs in report:
        return build(report)
    return section(
        anchor,
        title,
        f'<p class="note">This report.json has no <code>{escape(needs)}</code> figures; '
        "run the scenario again with this version of alertsim to draw this chart.</p>",
    )


def _embedded(report: dict[str, Any]) -> str:
    # "</" would end the script element early; JSON allows "<\/" for it.
    data = json.dumps(report, sort_keys=False).replace("</", "<\\/")
    return f'<script type="application/json" id="report-data">{data}</script>'


def render_html(report: dict[str, Any], shapes: MapShapes | None = None) -> str:
    """The whole page as one string; its maps are drawn on `shapes` (none without them)."""
    nav = "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in SECTIONS)
    flagged = report["notification"]["flagged"]
    superseded = (
        figure(report, "notification.superseded", "count")
        if "superseded" in report["notification"]
        else ""
    )
    title = f"{report['scenario']}: alertsim report"
    body = [
        f"<h1>{escape(report['scenario'])}</h1>",
        f'<p class="sub">{escape(report["strategy"])} relay, seed {report["seed"]}, '
        f"{report['mode']} run; {_messages(len(report['alerts']))} to "
        f"{figure(report, 'notification.targeted', 'count')} responders and "
        f"{figure(report, 'response.risk_points', 'count')} risk points.</p>",
        _verdict(report),
        _tiles(report),
        f"<nav>{nav}</nav>",
        _charted(_notification, report, "cdf", "notification", "Notification latency per tier"),
        _charted(_over_time, report, "ack_share_over_time", "over-time", "Acknowledged share"),
        _charted(_response, report, "cdf", "response", "Response latency of risk points"),
        _charted(_budget, report, "budget", "budget", "Latency budget per hop"),
        episodes_section(report),
        report_maps(report, shapes),
        districts(report),
        ranking(report),
        towns(report),
        channels(report),
        queues(report),
        section(
            "flagged",
            "Flagged recipients by cause",
            '<p class="note">Nobody is lost silently: everyone who did not acknowledge is '
            "flagged with a cause.</p>",
            table(
                ["cause", "recipients"],
                [[escape(c), figure(report, f"notification.flagged.{c}", "count")] for c in flagged]
                + (
                    [["superseded (counted in the newer message)", superseded]]
                    if "superseded" in report["notification"]
                    else []
                ),
            ),
        ),
        section(
            "transport",
            "Transport counters",
            counts(report, "transport", ["counter", "messages"]),
        ),
        fault_split(report),
        assumptions_section(report),
        metadata(report),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}{MAP_CSS}</style></head>"
        f"<body><main>{''.join(body)}</main>{_embedded(report)}</body></html>\n"
    )


def _messages(count: int) -> str:
    return f"{count} message" if count == 1 else f"{count} messages"
