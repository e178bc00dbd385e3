"""Reports are pure: no simulation.report module pulls in asyncio (nor the fault proxy with it)."""

from __future__ import annotations

import json
import subprocess
import sys

# Every module of the package, imported in a fresh interpreter so that nothing another test
# imported hides a dependency; prints what was imported and which forbidden modules came along.
CODE = """
import importlib, json, pkgutil, sys
import simulation.report as package
names = [m.name for m in pkgutil.walk_packages(package.__path__, "simulation.report.")]
for name in names:
    importlib.import_module(name)
forbidden = ("asyncio", "simulation.live.proxy")
print(json.dumps({"modules": names, "found": [m for m in forbidden if m in sys.modules]}))
"""


def test_no_report_module_imports_asyncio() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out)

    # the walk saw the modules that once pulled asyncio in, so an empty `found` means something
    assert "simulation.report.faults" in result["modules"]
    assert "simulation.report.build" in result["modules"]
    assert result["found"] == []
