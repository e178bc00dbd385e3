"""The alertsim command starts light: `--help` loads no model, report, transport or load tester,
and `alertsim loadtest` without its extra says which one to install."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from simulation.cli.common import console, errors

ROOT = Path(__file__).resolve().parents[3]

# Runs `alertsim ARGS` for each ARGS in turn in one fresh interpreter, after hiding the modules in
# HIDE (an entry of None in sys.modules makes their import fail as if they were not installed);
# prints the exit codes and which of the heavy packages got imported by them all.
CODE = """
import json, sys
for name in {hide!r}:
    sys.modules[name] = None
from simulation.cli import main
codes = []
for args in {runs!r}:
    sys.argv = ["alertsim", *args]
    try:
        main()
        codes.append(0)
    except SystemExit as exc:
        codes.append(exc.code)
heavy = ("simpy", "aiohttp", "aiomqtt", "cryptography", "loadtest", "simulation.model.world",
         "simulation.report.build", "dispatcher.service.dispatch")
print(json.dumps({{"codes": codes, "imported": [m for m in heavy if m in sys.modules]}}))
"""


def alertsim(*runs: list[str], hide: tuple[str, ...] = ()) -> tuple[list[int], list[str], str]:
    """(exit codes, heavy modules imported, stderr) of `alertsim ARGS` for each of ``runs``."""
    done = subprocess.run(
        [sys.executable, "-c", CODE.format(hide=hide, runs=list(runs))],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["codes"], result["imported"], done.stderr


def test_help_of_every_command_loads_nothing_heavy() -> None:
    # one interpreter for all: whatever any of them imported is still in sys.modules at the end
    codes, imported, _ = alertsim(
        ["--help"], ["run", "--help"], ["dispatch", "--help"], ["keys", "--help"]
    )

    assert codes == [0, 0, 0, 0]
    assert imported == []


def test_loadtest_without_hdrhistogram_names_the_extra() -> None:
    codes, imported, stderr = alertsim(["loadtest", "--workers", "1"], hide=("hdrh",))

    assert codes == [1]
    assert stderr.strip().splitlines() == [
        "loadtest: expected hdrhistogram (the loadtest extra): pip install 'alertsim[loadtest]'"
    ]
    assert "loadtest" not in imported, "nothing of the load tester ran"


def test_loadtest_without_uvloop_says_so_and_carries_on() -> None:
    codes, imported, stderr = alertsim(["loadtest", "--help"], hide=("uvloop",))

    assert codes == [0]
    assert stderr.strip().splitlines() == [
        "loadtest: uvloop is missing, so the swarm runs on asyncio's event loop: "
        "pip install 'alertsim[loadtest]'"
    ]
    assert "loadtest" in imported, "the load tester's own --help ran"


def test_loadtest_with_its_extra_prints_no_hint() -> None:
    codes, _, stderr = alertsim(["loadtest", "--help"])

    assert codes == [0]
    assert stderr == ""


def test_the_command_modules_import_no_rich() -> None:
    code = "import sys, simulation.cli; print('rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_deferred_consoles_behave_as_consoles() -> None:
    with console.capture() as captured:
        console.print("a:x:b.yaml [bold]not markup[/]")
    assert captured.get() == "a:x:b.yaml [bold]not markup[/]\n"
    with errors:  # a Console's own context manager (a buffer), as rich's Live enters it
        pass
    assert errors.stderr
    assert repr(console).startswith("<console width=")


def test_a_quiet_run_imports_no_rich(tmp_path: Path) -> None:
    # rich costs 50-110 ms to import; a quiet run prints nothing of it, and report.html reads
    # only text helpers of the terminal tables' module
    argv = ["alertsim", "run", "scenarios/smoke-one-town.yaml", "--replications", "1"]
    argv += ["--quiet", "--out", str(tmp_path / "run")]
    code = (
        f"import sys; sys.argv = {argv!r}\n"
        "from simulation.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('rich' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert (tmp_path / "run" / "report.html").exists()
    assert done.stderr.strip().splitlines()[-1] == "False"
