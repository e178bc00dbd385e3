"""`alertsim compare`: two runs side by side on the terminal and in comparison.html."""

from pathlib import Path
from typing import Annotated

import typer

from simulation.cli.common import console, fail

__all__ = ["compare"]


def compare(
    run_a: Annotated[Path, typer.Argument(help="first run folder (or its report.json)")],
    run_b: Annotated[Path, typer.Argument(help="second run folder (or its report.json)")],
    out: Annotated[
        Path | None, typer.Option(help="folder for comparison.html (default: the second run's)")
    ] = None,
) -> None:
    """Compare two runs: headline figures side by side, differences, CI overlap."""
    from simulation.geo.shapes import map_shapes
    from simulation.report import compare as comparison

    try:
        a, b = comparison.load_report(run_a), comparison.load_report(run_b)
    except comparison.CompareError as exc:
        fail(str(exc))
    names = (str(run_a), str(run_b))
    comparison.print_comparison(a, b, names, console)
    out_dir = out if out is not None else (run_b if run_b.is_dir() else run_b.parent)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "comparison.html"
    html_path.write_text(comparison.render_html(a, b, names, map_shapes()), encoding="utf-8")
    console.print(f"comparison: {html_path}")
