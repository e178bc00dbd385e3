"""A run folder: report.json, report.html, records.csv.gz and alerts/*.xml, alike for every command.

`alertsim run` (virtual or live) and the runs `alertsim serve` starts end the same way: the
finished run's report is built (with the live section of a live run; a replicated run brings its
own, with the replications added), then the folder is written. ``finish_run`` is that ending;
``write_run_folder`` writes a report that is already built.

records.csv.gz needs only the records, so ``finish_run`` writes it beside the report
(`simulation.experiment.beside`: a forked child on the other core, where that is safe), started
before the report is built; ``start_records`` starts it sooner, as soon as the run has ended,
and ``fork_records`` sooner still, as soon as its model has (the child takes the records).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulation.experiment import beside

if TYPE_CHECKING:
    from rich.console import Console

    from dispatcher.core.tracker import RecipientRecord
    from dispatcher.wire.messages import Alert
    from simulation.model.world import World
    from simulation.report.build import RunResult
    from simulation.report.records import StaffStamps

__all__ = ["RunFolder", "finish_run", "fork_records", "start_records", "write_run_folder"]


@dataclass(frozen=True, slots=True)
class RunFolder:
    """Where a run's files are."""

    path: Path

    @property
    def report_json(self) -> Path:
        return self.path / "report.json"

    @property
    def report_html(self) -> Path:
        return self.path / "report.html"

    @property
    def records_csv(self) -> Path:
        return self.path / "records.csv.gz"

    @property
    def alerts_dir(self) -> Path:
        """alerts/<identifier>.xml: the CAP 1.2 XML of every alert the run issued."""
        return self.path / "alerts"


def write_run_folder(
    out_dir: Path,
    report: dict[str, Any],
    records: Iterable[RecipientRecord],
    boundaries: Path | None = None,
    staff: StaffStamps | None = None,
    cap_alerts: Iterable[Alert] = (),
) -> RunFolder:
    """report.json (as built), report.html (rendered from it, its maps drawn on `boundaries`,
    by default the shipped district file) records.csv.gz and alerts/*.xml (the
    CAP 1.2 XML of ``cap_alerts``), in ``out_dir``.

    ``staff``: each recipient's staffed attempts, for the records' staff columns.
    """
    from simulation.report.records import write_records

    folder = _write_report(out_dir, report, boundaries, cap_alerts)
    write_records(records, folder.records_csv, staff)
    return folder


def start_records(result: RunResult, out_dir: Path) -> beside.Job[int]:
    """Start writing the records.csv.gz of ``result`` in ``out_dir``, beside this process where
    that is safe (here, now, otherwise); the job's ``result()`` is the number of rows."""
    from functools import partial

    from simulation.report.records import write_records

    path = _records_path(out_dir)
    job = partial(write_records, result.records, path, result.staff_stamps)
    return beside.start(job, f"writer of {path}")


def fork_records(world: World, out_dir: Path) -> beside.Job[int] | None:
    """Fork the writer of ``world``'s records.csv.gz in ``out_dir`` as soon as its model has
    run: the child takes the records' columns from the tracker itself (those of
    `World.records`, `Tracker.record_blocks`) while this process takes the records for the
    report, and frees the world. None where a fork is not safe (`beside.try_fork`):
    `start_records` then writes the records once this process has taken them."""
    from simulation.report.records import BLOCK, write_blocks

    path = _records_path(out_dir)

    def job() -> int:  # in the child: the world as the model left it, whatever happens here
        alert_ids = [a.alert_id for a in world.alerts]  # in World.records' order
        blocks = world.tracker.record_blocks(alert_ids, BLOCK)
        return write_blocks(blocks, path, world.staff_stamps)

    return beside.try_fork(job, f"writer of {path}")


def _records_path(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    return RunFolder(out_dir).records_csv


def _write_report(
    out_dir: Path, report: dict[str, Any], boundaries: Path | None, cap_alerts: Iterable[Alert]
) -> RunFolder:
    """report.json, report.html and alerts/*.xml (all of the folder but records.csv.gz)."""
    from dispatcher.wire.capxml import encode_cap
    from simulation.geo.shapes import map_shapes
    from simulation.report.html import render_html

    folder = RunFolder(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    folder.report_json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    html = render_html(report, map_shapes(boundaries))
    folder.report_html.write_text(html, encoding="utf-8")
    for alert in cap_alerts:
        folder.alerts_dir.mkdir(exist_ok=True)
        (folder.alerts_dir / f"{alert.identifier}.xml").write_bytes(encode_cap(alert))
    return folder


def finish_run(
    result: RunResult,
    out_dir: Path,
    *,
    live: dict[str, Any] | None = None,
    report: dict[str, Any] | None = None,
    records: beside.Job[int] | None = None,
    console: Console | None = None,
) -> tuple[dict[str, Any], RunFolder]:
    """Build the report of ``result`` (unless given, built) and write its folder.

    Progress is shown on ``console``. A replicated run passes the report
    `simulation.experiment.replicate.run_replicated` built, with its replications added, and
    the records.csv.gz `start_records` started (else it is started here). It is waited for
    last; an error of its writer is raised here, as the writer raised it.
    """
    from simulation.report.build import build_report

    writing = records if records is not None else start_records(result, out_dir)
    with writing:  # waited for however the report goes
        if report is None:
            with _status(console, "building the report"):
                report = build_report(result)
        if live is not None:
            report["live"] = live
        with _status(console, "writing report.html, records.csv.gz and alerts/*.xml"):
            boundaries = result.loaded.topology.boundaries
            folder = _write_report(out_dir, report, boundaries, result.cap_alerts)
            writing.result()
    return report, folder


def _status(console: Console | None, message: str) -> AbstractContextManager[object]:
    return nullcontext() if console is None else console.status(message, spinner="dots")
