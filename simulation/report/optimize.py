"""An optimize study as people read it: optimize.html (the front, the plans beside the baseline).

Pure presentation of optimize.json (:mod:`simulation.experiment.optimize_results`): a scatter of
every trial's cost against the first target's lower 95% bound, the Pareto front drawn through
it, the targets as lines and the chosen plans ringed; then the chosen plans side by side with the
baseline, and the front as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from simulation.report import svg

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["front_chart", "plan_columns", "print_plans", "render_html"]

FRONT = "#2563eb"
TRIAL = "#9ca3af"
CHOSEN = "#b91c1c"


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _lower(row: dict[str, Any], figure: str) -> float:
    low = row["figures"][figure]["ci95_low"]
    return 0.0 if low is None else float(low)


@dataclass(frozen=True, slots=True)
class _Frame:
    """The plot area: cost on x (lo_x..hi_x), a share on y (0..1)."""

    left: int
    top: int
    plot_w: int
    plot_h: int
    lo_x: float
    hi_x: float

    def sx(self, x: float) -> float:
        return self.left + (x - self.lo_x) / (self.hi_x - self.lo_x) * self.plot_w

    def sy(self, y: float) -> float:
        return self.top + self.plot_h - min(max(y, 0.0), 1.0) * self.plot_h


def _axes(frame: _Frame, height: int) -> str:
    out = []
    right = frame.left + frame.plot_w
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        y = _n(frame.sy(tick))
        out.append(
            f'<line x1="{frame.left}" x2="{right}" y1="{y}" y2="{y}" stroke="{svg.GRID}"/>'
            f'<text x="{frame.left - 6}" y="{y}" text-anchor="end" font-size="11" '
            f'fill="{svg.AXIS}" dy="4">{tick:.0%}</text>'
        )
    step = svg.nice_step(frame.hi_x - frame.lo_x, 6)
    tick = step * -(-frame.lo_x // step)  # the first multiple of step at or above lo_x
    while tick <= frame.hi_x + 1e-9:
        out.append(
            f'<text x="{_n(frame.sx(tick))}" y="{frame.top + frame.plot_h + 16}" '
            f'text-anchor="middle" font-size="11" fill="{svg.AXIS}">{tick:,.6g}</text>'
        )
        tick += step
    out.append(
        f'<text x="{frame.left + frame.plot_w / 2}" y="{height - 8}" text-anchor="middle" '
        'font-size="12">cost of the plan</text>'
    )
    return "".join(out)


def _dots(frame: _Frame, document: dict[str, Any], figure: str) -> str:
    rows = document["trials"]
    by_trial = {r["trial"]: r for r in rows}
    points = [
        f"{_n(frame.sx(by_trial[t]['cost']))},{_n(frame.sy(_lower(by_trial[t], figure)))}"
        for t in document["front"]
    ]
    out = []
    if points:
        out.append(
            f'<polyline class="front" points="{" ".join(points)}" fill="none" '
            f'stroke="{FRONT}" stroke-width="1.5"/>'
        )
    front, chosen = set(document["front"]), {p["trial"] for p in document["chosen"]}
    for row in rows:
        colour = FRONT if row["trial"] in front else TRIAL
        cx, cy = _n(frame.sx(row["cost"])), _n(frame.sy(_lower(row, figure)))
        out.append(
            f'<circle data-trial="{row["trial"]}" cx="{cx}" cy="{cy}" r="3.5" fill="{colour}">'
            f"<title>trial {row['trial']}: cost {row['cost']:g}, lower bound "
            f"{_lower(row, figure):.1%}</title></circle>"
        )
        if row["trial"] in chosen:
            out.append(
                f'<circle class="chosen" cx="{cx}" cy="{cy}" r="7" fill="none" '
                f'stroke="{CHOSEN}" stroke-width="2"/>'
            )
    base_y = _n(frame.sy(_lower(document["baseline"], figure)) - 4)
    out.append(
        f'<rect class="baseline" x="{_n(frame.sx(0.0) - 4)}" y="{base_y}" '
        f'width="8" height="8" fill="#111827"><title>baseline</title></rect>'
    )
    return "".join(out)


def front_chart(document: dict[str, Any], width: int = 760, height: int = 380) -> str:
    """Cost (x) against the first target's lower 95% bound (y), one dot per trial."""
    figure = document["targets"][0]["figure"]
    costs = [r["cost"] for r in document["trials"]] + [0.0]
    lo_x, hi_x = float(min(costs)), float(max(costs))
    frame = _Frame(
        64, 16, width - 84, height - 62, lo_x, hi_x if hi_x - lo_x >= 1e-9 else lo_x + 1.0
    )
    lines = "".join(
        f'<line class="target" x1="{frame.left}" x2="{frame.left + frame.plot_w}" '
        f'y1="{_n(frame.sy(t["at_least"]))}" y2="{_n(frame.sy(t["at_least"]))}" '
        f'stroke="{svg.TARGET}" stroke-dasharray="5 4"/>'
        for t in document["targets"]
        if t["figure"] == figure
    )
    return (
        f'<svg class="chart" data-chart="front" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px;{svg.FONT}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>Cost against the lower 95% bound of {escape(figure)}</title>"
        f"{_axes(frame, height)}{lines}{_dots(frame, document, figure)}</svg>"
    )


