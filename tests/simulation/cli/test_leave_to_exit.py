"""What `alertsim run` leaves to the exit is kept for the operating system under `alertsim` only:
a process that goes on (a test's CliRunner) frees it as always."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref

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
