"""Every package says what it offers: a sorted `__all__`, pinned here, and one error root."""

from __future__ import annotations

import importlib
import inspect

import pytest

from dispatcher.errors import AlertsimError
from tests.test_structure import ROOT, modules

PACKAGES = sorted(name for name, path in modules().items() if path.name == "__init__.py")

# Packages whose __init__ re-exports an API; the others list their public modules.
REEXPORTS = {
    "dispatcher.transport": [
        "MemoryBroker",
        "MemoryTransport",
        "Message",
        "Transport",
        "TransportError",
        "TransportStats",
    ],
    "loadtest": [
        "PROFILES",
        "LoadtestConfig",
        "LoadtestError",
        "Profile",
        "Progress",
        "merge_reports",
        "print_table",
        "run_loadtest",
    ],
    "simulation.cli": ["app", "main"],
    "simulation.scenario": [
        "CHANNELS",
        "MAX_EXPANDED_NODES",
        "MAX_SCENARIO_BYTES",
        "WARNING_LEVELS",
        "AlertSettings",
        "BackgroundStream",
        "Behaviour",
        "ChannelName",
        "ChannelSettings",
        "Constant",
        "Distribution",
        "Empirical",
        "Entry",
        "Escalation",
        "Exponential",
        "FloodSlowdown",
        "Frozen",
        "Hazard",
        "LoadedScenario",
        "LogNormal",
        "Network",
        "NonNegative",
        "Outage",
        "ParameterProvenance",
        "Positive",
        "Probability",
        "Relays",
        "Scenario",
        "ScenarioError",
        "Source",
        "Strategy",
        "Targets",
        "TierSettings",
        "Tiers",
        "TopologySettings",
        "TrustSettings",
        "Uniform",
        "WarningLevel",
        "background",
        "distribution_mean",
        "distributions",
        "format_validation_error",
        "load_scenario",
        "loading",
        "parse_yaml",
        "provenance",
        "schema",
    ],
}


def isort_key(name: str) -> tuple[int, str]:
    """The order ruff keeps `__all__` in: CONSTANTS, then Classes, then functions and modules."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


def public_modules(package: str) -> list[str]:
    folder = ROOT.joinpath(*package.split("."))
    names = [p.stem for p in folder.glob("*.py") if p.stem not in ("__init__", "__main__")]
    names += [p.parent.name for p in folder.glob("*/__init__.py")]
    return sorted(n for n in names if not n.startswith("_"))


@pytest.mark.parametrize("package", PACKAGES)
def test_package_lists_its_public_names_sorted(package: str) -> None:
    module = importlib.import_module(package)
    names = list(module.__all__)
    assert names == sorted(names, key=isort_key), f"{package}.__all__ is not sorted"
    assert names == REEXPORTS.get(package, public_modules(package))
    for name in names:
        assert hasattr(module, name) or importlib.import_module(f"{package}.{name}")


def test_every_error_the_packages_define_derives_from_alertsim_error() -> None:
    errors = []
    for name in modules():
        if name.endswith("__main__"):
            continue  # runs its command when imported
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
                and value is not AlertsimError
            ):
                errors.append((f"{name}.{attr}", issubclass(value, AlertsimError)))
    assert len(errors) >= 10, "the walk found the package errors"
    assert [e for e, ok in errors if not ok] == []
