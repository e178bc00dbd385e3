"""One rainfall value checked, and the counted repairs of a series: what was bad and left out.

A value is good (millimetres, >= 0, at most the world's heaviest hour per hour of the step),
trace (taken as 0 mm, as CMA defines it), missing, negative or absurd. The last three are bad:
an error unless the scenario says `on_bad: skip`, when they are left out and counted here.
Nothing is ever filled in by a guess; what a district's value is then computed from is what
`simulation.rainfall.assign` and `simulation.rainfall.gridded` document.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from dispatcher.errors import AlertsimError

__all__ = [
    "MAX_MM_PER_HOUR",
    "PLURAL",
    "BadKind",
    "Provenance",
    "RainfallError",
    "Repairs",
    "bad_kind",
]

# The heaviest hour on record: 305 mm (Holt, Missouri, 1947). China's: 201.9 mm (Zhengzhou, 2021).
MAX_MM_PER_HOUR: Final = 305.0
# Lines quoted in an error or a repair report before "... and N more".
QUOTED: Final = 5

BadKind = Literal["missing", "negative", "absurd", "outside the city"]
# what a count of each is called in errors and reports
PLURAL: Final[dict[str, str]] = {
    "missing": "missing values",
    "negative": "negative values",
    "absurd": "absurd values",
    "outside the city": "stations outside the city",
}


class RainfallError(AlertsimError, ValueError):
    """Rainfall data that cannot be used as it is: one problem a line, naming file and place."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def bad_kind(value_mm: float | None, step_h: float) -> BadKind | None:
    """Why a value (mm in one step of `step_h` hours) cannot be used, or None if it can."""
    if value_mm is None or math.isnan(value_mm):
        return "missing"
    if value_mm < 0:
        return "negative"
    if value_mm > MAX_MM_PER_HOUR * step_h or math.isinf(value_mm):
        return "absurd"
    return None


@dataclass
class Repairs:
    """What was left out (by kind, with the first few places) and what was counted as it came."""

    left_out: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: Counter[str] = field(default_factory=Counter)

    def leave_out(self, kind: str, where: str) -> None:
        self.left_out[kind] += 1
        quoted = self.examples.setdefault(kind, [])
        if len(quoted) < QUOTED:
            quoted.append(where)

    def note(self, what: str, count: int = 1) -> None:
        """Count something done by the documented method, not a repair (trace read as 0 mm)."""
        self.notes[what] += count

    def problems(self, path: str, hint: str) -> list[str]:
        """The left-out values as error lines, for `on_bad: error`."""
        lines = []
        for kind, count in sorted(self.left_out.items()):
            shown = "; ".join(self.examples[kind])
            more = f" and {count - len(self.examples[kind])} more" if count > QUOTED else ""
            lines.append(f"{path}: expected no {PLURAL[kind]}, got {count}: {shown}{more}")
        if lines:
            lines.append(f"{path}: {hint}")
        return lines

    def lines(self) -> list[str]:
        """The repairs and notes, one line each, for reports and `alertsim validate`."""
        out = [
            f"left out {count} {PLURAL[kind]} (e.g. {self.examples[kind][0]})"
            for kind, count in sorted(self.left_out.items())
        ]
        out += [f"{what}: {count}" for what, count in sorted(self.notes.items())]
        return out


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a scenario's rainfall came from and what was done to it, for reports."""

    kind: Literal["stations", "grid"]
    path: str
    sha256: str
    method: str
    steps: int
    step_s: float
    # district code -> what its series was computed from ("57516 0.62, 57518 0.38", "14 cells")
    sources: Mapping[str, str]
    repairs: tuple[str, ...]

    def summary(self) -> str:
        repaired = "; ".join(self.repairs) if self.repairs else "nothing repaired"
        return (
            f"rainfall: {self.steps} steps of {self.step_s:g} s from {self.kind} data "
            f"{self.path} ({self.method}); {repaired}"
        )
