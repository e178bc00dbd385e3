"""Terminal table of the replication block: each headline figure's mean and 95% interval."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _value(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    if name.endswith("share"):
        return f"{value * 100:.1f}%"
    return f"{value:,.1f}"


def print_intervals(block: dict[str, dict[str, Any]], console: Console) -> None:
    """One row per figure: mean, 95% CI, and how many replications it rests on."""
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
