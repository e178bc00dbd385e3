"""Live mode's clock: model seconds at a wall-clock pace (the asyncio analogue of ``simpy.rt``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class ModelClock:
    """Maps model seconds to wall time for one live run: model `origin_s` is wall `origin`."""

    origin_s: float
    origin: datetime
    speed: float

    def utc(self, model_s: float) -> datetime:
        return self.origin + timedelta(seconds=(model_s - self.origin_s) / self.speed)
