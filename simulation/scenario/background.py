"""Background work on a tier's centers: the schema of its streams, and reading their CSV files.

Besides the alert, a center's staff take citizens' calls and incident reports. A tier lists its
streams under `tiers.<tier>.background`; each gives how the work arrives (a Poisson rate, an
hourly rate profile, or empirical inter-arrival times, inline or from a CSV file) and how long
one piece of it holds a staff member.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from simulation.scenario.distributions import Distribution, Frozen, NonNegative, Positive

# Hours in a leap year: a rate profile longer than that is a mistake, not a scenario.
MAX_PROFILE_HOURS = 8784
MAX_INTERARRIVALS = 100_000
ARRIVALS = ("rate_per_hour", "rate_profile_per_hour", "interarrival_s", "interarrival_csv")
CSV_COLUMN = "interarrival_s"


class BackgroundStream(Frozen):
    """One stream of other work sharing the center's staff; exactly one way of arriving."""

    name: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
    rate_per_hour: NonNegative | None = Field(
        default=None, description="Poisson arrivals at this mean rate per center"
    )
    rate_profile_per_hour: (
        Annotated[list[NonNegative], Field(min_length=1, max_length=MAX_PROFILE_HOURS)] | None
    ) = Field(
        default=None,
        description="Poisson arrivals whose rate changes each model hour from time 0 (repeated)",
    )
    interarrival_s: (
        Annotated[list[Positive], Field(min_length=1, max_length=MAX_INTERARRIVALS)] | None
    ) = Field(default=None, description="observed gaps between arrivals, resampled")
    interarrival_csv: str | None = Field(
        default=None,
        description=f"CSV file (relative to the scenario) with an `{CSV_COLUMN}` column",
    )
    service_s: Distribution = Field(description="staff time one piece of this work holds")

    @model_validator(mode="after")
    def _one_arrival(self) -> BackgroundStream:
        given = [name for name in ARRIVALS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"expected exactly one of {', '.join(ARRIVALS)}, got {given or 'none'}"
            )
        return self


def check_names(streams: list[BackgroundStream]) -> list[BackgroundStream]:
    names = [s.name for s in streams]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"expected each background stream name once, got {repeated!r} again")
    return streams


MAX_CSV_BYTES = 16 * 1024 * 1024


def read_interarrivals(path: Path) -> list[float]:
    """The positive, finite inter-arrival seconds in `path`; ValueError naming the first bad row."""
    from simulation.inputs import decode_text, read_bounded

    # bounded and regular files only, as every file a scenario names (simulation/inputs.py)
    text = decode_text(read_bounded(path, MAX_CSV_BYTES, shown=path.name), path.name)
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or CSV_COLUMN not in reader.fieldnames:
        found = reader.fieldnames
        raise ValueError(f"expected a header with an {CSV_COLUMN!r} column, got {found}")
    values = []
    for line, row in enumerate(reader, start=2):
        cell = (row.get(CSV_COLUMN) or "").strip()
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"line {line}: expected a positive number of seconds, got {cell!r}")
        values.append(value)
    if not values:
        raise ValueError("expected at least one inter-arrival time, got none")
    if len(values) > MAX_INTERARRIVALS:
        raise ValueError(f"expected at most {MAX_INTERARRIVALS:,} rows, got {len(values):,}")
    return values