def _interval(entry: dict[str, Any]) -> str:
    if entry["mean"] is None:
        return "-"
    if entry["ci95_low"] is None:
        return f"{entry['mean']:.1%}"
    return f"{entry['mean']:.1%} ({entry['ci95_low']:.1%} to {entry['ci95_high']:.1%})"


def plan_columns(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(heading, row) for the baseline and each chosen plan that exists."""
    by_trial = {r["trial"]: r for r in document["trials"]}
    columns = [("baseline", document["baseline"])]
    for plan in document["chosen"]:
        if plan["trial"] is not None:
            columns.append((f"{plan['target']} (trial {plan['trial']})", by_trial[plan["trial"]]))
    return columns


def _plans_table(document: dict[str, Any], columns: Sequence[tuple[str, dict[str, Any]]]) -> str:
    head = "<th></th>" + "".join(f"<th>{escape(h)}</th>" for h, _ in columns)
    body = []
    for lever in document["levers"]:
        cells = "".join(f"<td>{escape(str(r['settings'][lever['path']]))}</td>" for _, r in columns)
        body.append(f"<tr><td><code>{escape(lever['path'])}</code></td>{cells}</tr>")
    body.append(
        "<tr><td>cost</td>"
        + "".join(f'<td class="num">{r["cost"]:,.6g}</td>' for _, r in columns)
        + "</tr>"
    )
    for figure in dict.fromkeys(t["figure"] for t in document["targets"]):
        cells = "".join(f"<td>{escape(_interval(r['figures'][figure]))}</td>" for _, r in columns)
        body.append(f"<tr><td>{escape(figure)}</td>{cells}</tr>")
    for i, target in enumerate(document["targets"]):
        label = f"meets {target['figure']} >= {target['at_least']:g}"
        cells = "".join(
            '<td class="good">yes</td>' if r["meets"][i] else '<td class="bad">no</td>'
            for _, r in columns
        )
        body.append(f"<tr><td>{escape(label)}</td>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _files(document: dict[str, Any]) -> str:
    items = [
        f"<li>{escape(p['target'])}: <code>{escape(p['scenario_file'])}</code></li>"
        for p in document["chosen"]
        if p.get("scenario_file")
    ]
    missing = [escape(p["target"]) for p in document["chosen"] if p["trial"] is None]
    note = "" if not missing else f"<p class=note>No trial met: {', '.join(missing)}.</p>"
    return (f"<ul>{''.join(items)}</ul>" if items else "") + note


def render_html(document: dict[str, Any]) -> str:
    """One self-contained page: the front, the plans beside the baseline, the plan files."""
    from simulation.report.style import CSS

    title = f"Optimize {document['scenario']}"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="sub">{len(document["trials"])} trial(s) ({escape(document["sampler"])} '
        f"sampler, seed {document['sampler_seed']}), each over {document['replications']} "
        f"replication(s) with the scenario's seed {document['seed']} (common random numbers). "
        "A plan meets a target when the lower bound of its 95% interval does.</p>"
        f"<h2>Cost against compliance</h2>{front_chart(document)}"
        f'<p class="note">Blue: the Pareto front; ringed: the chosen plans; square: the '
        "baseline; dashed: the target.</p>"
        f"<h2>Chosen plans beside the baseline</h2>{_plans_table(document, plan_columns(document))}"
        f"<h2>Scenario files</h2><p>Each reproduces its plan with <code>alertsim run FILE "
        f"--replications {document['replications']}</code>.</p>{_files(document)}"
        "</main></body></html>\n"
    )


def print_plans(document: dict[str, Any], console: Console) -> None:
    """The chosen plans beside the baseline on the terminal."""
    from rich.table import Table

    columns = plan_columns(document)
    table = Table(title=f"Cheapest plans ({len(document['trials'])} trials)")
    table.add_column("")
    for heading, _ in columns:
        table.add_column(heading)
    for lever in document["levers"]:
        table.add_row(lever["path"], *(str(r["settings"][lever["path"]]) for _, r in columns))
    table.add_row("cost", *(f"{r['cost']:,.6g}" for _, r in columns))
    for figure in dict.fromkeys(t["figure"] for t in document["targets"]):
        table.add_row(figure, *(_interval(r["figures"][figure]) for _, r in columns))
    console.print(table)
    for plan in document["chosen"]:
        if plan["trial"] is None:
            console.print(f"no trial met {plan['target']}")
