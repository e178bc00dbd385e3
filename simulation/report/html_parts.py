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
