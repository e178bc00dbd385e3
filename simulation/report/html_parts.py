"""Building blocks of the HTML report: tagged figures, tables and sections."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from simulation.report.headline import Kind, fmt, lookup


def figure(report: dict[str, Any], key: str, kind: Kind, text: str | None = None) -> str:
    """A figure in the text, tagged with where it comes from in report.json."""
    value = lookup(report, key)
    shown = fmt(value, kind) if text is None else text
    return (
        f'<span class="fig" data-key="{escape(key)}" '
        f"data-value='{escape(json.dumps(value), quote=True)}'>{escape(shown)}</span>"
    )


def table(head: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
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


def section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def share_class(share: float, target: float) -> str:
    return "good" if share >= target - 1e-12 else "bad"


def fault_split(report: dict[str, Any]) -> str:
    """Latency inside a rehearsed fault apart from outside it; "" when the run had no fault."""
    faults = (report.get("live") or {}).get("faults")
    if not faults:
        return ""
    rows = []
    for name, label in (("inside", "Inside the fault"), ("outside", "Outside the fault")):
        key = f"live.faults.{name}"
        rows.append(
            [
                escape(label),
                figure(report, f"{key}.recipients", "count"),
                figure(report, f"{key}.acknowledged", "count"),
                figure(report, f"{key}.latency_s.p50", "seconds"),
                figure(report, f"{key}.latency_s.p95", "seconds"),
                figure(report, f"{key}.within_target_share", "share"),
            ]
        )
    listed = ", ".join(escape(str(f)) for f in faults["faults"])
    return section(
        "faults",
        "Latency inside and outside the fault",
        f'<p class="note">Faults rehearsed: {listed}.</p>',
        table(["", "recipients", "acknowledged", "p50", "p95", "within target"], rows),
    )
