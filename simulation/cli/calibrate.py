"""`alertsim calibrate`: fit a scenario's hops to a drill log; write the fits and the scenario."""

from pathlib import Path
from typing import Annotated

import typer

from simulation.cli.common import EXIT_FAILED, console, fail, load_or_exit

__all__ = ["calibrate"]


def calibrate(
    log: Annotated[
        Path,
        typer.Argument(help="drill log: records.csv.gz of a run, or the minimal attempts CSV"),
    ],
    scenario: Annotated[Path, typer.Option(help="the scenario whose hops are fitted")],
    out: Annotated[
        Path | None, typer.Option(help="output folder (default runs/<scenario name>-calibrated)")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no table")] = False,
) -> None:
    """Fit processing, delay, failure, reading, missed and ack times by maximum likelihood.

    Writes calibration.json and calibration.html (each hop's fit with its 95% interval, KS
    distance and a CDF plot of data against fit), overlay.yaml (the fitted values) and
    scenario.yaml (the scenario with them, for `alertsim run`).
    """
    from simulation.extras import MissingExtra, require

    try:
        require("calibrate", "alertsim calibrate")
    except MissingExtra as exc:
        fail(str(exc), EXIT_FAILED)
    from simulation.calibrate.hops import calibrate_log
    from simulation.calibrate.logs import DrillLogError, read_drill_log
    from simulation.calibrate.output import write_calibration

    loaded = load_or_exit(scenario)
    settings = loaded.scenario.escalation
    try:
        drill = read_drill_log(
            log, first_rung=settings.ladder[0], first_timeout_s=settings.timeout_s[0]
        )
    except DrillLogError as exc:
        fail(str(exc))
    calibration = calibrate_log(drill, loaded.scenario)
    if not calibration.hops:
        fail(f"{log}: expected enough data to fit at least one hop, got none", EXIT_FAILED)
    out_dir = out if out is not None else Path("runs") / f"{loaded.scenario.name}-calibrated"
    write_calibration(calibration, loaded, out_dir)
    if not quiet:
        _print(calibration)
        console.print(
            f"wrote {out_dir}/calibration.html, overlay.yaml, scenario.yaml", markup=False
        )


def _print(calibration: object) -> None:
    from rich.table import Table

    from simulation.calibrate.hops import Calibration

    assert isinstance(calibration, Calibration)
    table = Table(title="fitted hops (95% interval)")
    for column in ("scenario path", "fitted", "interval", "scenario had"):
        table.add_column(column, overflow="fold")
    for hop in calibration.hops:
        if hop.lognormal is not None:
            f = hop.lognormal
            fitted = f"median {f.median:.3g} s, p90 {f.p90:.3g} s"
            interval = (
                f"{f.median_ci[0]:.3g}-{f.median_ci[1]:.3g} / {f.p90_ci[0]:.3g}-{f.p90_ci[1]:.3g}"
            )
        else:
            assert hop.share is not None
            fitted = f"{hop.share.value:.2%}"
            interval = f"{hop.share.low:.2%}-{hop.share.high:.2%}"
        table.add_row(hop.path, fitted, interval, str(hop.current))
    console.print(table)
    for path, why in calibration.not_fitted:
        console.print(f"not fitted: {path}: {why}", markup=False, highlight=False)
