"""The dependency rules of docs/architecture.md hold, checked on the source of every module.

- dispatcher never imports simulation, loadtest or simpy; loadtest imports only
  dispatcher.wire and dispatcher.errors of the project; simulation imports loadtest only where
  the `alertsim loadtest` command mounts it.
- The pure modules (the policy and tracker, the model, metrics, reports, hazards, behaviour,
  the fault spec) import no asyncio, MQTT, HTTP, socket, thread or clock, and no live, serve or
  CLI code: they are driven by events and compute from records.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.test_structure import imported, modules

PURE_PREFIXES = (
    "dispatcher.core",
    "simulation.model",
    "simulation.metrics",
    "simulation.report",
    "simulation.hazards",
    "simulation.behaviour",
    "simulation.faults",
    "simulation.alerttext",
    "simulation.textlength",
)
IO_MODULES = ("asyncio", "aiomqtt", "aiohttp", "paho", "socket", "time", "threading", "selectors")
NOT_FOR_PURE = (
    "simulation.live",
    "simulation.serve",
    "simulation.cli",
    "simulation.experiment",
    "dispatcher.transport",
    "dispatcher.service",
    "loadtest",
)


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


PURE = sorted(m for m in modules() if _under(m, PURE_PREFIXES))


def test_the_pure_set_is_what_the_rules_say() -> None:
    # the walk found the modules the rules are about, so an empty violation list means something
    for name in ("dispatcher.core.policy", "simulation.model.world", "simulation.report.build"):
        assert name in PURE


@pytest.mark.parametrize("name", PURE)
def test_pure_module_imports_no_io_and_no_driver(name: str) -> None:
    bad = [
        f"line {line}: {target}"
        for target, line in imported(name)
        if _under(target, IO_MODULES) or _under(target, NOT_FOR_PURE)
    ]
    assert bad == [], f"{name} imports what a pure module must not"


def test_dispatcher_imports_neither_simulation_nor_simpy_nor_loadtest() -> None:
    bad = [
        f"{name} line {line}: {target}"
        for name in modules()
        if name.startswith("dispatcher")
        for target, line in imported(name)
        if _under(target, ("simulation", "loadtest", "simpy"))
    ]
    assert bad == []


def test_loadtest_needs_only_the_wire_vocabulary_of_the_project() -> None:
    bad = [
        f"{name} line {line}: {target}"
        for name in modules()
        if name.startswith("loadtest")
        for target, line in imported(name)
        if _under(target, ("simulation", "dispatcher"))
        and not _under(target, ("dispatcher.wire", "dispatcher.errors"))
    ]
    assert bad == []


def test_simulation_reaches_the_load_tester_only_through_its_command() -> None:
    bad = [
        f"{name} line {line}: {target}"
        for name in modules()
        if name.startswith("simulation") and name != "simulation.cli.loadtest"
        for target, line in imported(name)
        if _under(target, ("loadtest",))
    ]
    assert bad == []


def test_pure_modules_pull_in_no_io_framework_even_indirectly() -> None:
    # A fresh interpreter, so nothing imported by other tests hides a dependency. (socket and
    # time come with the standard library's importlib.metadata, so only frameworks are checked.)
    frameworks = ("asyncio", "aiomqtt", "aiohttp", "paho")
    code = (
        f"import importlib, sys; [importlib.import_module(m) for m in {PURE!r}]; "
        f"print(','.join(m for m in {frameworks!r} if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == ""


def test_the_extras_check_needs_no_extra_and_only_the_error_root() -> None:
    # simulation.extras runs before any optional extra is imported, for every command that
    # needs one: it must import none of them, and nothing of the project but the error root.
    from simulation.extras import EXTRAS

    optional = {name.split(".")[0] for names in EXTRAS.values() for name in names}
    assert {"shapely", "scipy", "optuna", "distributed", "prometheus_client"} <= optional
    targets = [target for target, _line in imported("simulation.extras")]
    assert "dispatcher.errors" in targets  # the walk read the module
    bad = [
        target
        for target in targets
        if target.split(".")[0] in optional
        or (
            _under(target, ("simulation", "dispatcher", "loadtest"))
            and not _under(target, ("dispatcher.errors",))
        )
    ]
    assert bad == []
