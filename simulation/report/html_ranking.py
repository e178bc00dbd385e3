"""report.html's ranking over replications: districts and towns with intervals, and the noise."""

from __future__ import annotations

from html import escape
from typing import Any

from simulation.report.html_parts import figure, section, table
from simulation.report.intervals import overlap_text

__all__ = ["ranking"]


def _rows(report: dict[str, Any], key: str, groups: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for i, g in enumerate(groups):
        base = f"ranking.{key}.{i}"
        interval = "-"
        if g.get("ci95_low") is not None:
            interval = (
                f"{figure(report, f'{base}.ci95_low', 'share')} to "
                f"{figure(report, f'{base}.ci95_high', 'share')}"
            )
        rows.append(
            [
                str(i + 1),
                f"{escape(g['name'])} <small>{escape(g['code'])}</small>"
                if g.get("name", g["code"]) != g["code"]
                else escape(g["code"]),
                figure(report, f"{base}.mean", "share"),
                interval,
                overlap_text(g),
                str(g.get("n", "-")),
            ]
        )
    return rows


def ranking(report: dict[str, Any]) -> str:
    """The section, or "" for a run of one replication (its ranking is one draw)."""
    block = report.get("ranking")
    if not block:
        return ""
    head = ["#", "", "mean within target", "95% CI", "overlaps the worst", "n"]
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in block.get("notes", []))
    return section(
        "ranking",
        "Districts and towns over replications, worst first",
        notes,
        "<h3>Districts</h3>",
        table(head, _rows(report, "districts", block.get("districts", [])), numeric_from=2),
        "<h3>Worst towns</h3>",
        table(head, _rows(report, "worst_towns", block.get("worst_towns", [])), numeric_from=2),
    )
