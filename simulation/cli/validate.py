"""`alertsim validate`: check a scenario file without running it."""

from typing import TYPE_CHECKING

from simulation.cli.common import ScenarioFile, console, load_or_exit

if TYPE_CHECKING:
    from simulation.scenario import LoadedScenario

__all__ = ["validate"]


def validate(scenario: ScenarioFile) -> None:
    """Check a scenario file; exit 2 listing every problem (file, field, value, expectation)."""
    loaded = load_or_exit(scenario)
    # one line each, never wrapped or marked up: a path may be long and may hold "[" or ":"
    console.print(
        f"{scenario}: valid ({loaded.scenario.name}, strategy {loaded.scenario.strategy})",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if loaded.rainfall is not None:  # read from data: say from what, and what was left out
        console.print(
            f"  {loaded.rainfall.summary()}", markup=False, highlight=False, soft_wrap=True
        )
    console.print(f"  {_provenance_summary(loaded)}", markup=False, highlight=False, soft_wrap=True)


def _provenance_summary(loaded: "LoadedScenario") -> str:
    """One line: how many parameters have a source, how many are assumptions, which have none."""
    provenance = loaded.provenance
    kinds = [provenance.entries[k].kind for k in provenance.entries]
    line = (
        f"provenance: {len(provenance.parameters)} parameters; {kinds.count('source')} entries "
        f"cite a source, {kinds.count('assumption')} are assumptions"
    )
    missing = provenance.missing
    if not missing:
        return line + "; every parameter has one"
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return line + f"; {len(missing)} without a source or an assumption: {shown}"
