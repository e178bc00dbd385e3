"""What `alertsim run` leaves to the exit is kept for the operating system under `alertsim` only:
a process that goes on (a test's CliRunner) frees it as always."""

from __future__ import annotations

import gc
import gzip
import json
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from simulation.cli import app
from simulation.cli.common import leave_to_exit
from tests.support.scenarios import ROOT


class Records:
    pass


def test_in_a_process_that_goes_on_nothing_is_kept() -> None:
    records = Records()
    alive = weakref.ref(records)
    leave_to_exit(records)
    del records
    gc.collect()
    assert alive() is None
    assert gc.get_freeze_count() == 0


def test_under_alertsim_it_is_kept_to_the_end_and_the_process_ends_well() -> None:
    code = """
import gc, weakref
from simulation.cli.common import ends_with_command, leave_to_exit
class Records:
    def __del__(self):
        print("freed")
ends_with_command()
records = Records()
alive = weakref.ref(records)
leave_to_exit(records)
del records
gc.collect()
print("kept" if alive() is not None else "lost", flush=True)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout == "kept\n"  # and never freed (no "freed"), as the exit leaves it


def test_a_run_under_alertsim_writes_the_folder_a_process_that_goes_on_writes(
    tmp_path: Path,
) -> None:
    """One replication under `alertsim` itself forks its records writer as the model ends and
    leaves its world to the exit; in a CliRunner the world is freed and nothing is left. Both
    give the same report and the same records."""
    scenario = str(ROOT / "scenarios" / "smoke-one-town.yaml")
    args = ["run", scenario, "--replications", "1", "--quiet"]
    subprocess.run(
        [sys.executable, "-m", "simulation.cli", *args, "--out", str(tmp_path / "process")],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    invoked = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "runner")])
    assert invoked.exit_code == 0, invoked.output

    def folder(name: str) -> tuple[dict[str, Any], bytes]:
        report = json.loads((tmp_path / name / "report.json").read_text(encoding="utf-8"))
        for key in ("started_at", "wall_s", "host", "versions"):
            report.pop(key)
        return report, gzip.decompress((tmp_path / name / "records.csv.gz").read_bytes())

    report, records = folder("process")
    assert records.count(b"\n") == 1 + report["notification"]["targeted"]
    assert (report, records) == folder("runner")
