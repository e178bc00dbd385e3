"""A sweep as people read it: the answer sentences, the table, the chart page (sweep.html).

Pure presentation of what `simulation.experiment.sweep` ran: one row per grid point (parameter
values, headline means under the ``TABLE_FIGURES`` columns, ``meets_notify_target``) and the
swept parameters, each a name and the values tried.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "HEADERS",
    "SHARE",
    "TABLE_FIGURES",
    "Parameter",
    "answers",
    "cells",
    "chart_axis",
    "print_sweep",
    "render_html",
]


class Parameter(Protocol):
    """One swept parameter (`--set PATH=V1,V2,...`): its dotted name and the values tried."""

    @property
    def name(self) -> str: ...

    @property
    def values(self) -> tuple[Any, ...]: ...


SHARE = "notification.within_target_share"
TABLE_FIGURES: tuple[tuple[str, str], ...] = (
    (SHARE, "acknowledged_within_target_share"),
    ("notification.latency_s.p95", "notification_p95_s"),
    ("notification.time_to_share_s.0.95", "time_to_95_percent_s"),
    ("response.within_target_share", "response_within_target_share"),
)


def chart_axis(overrides: Sequence[Parameter]) -> Parameter:
    """The x axis: the first override whose values are all numbers (else the first override)."""
    for override in overrides:
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in override.values):
            return override
    return overrides[0]


def answers(overrides: Sequence[Parameter], rows: Sequence[dict[str, Any]]) -> list[str]:
    """Per line of the chart: up to which x value the notification target is still met."""
    axis = chart_axis(overrides)
    others = [o for o in overrides if o is not axis]
    out = []
    for combo in itertools.product(*(o.values for o in others)) if others else [()]:
        label = ", ".join(f"{o.name}={v}" for o, v in zip(others, combo, strict=True)) or "all"
        line = [r for r in rows if all(r[o.name] == v for o, v in zip(others, combo, strict=True))]
        met = [r[axis.name] for r in line if r["meets_notify_target"]]
        if not met:
            shares = [r for r in line if r["acknowledged_within_target_share"] is not None]
            best = max(shares, key=lambda r: r["acknowledged_within_target_share"], default=None)
            tail = (
                ""
                if best is None
                else f" (best {best['acknowledged_within_target_share']:.1%} in time, "
                f"at {axis.name} = {best[axis.name]})"
            )
            out.append(f"{label}: misses the notification target at every {axis.name} tried{tail}")
        elif len(met) == len(line):
            out.append(f"{label}: meets the notification target at every {axis.name} tried")
        else:
            out.append(
                f"{label}: meets the notification target at {axis.name} = "
                + ", ".join(str(m) for m in met)
                + "; misses it elsewhere"
            )
    return out


HEADERS = ("ack in time", "notify p95 (s)", "time to 95% (s)", "reached in time")


def cells(overrides: Sequence[Parameter], row: dict[str, Any]) -> list[str]:
    """A row as people read it: shares in percent, seconds to one decimal."""
    cells = [str(row[o.name]) for o in overrides]
    for _, column in TABLE_FIGURES:
        value = row[column]
        if value is None:
            cells.append("-")
        elif column.endswith("share"):
            cells.append(f"{value * 100:.1f}%")
        else:
            cells.append(f"{value:,.1f}")
    cells.append("yes" if row["meets_notify_target"] else "no")
    return cells


PALETTE = ("#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#475569")


def render_html(
    overrides: Sequence[Parameter], rows: Sequence[dict[str, Any]], meta: dict[str, Any]
) -> str:
    """One self-contained page: the answer sentences, the chart and the table."""
    from simulation.report import svg
    from simulation.report.style import CSS

    axis = chart_axis(overrides)
    others = [o for o in overrides if o is not axis]
    numeric = axis.values and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in axis.values
    )
    # A categorical axis is drawn at positions 1..n so the lines still read left to right.
    position = (
        {v: float(v) for v in axis.values}
        if numeric
        else {v: float(i + 1) for i, v in enumerate(axis.values)}
    )
    x_max = max(position.values()) or 1.0
    series = []
    combos = list(itertools.product(*(o.values for o in others))) if others else [()]
    for i, combo in enumerate(combos):
        line = [r for r in rows if all(r[o.name] == v for o, v in zip(others, combo, strict=True))]
        points = [
            (position[r[axis.name]], r["acknowledged_within_target_share"])
            for r in line
            if r["acknowledged_within_target_share"] is not None
        ]
        label = ", ".join(f"{v}" for v in combo) or "share"
        series.append(svg.Series(label, PALETTE[i % len(PALETTE)], sorted(points), step=False))
    target = rows[0]["notify_target_share"] if rows else 1.0
    target_s = rows[0]["notify_target_s"] if rows else 180.0
    series.append(
        svg.Series(
            f"target {target:.0%}",
            svg.TARGET,
            [(0.0, target), (x_max, target)],
            step=False,
            dashed=True,
        )
    )
    chart = svg.line_chart(
        "sweep",
        f"Share acknowledged within {target_s:g} s by {axis.name}",
        series,
        x_max=x_max,
        x_label=axis.name,
        y_label=f"acknowledged within {target_s:g} s",
        x_format=lambda x: f"{x:g}",
    )
    headers = [o.name for o in overrides] + [*HEADERS, "meets target"]
    head = "".join(f"<th>{escape(c)}</th>" for c in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells(overrides, r)) + "</tr>"
        for r in rows
    )
    sentences = "".join(f"<p>{escape(a)}</p>" for a in answers(overrides, rows))
    title = f"Sweep of {meta['scenario']}"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="sub">seed {meta["seed"]} at every point (common random numbers), '
        f"{meta['replications']} replication(s) per point</p>"
        f'<section id="answers">{sentences}</section>{chart}'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        "</main></body></html>\n"
    )


def print_sweep(
    overrides: Sequence[Parameter], rows: Sequence[dict[str, Any]], console: Console
) -> None:
    """The sweep table and the answer sentences on the terminal."""
    from rich.table import Table

    table = Table(title="Sweep (means over replications)")
    for o in overrides:
        table.add_column(o.name)
    for header in HEADERS:
        table.add_column(header, justify="right")
    table.add_column("meets target")
    for row in rows:
        table.add_row(*cells(overrides, row))
    console.print(table)
    for sentence in answers(overrides, rows):
        console.print(sentence)
