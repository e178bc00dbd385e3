"""`alertsim validate`: check a scenario file without running it."""

from __future__ import annotations

from simulation.cli.common import ScenarioFile, console, load_or_exit

__all__ = ["validate"]


def validate(scenario: ScenarioFile) -> None:
    """Check a scenario file; exit 2 listing every problem (file, field, value, expectation)."""
    loaded = load_or_exit(scenario)
    console.print(
        f"{scenario}: valid ({loaded.scenario.name}, strategy {loaded.scenario.strategy})"
    )
    if loaded.rainfall is not None:  # read from data: say from what, and what was left out
        console.print(f"  {loaded.rainfall.summary()}", markup=False, highlight=False)
