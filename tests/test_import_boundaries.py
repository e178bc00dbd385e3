"""The layering in DESIGN.md holds: the model and the policy import no asyncio, MQTT or HTTP."""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN = ("asyncio", "aiomqtt", "aiohttp")


@pytest.mark.parametrize(
    "module",
    [
        "dispatcher.core.policy",
        "dispatcher.core.tracker",
        "simulation.model.world",
        "simulation.model.network",
        "simulation.model.reach",
        "simulation.model.channels",
        "simulation.model.centers",
        "simulation.model.responders",
    ],
)
def test_module_pulls_in_no_io_framework(module: str) -> None:
    # A fresh interpreter, so nothing imported by other tests hides a dependency.
    code = f"import sys, {module}; print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))"
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "", f"{module} imports {found}"


def test_dispatcher_never_imports_simulation() -> None:
    code = (
        "import sys, pkgutil, importlib, dispatcher; "
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages(dispatcher.__path__, "
        "'dispatcher.') if not m.name.startswith('dispatcher.api')]; "
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'simulation')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == ""
