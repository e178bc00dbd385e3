"""report.html's "What this answer assumes": every parameter, its value, and where it comes from.

Drawn from report.json's `provenance` alone: a table per group of parameters (the centers, the
channels, the people, the storm ...), each row with its value and either its source (linked) or
"assumption" and the reasoning, assumptions and parameters without provenance marked apart;
then the sources cited. Each row carries `data-param` (its scenario path) and `data-kind`.
"""

from __future__ import annotations

from html import escape
from typing import Any

from simulation.report.html_parts import section

GROUPS = {
    "seed": "the run",
    "strategy": "the strategy",
    "topology": "the city",
    "targets": "the targets",
    "tiers": "the centers",
    "channels": "the channels",
    "escalation": "the escalation ladder",
    "behaviour": "the people",
    "hazard": "the storm",
    "network": "the network and the broker",
    "relay": "relays between centers",
    "alert": "the alert",
    "trust": "signatures",
}
UNITS = (
    ("_per_mm_3h", "per mm in 3 h"),
    ("_per_mm_1h", "per mm in 1 h"),
    ("_per_s", "a second"),
    ("_per_hour", "an hour"),
    ("_m_s", "m/s"),
    ("_mm", "mm"),
    ("_s", "s"),
    ("_m", "m"),
)
STYLE = (
    "<style>#assumptions tr.assumption td:first-child{border-left:4px solid #d97706}"
    "#assumptions tr.source td:first-child{border-left:4px solid #059669}"
    "#assumptions tr.none td:first-child{border-left:4px solid #dc2626}"
    "#assumptions .tag{font-size:.75rem;font-weight:600;padding:1px 6px;border-radius:3px;"
    "margin-right:6px;white-space:nowrap}"
    "#assumptions .tag.assumption{background:#fef3c7;color:#92400e}"
    "#assumptions .tag.source{background:#d1fae5;color:#065f46}"
    "#assumptions .tag.none{background:#fee2e2;color:#991b1b}"
    "#assumptions h3{font-size:1rem;margin:18px 0 4px}"
    "#assumptions .changed{color:#b91c1c}</style>"
)


def _unit(name: str) -> str:
    return next((unit for suffix, unit in UNITS if name.endswith(suffix)), "")


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:g}"


def show(value: Any, unit: str = "") -> str:
    """A parameter's value as a planner reads it: `lognormal, median 50 s, p90 150 s`."""
    tail = f" {unit}" if unit else ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _number(value) + tail
    if isinstance(value, list):
        return ", ".join(show(v) for v in value) + tail
    if isinstance(value, dict) and "kind" in value:
        kind = value["kind"]
        if kind == "constant":
            return show(value["value"], unit)
        if kind == "lognormal":
            return (
                f"lognormal, median {show(value['median'], unit)}, p90 {show(value['p90'], unit)}"
            )
        if kind == "uniform":
            return f"uniform, {show(value['low'])} to {show(value['high'], unit)}"
        if kind == "exponential":
            return f"exponential, mean {show(value['mean'], unit)}"
        return f"{kind}, {len(value.get('values', []))} values{tail}"
    if isinstance(value, dict):
        shown = {k: v for k, v in value.items() if v is not None}  # unset options say nothing
        return "; ".join(f"{k}: {show(v, _unit(str(k)) or unit)}" for k, v in shown.items())
    return "none" if value is None else str(value)


def _source(report: dict[str, Any], source_id: str) -> str:
    source = report["provenance"]["sources"].get(source_id, {})
    title = escape(source.get("title", source_id))
    link = (
        f'<a href="{escape(source["url"])}">{title}</a>'
        if source.get("url")
        else f'<a href="#source-{escape(source_id)}">{title}</a>'
    )
    year = f", {source['year']}" if source.get("year") else ""
    return f"{link} ({escape(source.get('publisher', ''))}{year})"


def _where(report: dict[str, Any], row: dict[str, Any]) -> str:
    note = f" {escape(row['note'])}." if row.get("note") else ""
    if row["kind"] == "none":
        return '<span class="tag none">no source given</span>the scenario does not say'
    if row["kind"] == "source":
        return f'<span class="tag source">source</span>{_source(report, row["source"])}.{note}'
    informed = f" Informed by {_source(report, row['source'])}." if row["source"] else ""
    return (
        f'<span class="tag assumption">assumption</span>{escape(row["assumption"])}.'
        f"{informed}{note}"
    )


def _value(row: dict[str, Any]) -> str:
    unit = _unit(row["path"].rsplit(".", 1)[-1])

    def text(value: Any) -> str:
        return str(value) if row["path"] == "seed" else show(value, unit)  # seed: an identifier

    shown = escape(text(row["value"]))
    if "file_value" in row:
        shown += (
            f' <span class="changed">(changed for this run; the file has '
            f"{escape(text(row['file_value']))})</span>"
        )
    return shown


def _tables(report: dict[str, Any]) -> str:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in report["provenance"]["parameters"]:
        groups.setdefault(row["group"], []).append(row)
    out = []
    for group, rows in groups.items():
        body = "".join(
            f'<tr class="{row["kind"]}" data-param="{escape(row["path"])}" '
            f'data-kind="{row["kind"]}"><td><code>{escape(row["path"])}</code></td>'
            f"<td>{_value(row)}</td><td>{_where(report, row)}</td></tr>"
            for row in rows
        )
        out.append(
            f"<h3>{escape(GROUPS.get(group, group))}</h3><table><thead><tr><th>parameter</th>"
            f"<th>value</th><th>where it comes from</th></tr></thead><tbody>{body}</tbody></table>"
        )
    return "".join(out)


def _sources(report: dict[str, Any]) -> str:
    items = []
    for source_id, source in report["provenance"]["sources"].items():
        url = source.get("url")
        link = f' <a href="{escape(url)}">{escape(url)}</a>' if url else " (no link checked)"
        note = f" <i>{escape(source['note'])}</i>" if source.get("note") else ""
        year = f", {source['year']}" if source.get("year") else ""
        items.append(
            f'<li id="source-{escape(source_id)}"><code>{escape(source_id)}</code>: '
            f"<b>{escape(source['title'])}</b> ({escape(source['publisher'])}{year}).{link} "
            f"Measured: {escape(source['measured'])}{note}</li>"
        )
    return f'<h3>sources cited</h3><ul class="note">{"".join(items)}</ul>' if items else ""


def assumptions_section(report: dict[str, Any]) -> str:
    """The "What this answer assumes" section, or a note when report.json has no provenance."""
    title = "What this answer assumes"
    if "provenance" not in report:
        return section(
            "assumptions",
            title,
            '<p class="note">This report.json has no <code>provenance</code>; run the scenario '
            "again with this version of alertsim to list its parameters and their sources.</p>",
        )
    counts = report["provenance"]["counts"]
    none = (
        f' <b class="bad">{counts["none"]} parameter(s) have neither: the scenario does not say '
        "where they come from.</b>"
        if counts["none"]
        else " Every parameter has one or the other."
    )
    intro = (
        f'<p class="note">The answer above holds only as far as these {counts["parameters"]} '
        f"parameters do. {counts['source']} rows take their value from a source; "
        f"{counts['assumption']} are assumptions (marked), each with its reasoning.{none} "
        "A value this run changed from the scenario file is marked. Format and checks: "
        "docs/scenarios.md, Provenance.</p>"
    )
    return section("assumptions", title, STYLE, intro, _tables(report), _sources(report))
