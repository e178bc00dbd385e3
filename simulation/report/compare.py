"""Comparison of two runs: each headline figure side by side, its difference, and CI overlap.

Reads the two report.json files only. The difference is always second minus first. When both
reports carry replication confidence intervals for a figure, the comparison says whether the
intervals overlap (if they do, the runs do not clearly differ on that figure).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from dispatcher.errors import AlertsimError
from simulation.report.headline import HEADLINES, Kind, fmt, fmt_difference, lookup
from simulation.report.map_sections import MAP_CSS, comparison_map

if TYPE_CHECKING:
    from simulation.geo.shapes import MapShapes


class CompareError(AlertsimError):
    """A run folder that cannot be compared; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    label: str
    kind: Kind
    a: float | None
    b: float | None
    difference: float | None
    overlap: bool | None  # None: at least one run has no confidence interval for it


def load_report(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "report.json" if run_dir.is_dir() else run_dir
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CompareError(f"{path}: expected a report.json, got {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise CompareError(f"{path}: expected JSON, got {exc}") from exc
    if not isinstance(data, dict) or "notification" not in data:
        raise CompareError(f"{path}: expected an alertsim report, got no notification figures")
    return data


def _value(report: dict[str, Any], key: str) -> float | None:
    try:
        value = lookup(report, key)
    except KeyError:
        return None
    return value if isinstance(value, int | float) else None


def _interval(report: dict[str, Any], key: str) -> tuple[float, float] | None:
    ci = (report.get("replications") or {}).get(key)
    if not ci or ci.get("ci95_low") is None or ci.get("ci95_high") is None:
        return None
    return float(ci["ci95_low"]), float(ci["ci95_high"])


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[Row]:
    rows = []
    for h in HEADLINES:
        va, vb = _value(a, h.key), _value(b, h.key)
        difference: float | None = None
        if va is not None and vb is not None:
            difference = vb - va
            if isinstance(difference, float):
                difference = round(difference, 6)
        ia, ib = _interval(a, h.key), _interval(b, h.key)
        overlap = None if ia is None or ib is None else ia[0] <= ib[1] and ib[0] <= ia[1]
        rows.append(Row(h.key, h.label, h.kind, va, vb, difference, overlap))
    return rows


def _overlap_text(overlap: bool | None) -> str:
    return "-" if overlap is None else ("overlap" if overlap else "differ")


def _run_name(report: dict[str, Any]) -> str:
    return f"{report['scenario']} (seed {report['seed']}, {report['strategy']})"


def render_html(
    a: dict[str, Any],
    b: dict[str, Any],
    names: tuple[str, str],
    shapes: MapShapes | None = None,
) -> str:
    """comparison.html: the headline figures side by side, then the map of differences."""
    rows = compare(a, b)
    body = "".join(
        f"<tr data-key=\"{escape(r.key)}\" data-difference='{json.dumps(r.difference)}'>"
        f"<td>{escape(r.label)}</td><td class=num>{escape(fmt(r.a, r.kind))}</td>"
        f"<td class=num>{escape(fmt(r.b, r.kind))}</td>"
        f'<td class="num {"changed" if r.difference else ""}">'
        f"{escape(fmt_difference(r.difference, r.kind))}</td>"
        f"<td>{escape(_overlap_text(r.overlap))}</td></tr>"
        for r in rows
    )
    verdicts = "".join(
        f"<tr><th>{escape(name)}</th><td>{'<br>'.join(escape(s) for s in report['verdict'])}</td>"
        "</tr>"
        for name, report in zip(names, (a, b), strict=True)
    )
    css = (
        "body{font-family:system-ui,sans-serif;max-width:960px;margin:24px auto;color:#111827}"
        "table{border-collapse:collapse;margin:10px 0}th,td{padding:4px 10px;"
        "border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}"
        "th{background:#f3f4f6}.num{text-align:right;font-variant-numeric:tabular-nums}"
        ".changed{font-weight:600}p{color:#4b5563}" + MAP_CSS
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>alertsim comparison</title><style>{css}</style></head><body>"
        f"<h1>Comparison</h1><p>A: {escape(names[0])} - {escape(_run_name(a))}<br>"
        f"B: {escape(names[1])} - {escape(_run_name(b))}</p><table>{verdicts}</table>"
        "<p>Difference is B minus A. Confidence intervals are compared when both runs have "
        "replications: overlapping intervals mean the runs do not clearly differ.</p>"
        "<table><thead><tr><th>figure</th><th>A</th><th>B</th><th>B - A</th>"
        f"<th>95% CIs</th></tr></thead><tbody>{body}</tbody></table>"
        f"{comparison_map(a, b, shapes)}</body></html>\n"
    )


def print_comparison(
    a: dict[str, Any], b: dict[str, Any], names: tuple[str, str], console: Console
) -> None:
    table = Table(title=f"A: {names[0]}  vs  B: {names[1]}")
    for column, justify in (("figure", "left"), ("A", "right"), ("B", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    table.add_column("B - A", justify="right")
    table.add_column("95% CIs")
    for r in compare(a, b):
        table.add_row(
            r.label,
            fmt(r.a, r.kind),
            fmt(r.b, r.kind),
            fmt_difference(r.difference, r.kind),
            _overlap_text(r.overlap),
            style="bold" if r.difference else None,
        )
    console.print(table)
