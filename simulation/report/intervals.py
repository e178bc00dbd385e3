"""Terminal tables of a replicated run: each headline figure's interval, districts ranked.

rich is imported by the tables that print, not with the module: report.html reads
`overlap_text` here, and a quiet run would otherwise import rich for it (50-110 ms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulation.report.verdict import floor_pct

if TYPE_CHECKING:
    from rich.console import Console


def _value(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    if name.endswith("share"):
        return floor_pct(value)
    return f"{value:,.1f}"


def print_intervals(block: dict[str, dict[str, Any]], console: Console) -> None:
    """One row per figure: mean, 95% CI, and how many replications it rests on."""
    from rich.table import Table

    counts = {entry["n"] for entry in block.values()}
    table = Table(title=f"Replications: mean and 95% confidence interval (n = {max(counts)})")
    table.add_column("figure")
    table.add_column("mean", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("n", justify="right")
    for name, entry in block.items():
        low, high = entry["ci95_low"], entry["ci95_high"]
        interval = "-" if low is None else f"{_value(name, low)} .. {_value(name, high)}"
        table.add_row(name, _value(name, entry["mean"]), interval, str(entry["n"]))
    console.print(table)


def print_ranking(report: dict[str, Any], console: Console, shown: int = 5) -> None:
    """The worst districts by mean share in time, with intervals, and whether it is noise."""
    from rich.table import Table

    ranking = report.get("ranking")
    if not ranking:
        return
    table = Table(title=f"{shown} worst districts over replications (share acknowledged in time)")
    for column in ("district", "mean", "95% CI", "overlaps the worst"):
        table.add_column(column, justify="left" if column == "district" else "right")
    for d in ranking["districts"][:shown]:
        low, high = d["ci95_low"], d["ci95_high"]
        table.add_row(
            f"{d['code']} {d['name']}",
            floor_pct(d["mean"]),
            "-" if low is None else f"{floor_pct(max(0.0, low))} .. {floor_pct(min(1.0, high))}",
            overlap_text(d),
        )
    console.print(table)
    for note in ranking["notes"]:
        console.print(note)


def overlap_text(group: dict[str, Any]) -> str:
    """Whether a group's interval overlaps the worst one's: yes, no, or - (the worst itself)."""
    value = group.get("overlaps_worst")
    return "-" if value is None else "yes" if value else "no"
