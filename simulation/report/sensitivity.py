"""A sensitivity analysis as people read it: sensitivity.html (two tornado charts) and a table.

Pure presentation of the document :mod:`simulation.experiment.sensitivity` builds: the baseline
interval per figure, one row per parameter with each side's mean, paired effect and swing, and
the ranking per figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from simulation.report.tornado import TornadoRow, tornado_chart

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["figure_label", "print_sensitivity", "render_html", "top_rows"]

NOTIFY = "notification.within_target_share"
RESPOND = "response.within_target_share"


def figure_label(document: dict[str, Any], figure: str) -> str:
    """`acknowledged within 180 s` / `risk points reached within 900 s`, from the targets."""
    targets = document["targets"]
    if figure == NOTIFY:
        return f"acknowledged within {targets['notify_target_s']:g} s"
    return f"risk points reached within {targets['respond_target_s']:g} s"


def _pp(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f} pp"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _ci(entry: dict[str, Any], base: float, shift: bool) -> tuple[float, float] | None:
    if entry["ci95_low"] is None:
        return None
    offset = base if shift else 0.0
    return (entry["ci95_low"] + offset, entry["ci95_high"] + offset)


def top_rows(document: dict[str, Any], figure: str) -> list[dict[str, Any]]:
    """The parameter rows in this figure's ranking order."""
    by_name = {row["name"]: row for row in document["parameters"]}
    return [by_name[name] for name in document["ranking"][figure]]


def _chart(document: dict[str, Any], figure: str) -> str:
    base = document["baseline"][figure]["mean"] or 0.0
    rows = []
    for row in top_rows(document, figure):
        effect = row["effects"][figure]
        rows.append(
            TornadoRow(
                label=f"{row['name']} ({row['low_label']} / {row['high_label']})",
                low=effect["low"]["mean"] if effect["low"]["mean"] is not None else base,
                high=effect["high"]["mean"] if effect["high"]["mean"] is not None else base,
                low_ci=_ci(effect["low_delta"], base, shift=True),
                high_ci=_ci(effect["high_delta"], base, shift=True),
                note=f"{effect['swing'] * 100:.1f} pp",
            )
        )
    label = figure_label(document, figure)
    return tornado_chart(
        f"tornado-{figure.split('.', maxsplit=1)[0]}",
        f"Share {label}: effect of each parameter, widest swing first",
        rows,
        base=base,
        x_format=lambda x: f"{x * 100:.0f}%",
    )


def _table(document: dict[str, Any], figures: Sequence[str]) -> str:
    head = "<th>parameter</th><th>base</th><th>low</th><th>high</th>"
    for figure in figures:
        label = escape(figure_label(document, figure))
        head += f'<th class="num">{label}: low</th><th class="num">high</th>'
        head += '<th class="num">swing</th>'
    body = []
    for row in document["parameters"]:
        cells = [
            f"<td><code>{escape(row['name'])}</code></td>",
            f"<td>{escape(_short(row['base']))}</td>",
            f"<td>{escape(_short(row['low']))}</td>",
            f"<td>{escape(_short(row['high']))}</td>",
        ]
        for figure in figures:
            effect = row["effects"][figure]
            noise = "" if effect["beyond_noise"] is not False else " (within noise)"
            cells += [
                f'<td class="num">{_pp(effect["low_delta"]["mean"])}</td>',
                f'<td class="num">{_pp(effect["high_delta"]["mean"])}</td>',
                f'<td class="num">{effect["swing"] * 100:.1f} pp{noise}</td>',
            ]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _short(value: Any) -> str:
    if isinstance(value, dict) and "kind" in value:
        return (
            str(value["kind"])
            + " "
            + ", ".join(f"{k}={v}" for k, v in value.items() if k != "kind")
        )
    return str(value)


def _morris(document: dict[str, Any], figures: Sequence[str]) -> str:
    """Morris screening's mu* per parameter and figure, as bars with their intervals."""
    from simulation.report import svg

    block = document.get("morris")
    if block is None:
        return ""
    parts = [
        "<h2>Morris screening</h2>"
        f'<p class="note">{block["trajectories"]} trajectories over {block["levels"]} levels '
        f"({block['points']} points, {block['runs']} runs): mu* is the mean absolute change of "
        "the figure when the parameter steps from low to high with the others anywhere in their "
        "ranges; sigma their spread (interactions, non-linearity). Widest first.</p>"
    ]
    for figure in figures:
        effects = block[figure]
        top = max([e["mu_star"] + e["mu_star_conf"] for e in effects] + [1e-6])
        bars = [
            svg.Bar(
                e["name"],
                e["mu_star"],
                "#2563eb",
                value_label=f"{e['mu_star'] * 100:.1f} pp +/- {e['mu_star_conf'] * 100:.1f}, "
                f"sigma {e['sigma'] * 100:.1f}",
            )
            for e in effects
        ]
        parts.append(
            svg.bar_chart(
                f"morris-{figure.split('.', maxsplit=1)[0]}",
                f"Morris mu* on the share {figure_label(document, figure)}",
                bars,
                x_max=top,
                x_format=lambda x: f"{x * 100:.0f} pp",
                label_w=260,
                right_w=200,
            )
        )
    return "".join(parts)


def render_html(document: dict[str, Any]) -> str:
    """One self-contained page: the baseline, a tornado chart per figure, and the table."""
    from simulation.report.style import CSS

    figures = (NOTIFY, RESPOND)
    title = f"Sensitivity of {document['scenario']}"
    n = document["replications"]
    baseline = " ".join(
        f"<p>Baseline: {_pct(document['baseline'][f]['mean'])} "
        f"{escape(figure_label(document, f))}"
        + (
            ""
            if document["baseline"][f]["ci95_low"] is None
            else f" (95% CI {_pct(document['baseline'][f]['ci95_low'])} to "
            f"{_pct(document['baseline'][f]['ci95_high'])})"
        )
        + ".</p>"
        for f in figures
    )
    charts = "".join(
        f"<h2>{escape(figure_label(document, f)).capitalize()}</h2>{_chart(document, f)}"
        for f in figures
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="sub">{len(document["parameters"])} parameter(s), each to a low and a high '
        f"value with the others at the scenario's; seed {document['seed']} for every variant "
        f"(common random numbers), {n} replication(s) each. Swing: the spread of the figure over "
        "low, baseline and high; intervals are on the paired differences from the baseline.</p>"
        f"{baseline}{charts}<h2>All parameters</h2>{_table(document, figures)}"
        f"{_morris(document, figures)}"
        "</main></body></html>\n"
    )


def print_sensitivity(document: dict[str, Any], console: Console, top: int = 10) -> None:
    """The parameters that matter most, by swing on the notification figure."""
    from rich.table import Table

    table = Table(title=f"Sensitivity: share {figure_label(document, NOTIFY)} (widest first)")
    for header in ("parameter", "low", "high", "swing", "response swing"):
        table.add_column(header, justify="left" if header == "parameter" else "right")
    for row in top_rows(document, NOTIFY)[:top]:
        notify, respond = row["effects"][NOTIFY], row["effects"][RESPOND]
        table.add_row(
            row["name"],
            _pp(notify["low_delta"]["mean"]),
            _pp(notify["high_delta"]["mean"]),
            f"{notify['swing'] * 100:.1f} pp",
            f"{respond['swing'] * 100:.1f} pp",
        )
    console.print(table)
