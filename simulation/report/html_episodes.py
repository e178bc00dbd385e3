"""The warning-episodes section of report.html: each episode's timeline and every message's figures.

One row per episode (a district's warning from its first alert to its Cancel, named as the
district table names it), on an axis that starts at the run's first alert: a line from the first
message to the last acknowledgement, a mark per message where it was issued (a circle for an
Alert, a triangle for an Update, a cross for a Cancel) labelled with the share of the district's
recipients it targeted who acknowledged it. Then a table per message: targeted, acknowledged,
superseded, cancelled and latency from its own issue.
"""

from __future__ import annotations

from html import escape
from typing import Any

from simulation.report.html_parts import figure, section, table
from simulation.report.svg import AXIS, format_time_s, svg_open, x_ticks

# Episodes drawn at most; the table below lists every message whatever their number.
MAX_ROWS = 40
_LEFT, _RIGHT, _ROW_H, _TOP = 150, 80, 44, 28
_WIDTH = 860
_COLOURS = {"Alert": "#2563eb", "Update": "#d97706", "Cancel": "#6b7280"}


def _mark(kind: str, x: float, y: float) -> str:
    colour = _COLOURS.get(kind, AXIS)
    if kind == "Update":
        points = f"{x:.1f},{y - 7:.1f} {x - 6:.1f},{y + 5:.1f} {x + 6:.1f},{y + 5:.1f}"
        return f'<polygon points="{points}" fill="{colour}"/>'
    if kind == "Cancel":
        return (
            f'<path d="M{x - 5:.1f},{y - 5:.1f}L{x + 5:.1f},{y + 5:.1f}M{x - 5:.1f},{y + 5:.1f}'
            f'L{x + 5:.1f},{y - 5:.1f}" stroke="{colour}" stroke-width="2.5"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{colour}"/>'


def timeline(report: dict[str, Any]) -> str:
    """The episodes' timelines as one SVG chart (`data-chart="episode-timeline"`)."""
    episodes = report["episodes"][:MAX_ROWS]
    ends = [
        max(
            [m["at_s"] for m in e["messages"]]
            + ([e["last_acknowledged_at_s"]] if e["last_acknowledged_at_s"] is not None else [])
        )
        for e in episodes
    ]
    # The axis starts at the first alert: a storm's warnings may come hours into the run.
    origin: float = min(e["first_issued_at_s"] for e in episodes)
    span: float = max(max(ends) - origin, 60.0)
    plot_bottom = _TOP + _ROW_H * len(episodes)
    height = plot_bottom + 48
    plot_w = _WIDTH - _LEFT - _RIGHT
    out = svg_open(
        "episode-timeline", "Warning episodes: issued, updated, cancelled", _WIDTH, height
    )

    def sx(t_s: float) -> float:
        return _LEFT + (t_s - origin) / span * plot_w

    grid = (_TOP - 8, plot_bottom + 4)
    out.extend(
        x_ticks(
            lambda t: sx(origin + t), span, format_time_s, line_y=grid, label_y=plot_bottom + 20
        )
    )
    out.append(
        f'<text x="{_LEFT + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
        f'font-size="12" fill="#374151">time since the first alert, issued at '
        f"{escape(format_time_s(origin))} of model time</text>"
    )
    names = {d["code"]: d["name"] for d in report.get("by_district", [])}
    for row, episode in enumerate(episodes):
        y = _TOP + _ROW_H * row + _ROW_H / 2
        code = episode["district"]
        label = f"{names.get(code, code)} from {format_time_s(episode['first_issued_at_s'])}"
        out.append(
            f'<g data-episode="{row}" data-district="{escape(code)}"><text x="{_LEFT - 10}" '
            f'y="{y + 4:.1f}" font-size="12" text-anchor="end">{escape(label)}</text>'
        )
        last = episode["last_acknowledged_at_s"]
        if last is not None:
            out.append(
                f'<line x1="{sx(episode["first_issued_at_s"]):.1f}" y1="{y:.1f}" '
                f'x2="{sx(last):.1f}" y2="{y:.1f}" stroke="#93c5fd" stroke-width="4"/>'
            )
        for i, message in enumerate(episode["messages"]):
            x = sx(message["at_s"])
            label_y = y - 9 if i % 2 == 0 else y + 17  # above and below in turn: close marks
            share = message["acknowledged_share"]
            shown = "" if share is None else f" {share:.0%}"
            out.append(
                f'<g data-message="{escape(message["msg_type"])}">'
                f"<title>{escape(message['msg_type'])} {escape(message['level'])}: "
                f"{message['acknowledged']} of {message['targeted']} acknowledged</title>"
                f"{_mark(message['msg_type'], x, y)}"
                f'<text x="{x + 6:.1f}" y="{label_y:.1f}" font-size="10" fill="{AXIS}">'
                f"{escape(message['msg_type'])}{escape(shown)}</text></g>"
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def episodes_section(report: dict[str, Any]) -> str:
    """The section; "" for a report from before episodes were reported."""
    if "episodes" not in report or "messages" not in report:
        return ""
    rows = []
    for i, message in enumerate(report["messages"]):
        key = f"messages.{i}"
        rows.append(
            [
                figure(report, f"{key}.id", "count", message["id"]),
                escape(message["msg_type"]),
                escape(message["level"]),
                figure(report, f"{key}.issued_at_s", "seconds"),
                figure(report, f"{key}.targeted", "count"),
                figure(report, f"{key}.acknowledged", "count"),
                figure(report, f"{key}.superseded", "count"),
                figure(report, f"{key}.cancelled", "count"),
                figure(report, f"{key}.latency_s.p50", "seconds"),
                figure(report, f"{key}.latency_s.max", "seconds"),
            ]
        )
    shown = len(report["episodes"])
    more = f" (the first {MAX_ROWS} of {shown} drawn)" if shown > MAX_ROWS else ""
    note = (
        '<p class="note">A warning\'s life: its Alert, the Updates as the rain rose, the Cancel '
        "when it fell back. A responder still being chased on a message an Update supersedes "
        "carries on in the Update and is counted there; one who acknowledged keeps that. Episode "
        "latency runs from the first alert to the episode's last acknowledgement: "
        f"{figure(report, 'episode_latency_s.p50', 'seconds')} at the median, "
        f"{figure(report, 'episode_latency_s.max', 'seconds')} at the longest{more}.</p>"
    )
    head = ["message", "type", "level", "issued at", "targeted", "acknowledged", "superseded"]
    return section(
        "episodes",
        "Warning episodes",
        note,
        timeline(report) if report["episodes"] else "",
        table([*head, "cancelled", "p50", "max"], rows, numeric_from=3),
    )
