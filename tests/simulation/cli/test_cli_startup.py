"""The alertsim command starts light: `--help` loads no model, report, transport or load tester,
and `alertsim loadtest` without its extra says which one to install."""

from __future__ import annotations

import json
import subprocess
import sys

# Runs `alertsim ARGS` in a fresh interpreter after hiding the modules in HIDE (an entry of None
# in sys.modules makes their import fail as if they were not installed); prints the exit code and
# which of the heavy packages got imported.
CODE = """
import json, sys
for name in {hide!r}:
    sys.modules[name] = None
from simulation.cli import main
sys.argv = ["alertsim", *{args!r}]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
heavy = ("simpy", "aiohttp", "aiomqtt", "cryptography", "loadtest", "simulation.model.world",
         "simulation.report.build", "dispatcher.service.dispatch")
print(json.dumps({{"code": code, "imported": [m for m in heavy if m in sys.modules]}}))
"""


def alertsim(*args: str, hide: tuple[str, ...] = ()) -> tuple[int, list[str], str]:
    """(exit code, heavy modules imported, stderr) of `alertsim ARGS` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", CODE.format(hide=hide, args=list(args))],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["code"], result["imported"], done.stderr


def test_help_of_every_command_loads_nothing_heavy() -> None:
    for args in (["--help"], ["run", "--help"], ["dispatch", "--help"], ["keys", "--help"]):
        code, imported, _ = alertsim(*args)
        assert code == 0, args
        assert imported == [], f"alertsim {' '.join(args)} imported {imported}"


def test_loadtest_without_hdrhistogram_names_the_extra() -> None:
    code, imported, stderr = alertsim("loadtest", "--workers", "1", hide=("hdrh",))

    assert code == 1
    assert stderr.strip().splitlines() == [
        "loadtest: expected hdrhistogram (the loadtest extra): pip install 'alertsim[loadtest]'"
    ]
    assert "loadtest" not in imported, "nothing of the load tester ran"


def test_loadtest_without_uvloop_says_so_and_carries_on() -> None:
    code, imported, stderr = alertsim("loadtest", "--help", hide=("uvloop",))

    assert code == 0
    assert stderr.strip().splitlines() == [
        "loadtest: uvloop is missing, so the swarm runs on asyncio's event loop: "
        "pip install 'alertsim[loadtest]'"
    ]
    assert "loadtest" in imported, "the load tester's own --help ran"


def test_loadtest_with_its_extra_prints_no_hint() -> None:
    code, _, stderr = alertsim("loadtest", "--help")

    assert code == 0
    assert stderr == ""
